/**
 * Transient or permanent: only transient failures are retried and count against a circuit breaker.
 * Transient: network errors (connection refused/reset, DNS hiccups, TLS drops), timeouts, HTTP 408/429/5xx,
 * SOAP faults with a Server/Receiver fault code, an open breaker, a full bulkhead. Everything else is permanent
 * (a validation error, HTTP 4xx, a Client fault: sending it again will not help).
 * An error may decide for itself with `err.transient = true|false`, `err.errorClass` or `err.class` = 'transient'|'permanent'
 * (lib/delivery's DeliveryError carries `class`).
 */
export type ErrorClass = 'transient' | 'permanent';

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
  'EBREAKEROPEN',
  'EBULKHEADFULL',
]);

interface Classifiable {
  transient?: unknown;
  class?: unknown;
  errorClass?: unknown;
  code?: unknown;
  name?: unknown;
  status?: unknown;
  statusCode?: unknown;
  faultCode?: unknown;
  cause?: unknown;
}

export function classifyError(err: unknown, depth = 0): ErrorClass {
  if (!err || typeof err !== 'object') return 'permanent';
  const e = err as Classifiable;
  if (e.transient === true || e.errorClass === 'transient' || e.class === 'transient') return 'transient';
  if (e.transient === false || e.errorClass === 'permanent' || e.class === 'permanent') return 'permanent';
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return 'transient';
  if (e.name === 'TimeoutError') return 'transient';
  const status = Number(e.statusCode ?? e.status);
  if (Number.isInteger(status) && status > 0) return status === 408 || status === 429 || status >= 500 ? 'transient' : 'permanent';
  if (typeof e.faultCode === 'string') return /(^|:)(Server|Receiver)(\.|$)/i.test(e.faultCode) ? 'transient' : 'permanent';
  if (e.cause && depth < 3) return classifyError(e.cause, depth + 1);
  return 'permanent';
}

/** One line describing an error, for attempt records (no stack; callers must not put personal data in messages). */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
