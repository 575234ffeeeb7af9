import { randomUUID } from 'crypto';
import type { SignRequest } from '../signing/sign';
import { signTokenRequest } from '../signing/token-wss';
import type { SigningKey } from '../signing/keys';
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

/**
 * A SOAP 1.1 request in the token model (policy TokenAsymmetricBindingPolicy): WS-Addressing Action, MessageID, To and
 * ReplyTo, the Liberty Framework header, and wsse:Security with a Timestamp, the STS-issued SAML assertion and one
 * signature (RSA-SHA256, exc-c14n) by the holder-of-key certificate over Body, Timestamp, the WS-Addressing headers,
 * the Framework header and the assertion, with KeyInfo = SecurityTokenReference (SAMLID) to the assertion
 * (lib/signing/token-wss.ts).
 */
export function buildTokenEnvelope(key: SigningKey, opts: TokenEnvelopeOptions): string {
  return signTokenRequest(tokenSignRequest(opts), key);
}

/**
 * What buildTokenEnvelope signs, as a request for a signer elsewhere (the signing pool's worker thread, which holds
 * the same key): the request's parts and the assertion.
 */
export function tokenSignRequest(opts: TokenEnvelopeOptions): Extract<SignRequest, { mode: 'token' }> {
  return {
    mode: 'token',
    bodyXml: opts.bodyXml,
    action: opts.action,
    messageId: opts.messageId ?? `urn:uuid:${randomUUID()}`,
    to: opts.to,
    samlAssertion: opts.token.assertionXml,
    lifetimeSeconds: opts.lifetimeSeconds ?? 300,
    ...(opts.now ? { now: opts.now } : {}),
  };
}
