import { randomUUID } from 'crypto';
import { escapeXml } from '../xml/safe-xml';
import { NS, WSS } from '../signing/constants';
import { signWsSecurity } from '../signing/sign';
import type { SigningKey } from '../signing/keys';
import { STS_NS, WST } from './constants';

export interface IssueRequestOptions {
  /** The STS endpoint (wsa:To). */
  stsUrl: string;
  /** entityID of the service the token is for (AppliesTo), e.g. FORDELING_ENTITY_ID. */
  appliesTo: string;
  /** CVR of the organisation the token is for (claim dk:gov:saml:attribute:CvrNumberIdentifier). */
  cvr: string;
  messageId?: string;
  /** wsu:Timestamp lifetime in seconds (default 300). */
  lifetimeSeconds?: number;
  now?: Date;
}

/**
 * The signed WS-Trust 1.3 Issue request (SOAP 1.2) for a SAML 2.0 holder-of-key token: WS-Addressing Action,
 * MessageID, To and ReplyTo; wsse:Security with Timestamp, the X.509v3 BinarySecurityToken and one signature over
 * those headers, the Body and the token; the body asks for SAMLV2.0, KeyType PublicKey, UseKey = the certificate,
 * AppliesTo = the service's entityID and the CVR claim.
 */
export function buildIssueRequest(key: SigningKey, opts: IssueRequestOptions): string {
  if (!/^\d{8}$/.test(opts.cvr)) throw new Error(`CVR "${opts.cvr}" is not eight digits`);
  if (!/^https?:\/\//.test(opts.stsUrl)) throw new Error('the STS URL must be http(s)');
  if (!opts.appliesTo) throw new Error('AppliesTo (the service entityID) is required');
  const messageId = opts.messageId ?? `urn:uuid:${randomUUID()}`;
  const envelope =
    `<s:Envelope xmlns:s="${NS.soap12}" xmlns:wsa="${NS.wsa}">` +
    '<s:Header>' +
    `<wsa:Action s:mustUnderstand="true">${WST.issueAction}</wsa:Action>` +
    `<wsa:MessageID>${escapeXml(messageId)}</wsa:MessageID>` +
    `<wsa:To s:mustUnderstand="true">${escapeXml(opts.stsUrl)}</wsa:To>` +
    `<wsa:ReplyTo><wsa:Address>${WST.anonymous}</wsa:Address></wsa:ReplyTo>` +
    '</s:Header>' +
    '<s:Body>' +
    `<wst:RequestSecurityToken xmlns:wst="${STS_NS.wst}" Context="${escapeXml(randomUUID())}">` +
    `<wst:TokenType>${WST.samlV2}</wst:TokenType>` +
    `<wst:RequestType>${WST.issueRequestType}</wst:RequestType>` +
    `<wsp:AppliesTo xmlns:wsp="${STS_NS.wsp}"><wsa:EndpointReference><wsa:Address>${escapeXml(opts.appliesTo)}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>` +
    `<wst:Claims Dialect="${WST.claimsDialect}" xmlns:auth="${STS_NS.auth}">` +
    `<auth:ClaimType Uri="${WST.cvrClaim}" Optional="false"><auth:Value>${opts.cvr}</auth:Value></auth:ClaimType>` +
    '</wst:Claims>' +
    `<wst:KeyType>${WST.publicKey}</wst:KeyType>` +
    `<wst:UseKey><wsse:BinarySecurityToken xmlns:wsse="${NS.wsse}" EncodingType="${WSS.base64Binary}" ValueType="${WSS.x509v3}">${key.certBase64}</wsse:BinarySecurityToken></wst:UseKey>` +
    '</wst:RequestSecurityToken>' +
    '</s:Body>' +
    '</s:Envelope>';
  return signWsSecurity(envelope, key, { lifetimeSeconds: opts.lifetimeSeconds ?? 300, signToken: true, now: opts.now });
}
