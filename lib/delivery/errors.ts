/** Failure classification for deliveries: permanent (do not retry) or transient (retry may help). */

export type ErrorClass = 'permanent' | 'transient';

export interface DeliveryErrorInfo {
  class: ErrorClass;
  /** One readable line. */
  reason: string;
  /** A short machine code: FEJL, SOAP_CLIENT, SOAP_SERVER, HTTP_503, TIMEOUT, ECONNRESET, TLS, AFVIST ... */
  code: string;
  /** FejlListe / platform ErrorList entries when the platform gave them. */
  errors: Array<{ code: string; text: string }>;
  httpStatus?: number;
}

export class DeliveryError extends Error implements DeliveryErrorInfo {
  readonly class: ErrorClass;
  readonly reason: string;
  readonly code: string;
  readonly errors: Array<{ code: string; text: string }>;
  readonly httpStatus?: number;
  /** Raw response text (may contain personal data; stored in the ledger, never logged). */
  readonly response?: string;

  constructor(info: DeliveryErrorInfo, response?: string) {
    super(info.reason);
    this.name = 'DeliveryError';
    this.class = info.class;
    this.reason = info.reason;
    this.code = info.code;
    this.errors = info.errors;
    this.httpStatus = info.httpStatus;
    this.response = response;
  }

  toJSON(): DeliveryErrorInfo {
    return { class: this.class, reason: this.reason, code: this.code, errors: this.errors, ...(this.httpStatus ? { httpStatus: this.httpStatus } : {}) };
  }
}

/** The shape of a parsed SOAP 1.1 fault (lib/sf2900 SoapFaultError has these fields). */
export interface FaultLike {
  faultCode?: string;
  faultString?: string;
  transportKvittering?: { code: string; reason?: string; errors: Array<{ code: string; text: string }> };
  platformErrors?: Array<{ code: string; text: string }>;
}

function listText(errors: Array<{ code: string; text: string }>): string {
  return errors
    .slice(0, 3)
    .map((e) => (e.code ? `${e.code}: ${e.text}` : e.text))
    .join('; ');
}

export function classifyFault(fault: FaultLike, httpStatus?: number): DeliveryErrorInfo {
  const tk = fault.transportKvittering;
  if (tk && tk.code === 'FEJL') {
    const detail = tk.reason || listText(tk.errors) || fault.faultString || 'no reason given';
    return {
      class: 'permanent',
      code: 'FEJL',
      reason: `Rejected by the Serviceplatform (TransportKvittering FEJL): ${detail}`,
      errors: tk.errors ?? [],
      httpStatus,
    };
  }
  const local = (fault.faultCode ?? '').replace(/^.*:/, '');
  const errors = [...(tk?.errors ?? []), ...(fault.platformErrors ?? [])];
  const text = fault.faultString || listText(errors) || 'no fault string';
  if (/^Server/i.test(local) || /^Receiver/i.test(local)) {
    return { class: 'transient', code: 'SOAP_SERVER', reason: `SOAP Server fault: ${text}`, errors, httpStatus };
  }
  return {
    class: 'permanent',
    code: local ? `SOAP_${local.toUpperCase()}` : 'SOAP_FAULT',
    reason: `SOAP ${local || ''} fault: ${text}`.replace('  ', ' '),
    errors,
    httpStatus,
  };
}

export function classifyHttpStatus(status: number, statusMessage?: string): DeliveryErrorInfo {
  const transient = status >= 500 || status === 408 || status === 429;
  return {
    class: transient ? 'transient' : 'permanent',
    code: `HTTP_${status}`,
    reason: `HTTP ${status}${statusMessage ? ` ${statusMessage}` : ''} from the Serviceplatform`,
    errors: [],
    httpStatus: status,
  };
}

const TRANSIENT_NETWORK = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
]);

/** Classifies a network-level error from node:https. */
export function classifyNetworkError(err: NodeJS.ErrnoException): DeliveryErrorInfo {
  const code = err.code ?? '';
  const message = String(err.message || err);
  if (code === 'TIMEOUT') return { class: 'transient', code: 'TIMEOUT', reason: message, errors: [] };
  if (/^ERR_SSL_|^ERR_TLS_|CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code) || /alert (bad|unknown|certificate|handshake)/i.test(message)) {
    // A certificate problem does not go away by retrying: the configuration must change.
    return { class: 'permanent', code: 'TLS', reason: `TLS handshake failed (check the certificate and CA): ${message}`, errors: [] };
  }
  if (TRANSIENT_NETWORK.has(code) || /socket hang up/i.test(message)) {
    return { class: 'transient', code: code || 'NETWORK', reason: `Network error: ${message}`, errors: [] };
  }
  return { class: 'transient', code: code || 'NETWORK', reason: `Network error: ${message}`, errors: [] };
}
