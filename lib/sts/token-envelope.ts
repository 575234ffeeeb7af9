import { randomUUID } from 'crypto';
import { escapeXml } from '../xml/safe-xml';
import { NS } from '../signing/constants';
import { signWsSecurity, type SignRequest } from '../signing/sign';
import type { SigningKey } from '../signing/keys';
import { WST } from './constants';
import type { IssuedToken } from './response';

export interface TokenEnvelopeOptions {
  /** The request element for the Body, e.g. buildAfsendRequest(...) (no XML declaration). */
  bodyXml: string;
  /** SOAP action, e.g. SOAP_ACTIONS.afsend (also wsa:Action). */
  action: string;
  /** Endpoint URL (wsa:To). */
  to: string;
  token: IssuedToken;
  messageId?: string;
  lifetimeSeconds?: number;
  now?: Date;
}

/** The Liberty ID-WSF Framework header the token policy requires to be signed. */
export const FRAMEWORK_HEADER = `<sbf:Framework xmlns:sbf="${NS.liberty}" xmlns:sbfprofile="urn:liberty:sb:profile" version="2.0" sbfprofile:profile="urn:liberty:sb:profile:basic"/>`;

/**
 * A SOAP 1.1 request in the token model (policy TokenAsymmetricBindingPolicy): WS-Addressing Action, MessageID, To and
 * ReplyTo, the Liberty Framework header, and wsse:Security with a Timestamp, the STS-issued SAML assertion and one
 * signature (RSA-SHA256, exc-c14n) by the holder-of-key certificate over Body, Timestamp, the WS-Addressing headers,
 * the Framework header and the assertion, with KeyInfo = SecurityTokenReference (SAMLID) to the assertion.
 */
export function buildTokenEnvelope(key: SigningKey, opts: TokenEnvelopeOptions): string {
  const req = tokenSignRequest(opts);
  return signWsSecurity(req.xml, key, req);
}

/**
 * What buildTokenEnvelope signs, as a request for a signer elsewhere (the signing pool's worker thread, which holds
 * the same key): the envelope and its WS-Security options.
 */
export function tokenSignRequest(opts: TokenEnvelopeOptions): Extract<SignRequest, { mode: 'wssecurity' }> {
  const messageId = opts.messageId ?? `urn:uuid:${randomUUID()}`;
  const envelope =
    `<soap:Envelope xmlns:soap="${NS.soap11}" xmlns:wsa="${NS.wsa}">` +
    '<soap:Header>' +
    `<wsa:Action>${escapeXml(opts.action)}</wsa:Action>` +
    `<wsa:MessageID>${escapeXml(messageId)}</wsa:MessageID>` +
    `<wsa:To>${escapeXml(opts.to)}</wsa:To>` +
    `<wsa:ReplyTo><wsa:Address>${WST.anonymous}</wsa:Address></wsa:ReplyTo>` +
    FRAMEWORK_HEADER +
    '</soap:Header>' +
    `<soap:Body>${opts.bodyXml}</soap:Body>` +
    '</soap:Envelope>';
  return {
    mode: 'wssecurity',
    xml: envelope,
    lifetimeSeconds: opts.lifetimeSeconds ?? 300,
    samlAssertion: opts.token.assertionXml,
    signToken: true,
    extraHeaders: [`{${NS.liberty}}Framework`],
    ...(opts.now ? { now: opts.now } : {}),
  };
}
