/**
 * Receipt files in IN (SFTPTypes.xsd): TechnicalReceipt (`<name>.sftpreceipt`), BusinessReceipt, BusinessResponse.
 * Parsed by local element names, tolerant of whether the platform qualifies the children.
 */
import type { Element } from '@xmldom/xmldom';
import { escapeXml, parseXmlSafely } from '../xml/safe-xml';
import { SFTP_NS } from './trigger';

export interface SftpErrorMessage {
  code: number;
  codeDescription: string;
  description: string;
}

export interface TechnicalReceipt {
  kind: 'technical';
  fileTransferUuid: string;
  sendersFileId?: string;
  /** Receipt/Message is SUCCESS (the platform took the file). */
  success: boolean;
  /** Receipt/Message. */
  message?: string;
  errors: SftpErrorMessage[];
}

export interface BusinessReceipt {
  kind: 'business';
  fileTransferUuid: string;
  fileName: string;
  recipient: string;
  /** ACCEPTED | REJECTED | COULD_NOT_NOTIFY_RECIPIENT */
  acceptance: string;
  reason?: string;
  success: boolean;
}

export interface BusinessResponse {
  kind: 'businessResponse';
  responseMessage?: string;
  errors: SftpErrorMessage[];
  success: boolean;
}

export type SftpReceipt = TechnicalReceipt | BusinessReceipt | BusinessResponse;

function children(el: Element, local: string): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && ((n as Element).localName ?? (n as Element).nodeName) === local) out.push(n as Element);
  }
  return out;
}

function text(el: Element, local: string): string | undefined {
  const c = children(el, local)[0];
  return c ? (c.textContent ?? '').trim() : undefined;
}

function required(el: Element, local: string, what: string): string {
  const v = text(el, local);
  if (v === undefined) throw new Error(`${what} has no ${local}`);
  return v;
}

function errorsOf(el: Element): SftpErrorMessage[] {
  return children(el, 'ErrorMessage').map((e) => ({
    code: Number(text(e, 'ErrorCode') ?? NaN),
    codeDescription: text(e, 'ErrorCodeDescription') ?? '',
    description: text(e, 'ErrorDescription') ?? '',
  }));
}

/** Parses a receipt file's text. Throws XmlError for malformed XML, Error for an unknown document. */
export function parseSftpReceipt(xml: string): SftpReceipt {
  const root = parseXmlSafely(xml, 'SFTP receipt').documentElement as unknown as Element;
  const kind = root.localName ?? root.nodeName;
  if (kind === 'TechnicalReceipt') {
    const receipt = children(root, 'Receipt')[0];
    const message = receipt ? text(receipt, 'Message') : undefined;
    const errors = errorsOf(root);
    return {
      kind: 'technical',
      fileTransferUuid: required(root, 'FileTransferUUID', 'TechnicalReceipt'),
      sendersFileId: text(root, 'SendersFileId'),
      success: !errors.length && (message ?? '').toUpperCase() === 'SUCCESS',
      message,
      errors,
    };
  }
  if (kind === 'BusinessReceipt') {
    const acceptance = required(root, 'FileAcceptance', 'BusinessReceipt');
    return {
      kind: 'business',
      fileTransferUuid: required(root, 'FileTransferUUID', 'BusinessReceipt'),
      fileName: required(root, 'Filename', 'BusinessReceipt'),
      recipient: required(root, 'Recipient', 'BusinessReceipt'),
      acceptance,
      reason: text(root, 'Reason'),
      success: acceptance === 'ACCEPTED',
    };
  }
  if (kind === 'BusinessResponse') {
    const errors = errorsOf(root);
    return { kind: 'businessResponse', responseMessage: text(root, 'ResponseMessage'), errors, success: !errors.length };
  }
  throw new Error(`not an SFTP receipt: root element ${kind}`);
}

/** One line for a user: the platform's own error text. */
export function receiptErrorText(r: SftpReceipt): string {
  if (r.kind === 'business') return `${r.acceptance}${r.reason ? `: ${r.reason}` : ''}`;
  if (r.errors.length) return r.errors.map((e) => `${e.code} ${e.codeDescription}: ${e.description}`.trim()).join('; ');
  if (r.kind === 'technical') return `receipt message ${JSON.stringify(r.message ?? '')} is not SUCCESS`;
  return r.responseMessage ?? 'no response message';
}

/** A TechnicalReceipt document (the simulator writes these; tests use them). */
export function buildTechnicalReceipt(r: { fileTransferUuid: string; sendersFileId?: string; message?: string; errors?: SftpErrorMessage[] }): string {
  const body: string[] = [`  <FileTransferUUID>${escapeXml(r.fileTransferUuid)}</FileTransferUUID>`];
  if (r.sendersFileId) body.push(`  <SendersFileId>${escapeXml(r.sendersFileId)}</SendersFileId>`);
  if (r.errors && r.errors.length) {
    for (const e of r.errors) {
      body.push(
        `  <ErrorMessage><ErrorCode>${Math.trunc(e.code)}</ErrorCode><ErrorCodeDescription>${escapeXml(e.codeDescription)}</ErrorCodeDescription>` +
          `<ErrorDescription>${escapeXml(e.description)}</ErrorDescription></ErrorMessage>`,
      );
    }
  } else {
    body.push(`  <Receipt><Message>${escapeXml(r.message ?? 'SUCCESS')}</Message></Receipt>`);
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<sftp:TechnicalReceipt xmlns:sftp="${SFTP_NS}">\n${body.join('\n')}\n</sftp:TechnicalReceipt>\n`;
}
