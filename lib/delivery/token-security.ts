/**
 * The token security model for deliver()/listReceivers() (stage 3): each request is wrapped by buildTokenEnvelope —
 * WS-Addressing, the Liberty Framework header and wsse:Security with the STS-issued SAML assertion (from a shared
 * TokenCache) and a holder-of-key signature. When the platform refuses the token, the cached one is dropped and the
 * request goes once more with a fresh token (deliver's renew hook). No Node-RED dependency.
 */
import { SOAP_ACTIONS } from '../sf2900/namespaces';
import { availableParallelism } from 'node:os';
import { SigningError, type KeyMaterial, type SigningKey } from '../signing/keys';
import { SigningPool } from '../signing/pool';
import type { SignRequest } from '../signing/sign';
import { buildTokenEnvelope, tokenSignRequest } from '../sts/token-envelope';
import { StsError, type IssuedToken } from '../sts/response';
import type { TokenCache } from '../sts/cache';
import type { SecurityModel } from './deliver';
import { DeliveryError } from './errors';

const ACTIONS: Record<string, string> = {
  FordelingsobjektAfsend: SOAP_ACTIONS.afsend,
  FordelingsmodtagerList: SOAP_ACTIONS.modtagerList,
  FordelingsmodtagerValider: SOAP_ACTIONS.modtagerValider,
};

export interface TokenSecurityOptions {
  /** The config node's cache (one per serviceplatform configuration); its fetcher asks the STS. */
  cache: TokenCache;
  /** The holder-of-key signing key (the certificate the token was issued for), parsed once. */
  key: () => SigningKey;
  /** The service URL (wsa:To). */
  to: string;
  /** wsu:Timestamp lifetime in seconds (default 300). */
  lifetimeSeconds?: number;
  /**
   * Signs off the event loop (a SigningPool holding the same key): the signature is most of the token model's cost
   * per message (bench/token.bench.ts). Without one, requests are signed in this thread with `key`.
   */
  signer?: { sign(req: SignRequest): Promise<string> };
}

/** A failed STS call as a DeliveryError: unreachable / timed out / 5xx = transient, a refusal = permanent. */
export function stsDeliveryError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const message = String((err as Error)?.message ?? err).split('\n')[0];
  const transient = err instanceof StsError && /could not be reached|did not answer|broke off|HTTP 5\d\d/.test(message);
  return new DeliveryError({
    class: transient ? 'transient' : 'permanent',
    code: 'STS',
    reason: `No security token from the STS: ${message}`,
    errors: err instanceof StsError && err.code ? [{ code: err.code, text: message }] : [],
  });
}

const TOKEN_WORDS = /\b(token|assertion|saml|signature|signatur|security|sikkerhed|timestamp|expired|revoked|replay)/i;

/** Did the platform refuse the request because of its security token / signature (so a fresh token may help)? */
export function isTokenRejection(err: DeliveryError): boolean {
  if (err.code === 'STS') return false;
  if (err.httpStatus === 401 || err.httpStatus === 403) return true;
  if (err.class !== 'permanent' || !/^(FEJL|SOAP_)/.test(err.code)) return false;
  return TOKEN_WORDS.test(err.reason) || err.errors.some((e) => TOKEN_WORDS.test(`${e.code} ${e.text}`));
}

/** Signing threads per serviceplatform configuration in the token model: one core is left to the event loop. */
const SIGNING_THREADS = Math.min(2, Math.max(1, availableParallelism() - 1));

/**
 * The token model's signer: a SigningPool holding the certificate's key, started on the first request (a
 * configuration that never sends starts no thread) and stopped by `close()`.
 */
export function tokenSigner(material: () => KeyMaterial): { sign(req: SignRequest): Promise<string>; close(): Promise<void> } {
  let pool: SigningPool | undefined;
  return {
    async sign(req) {
      if (!pool) {
        try {
          pool = new SigningPool(material(), { size: SIGNING_THREADS });
        } catch (err) {
          // no certificate, or a key that cannot sign: the configuration's fault, not worth a retry
          throw err instanceof SigningError ? err : new SigningError((err as Error).message);
        }
      }
      return pool.sign(req);
    },
    async close() {
      const p = pool;
      pool = undefined;
      await p?.close();
    },
  };
}

export function tokenSecurity(opts: TokenSecurityOptions): SecurityModel {
  return {
    name: 'token',
    async envelope(bodyXml, operation) {
      const action = ACTIONS[operation];
      if (!action)
        throw new DeliveryError({ class: 'permanent', code: 'CONFIG', reason: `The token model does not know the operation ${operation}`, errors: [] });
      let token: IssuedToken;
      try {
        token = await opts.cache.get();
      } catch (err) {
        throw stsDeliveryError(err);
      }
      const what = { bodyXml, action, to: opts.to, token, lifetimeSeconds: opts.lifetimeSeconds };
      try {
        return opts.signer ? await opts.signer.sign(tokenSignRequest(what)) : buildTokenEnvelope(opts.key(), what);
      } catch (err) {
        // the key or the request cannot be signed: permanent; a signing thread that stopped: the send is tried again
        const permanent = !opts.signer || err instanceof SigningError;
        throw new DeliveryError({
          class: permanent ? 'permanent' : 'transient',
          code: permanent ? 'CONFIG' : 'SIGNING',
          reason: `The token-model request cannot be signed: ${(err as Error).message}`,
          errors: [],
        });
      }
    },
    async renew(err) {
      if (!isTokenRejection(err)) return false;
      opts.cache.invalidate();
      return true;
    },
  };
}
