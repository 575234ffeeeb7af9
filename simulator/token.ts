/**
 * The simulator's token model (SF1514 STS + the token policy of DistributionService/3):
 * - `issue()`: a WS-Trust 1.3 Issue (SOAP 1.2) signed by a KNOWN client certificate (one issued by the simulator's
 *   CA, or one in `clients`) is answered with a SAML 2.0 holder-of-key assertion for that certificate, with the CVR
 *   claim (which must be the certificate's CVR), audience = AppliesTo (which must be the service's entityID) and
 *   NotOnOrAfter, signed by the STS key from simulator/certs.ts.
 * - `check()`: a token-model request must carry an assertion signed by this STS, for this audience, valid now, and
 *   be signed by the holder-of-key certificate over Body, Timestamp, WS-Addressing and Framework headers, with an
 *   unexpired timestamp and a MessageID not seen before (replay cache). Assertions issued before `revokeBefore`
 *   are refused (as after a key rollover at the STS).
 */
import { randomUUID, X509Certificate } from 'crypto';
import { signEnveloped } from '../lib/signing/sign';
import { verifyXmlSignature } from '../lib/signing/verify';
import { fingerprintOf, loadSigningKey, parsePins, type Pins, type SigningKey } from '../lib/signing/keys';
import { allElements, childrenNS, isElement } from '../lib/xml/dom';
import { NS } from '../lib/signing/constants';
import { FORDELING_ENTITY_ID, STS_NS, WST } from '../lib/sts/constants';
import { verifyTokenRequest } from '../lib/sts/verify-token';
import { escapeXml, parseXmlSafely } from '../lib/xml/safe-xml';
import { cvrFromSubject } from './certs';

/** Where the simulated STS answers (the path of KOMBIT's certificatemixed endpoint). */
export const STS_PATH = '/runtime/services/kombittrust/14/certificatemixed';

export interface TokenServiceOptions {
  /** STS signing key and certificate (PEM). */
  sts: { key: string; cert: string };
  /** Client certificates issued by this CA are known to the STS. */
  ca: string;
  /** Further known client certificates (PEM). */
  clients?: string[];
  /** The service's entityID (AppliesTo / Audience); default the Fordelingskomponent's. */
  audience?: string;
  /** Life of an issued assertion (default 8 hours, as KOMBIT's). */
  tokenLifetimeMs?: number;
}

/** Why a token-model request or a token request was refused; `code` is the simulator's own FejlKode. */
export class TokenRefusal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'TokenRefusal';
  }
}

export interface TokenStats {
  /** Issue requests answered with a token. */
  issued: number;
  /** Issue requests refused. */
  stsRefused: number;
  /** Token-model requests whose security checked out. */
  accepted: number;
  /** Token-model requests refused (any reason, replays included). */
  refused: number;
  replays: number;
}

const SOAP12_FAULT_CODES = { sender: 's:Sender', receiver: 's:Receiver' } as const;

export class TokenService {
  readonly audience: string;
  readonly stsCert: string;
  /** Life of assertions issued from now on (changeable, e.g. short-lived ones to test refreshing). */
  tokenLifetimeMs: number;
  /** Added to the real clock of the token-model service (not the STS): 10 minutes ahead = the client's timestamps look expired. */
  clockOffsetMs = 0;
  /** Assertions issued before this moment are refused. */
  revokeBefore?: Date;
  /** Further known client certificates (PEM). */
  clients: string[];
  readonly stats: TokenStats = { issued: 0, stsRefused: 0, accepted: 0, refused: 0, replays: 0 };
  private readonly key: SigningKey;
  private readonly pins: Pins;
  private readonly ca: X509Certificate;
  private readonly issuedAt = new Map<string, number>();
  private readonly seen = new Map<string, number>();

  constructor(opts: TokenServiceOptions) {
    this.key = loadSigningKey({ keyPem: opts.sts.key, certPem: opts.sts.cert });
    this.stsCert = this.key.certPem;
    this.pins = parsePins(this.stsCert);
    this.ca = new X509Certificate(opts.ca);
    this.clients = [...(opts.clients ?? [])];
    this.audience = opts.audience ?? FORDELING_ENTITY_ID;
    this.tokenLifetimeMs = opts.tokenLifetimeMs ?? 8 * 3600_000;
  }

  /** The service's clock. */
  now(): Date {
    return new Date(Date.now() + this.clockOffsetMs);
  }

  /** Resets the counters and the replay cache (not the switches: lifetime, clock offset, revocation). */
  reset(): void {
    for (const k of Object.keys(this.stats) as (keyof TokenStats)[]) this.stats[k] = 0;
    this.seen.clear();
  }

  private known(cert: X509Certificate, now: Date): boolean {
    const inTime = Date.parse(cert.validFrom) <= now.getTime() && now.getTime() <= Date.parse(cert.validTo);
    if (!inTime) return false;
    if (cert.checkIssued(this.ca) && cert.verify(this.ca.publicKey)) return true;
    const fp = fingerprintOf(cert);
    return this.clients.some((pem) => {
      try {
        return fingerprintOf(new X509Certificate(pem)) === fp;
      } catch {
        return false;
      }
    });
  }

  /** Answers a WS-Trust Issue request: HTTP status and a SOAP 1.2 envelope (RSTR or fault). */
  issue(xml: string): { status: number; body: string } {
    try {
      const body = this.issueToken(xml);
      this.stats.issued++;
      return { status: 200, body };
    } catch (err) {
      this.stats.stsRefused++;
      const reason = err instanceof TokenRefusal ? err.message : 'Internal STS error';
      return {
        status: 500,
        body: soap12Fault(err instanceof TokenRefusal ? SOAP12_FAULT_CODES.sender : SOAP12_FAULT_CODES.receiver, 'wst:FailedAuthentication', reason),
      };
    }
  }

  private issueToken(xml: string): string {
    const now = new Date();
    let doc: ReturnType<typeof parseXmlSafely>;
    try {
      doc = parseXmlSafely(xml, 'the token request');
    } catch (err) {
      throw new TokenRefusal('XML_FEJL', (err as Error).message);
    }
    const env = doc.documentElement!;
    if (env.localName !== 'Envelope' || env.namespaceURI !== NS.soap12) throw new TokenRefusal('SOAP_FEJL', 'The token request is not a SOAP 1.2 envelope');
    const header = childrenNS(env, NS.soap12, 'Header')[0];
    const security = header ? childrenNS(header, NS.wsse, 'Security')[0] : undefined;
    const bst = security ? childrenNS(security, NS.wsse, 'BinarySecurityToken')[0] : undefined;
    if (!bst) throw new TokenRefusal('SIKKERHED', 'The token request carries no X.509 certificate (BinarySecurityToken)');
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(Buffer.from((bst.textContent ?? '').replace(/\s+/g, ''), 'base64'));
    } catch {
      throw new TokenRefusal('SIKKERHED', 'The certificate in the token request cannot be read');
    }
    if (!this.known(cert, now)) throw new TokenRefusal('CERTIFIKAT', 'The certificate is not registered with the STS (or not valid now)');
    const check = verifyXmlSignature(xml, { pins: cert.toString(), mode: 'wssecurity', now });
    if (!check.valid) throw new TokenRefusal('SIGNATUR', `The token request's signature is not valid: ${check.reason}`);
    const signed = parseXmlSafely(check.signedElement!, 'the signed Body').documentElement!;
    const rst = allElements(signed).find((e) => isElement(e, STS_NS.wst, 'RequestSecurityToken'));
    if (!rst) throw new TokenRefusal('SOAP_FEJL', 'The Body holds no RequestSecurityToken');
    const text = (ns: string, name: string) =>
      allElements(rst)
        .find((e) => isElement(e, ns, name))
        ?.textContent?.trim() ?? '';
    if (text(STS_NS.wst, 'RequestType') !== WST.issueRequestType) throw new TokenRefusal('SOAP_FEJL', 'Only the Issue request type is supported');
    if (text(STS_NS.wst, 'TokenType') !== WST.samlV2) throw new TokenRefusal('SOAP_FEJL', 'Only SAML 2.0 tokens are issued');
    const appliesTo = allElements(rst).find((e) => isElement(e, STS_NS.wsp, 'AppliesTo'));
    const audience = appliesTo ? (allElements(appliesTo).find((e) => isElement(e, NS.wsa, 'Address'))?.textContent ?? '').trim() : '';
    if (audience !== this.audience) throw new TokenRefusal('AUDIENCE', `No service with entityID "${audience}" is known to the STS`);
    const useKey = allElements(rst).find((e) => isElement(e, STS_NS.wst, 'UseKey'));
    const useKeyCert = useKey ? (allElements(useKey).find((e) => isElement(e, NS.wsse, 'BinarySecurityToken'))?.textContent ?? '').replace(/\s+/g, '') : '';
    if (useKeyCert !== cert.raw.toString('base64')) throw new TokenRefusal('SIKKERHED', 'UseKey must be the certificate that signed the request');
    const claimed = allElements(rst).find((e) => isElement(e, STS_NS.auth, 'ClaimType') && e.getAttribute('Uri') === WST.cvrClaim);
    const cvr = claimed ? (claimed.textContent ?? '').trim() : '';
    const certCvr = cvrFromSubject(cert.subject.replace(/\n/g, ' '));
    if (!/^\d{8}$/.test(cvr)) throw new TokenRefusal('AUTORISATION', 'The request must claim a CVR (dk:gov:saml:attribute:CvrNumberIdentifier)');
    if (certCvr !== cvr) throw new TokenRefusal('AUTORISATION', `The certificate for CVR ${certCvr ?? '(none)'} may not act for CVR ${cvr}`);

    const id = `_${randomUUID()}`;
    const expires = new Date(now.getTime() + this.tokenLifetimeMs);
    const assertion = this.assertion({ id, now, expires, cert, cvr });
    this.issuedAt.set(id, now.getTime());
    return (
      `<s:Envelope xmlns:s="${NS.soap12}" xmlns:wsa="${NS.wsa}"><s:Header><wsa:Action>http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTRC/IssueFinal</wsa:Action></s:Header><s:Body>` +
      `<wst:RequestSecurityTokenResponseCollection xmlns:wst="${STS_NS.wst}"><wst:RequestSecurityTokenResponse>` +
      `<wst:TokenType>${WST.samlV2}</wst:TokenType>` +
      `<wst:Lifetime><wsu:Created xmlns:wsu="${NS.wsu}">${now.toISOString()}</wsu:Created><wsu:Expires xmlns:wsu="${NS.wsu}">${expires.toISOString()}</wsu:Expires></wst:Lifetime>` +
      `<wst:RequestedSecurityToken>${assertion}</wst:RequestedSecurityToken>` +
      '</wst:RequestSecurityTokenResponse></wst:RequestSecurityTokenResponseCollection></s:Body></s:Envelope>'
    );
  }

  private assertion(a: { id: string; now: Date; expires: Date; cert: X509Certificate; cvr: string }): string {
    const xml =
      `<saml:Assertion xmlns:saml="${NS.saml2}" ID="${a.id}" IssueInstant="${a.now.toISOString()}" Version="2.0">` +
      '<saml:Issuer>https://sts.simulator.local/runtime/services/kombittrust</saml:Issuer>' +
      `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName">${escapeXml(a.cert.subject.replace(/\n/g, ','))}</saml:NameID>` +
      '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"><saml:SubjectConfirmationData>' +
      `<ds:KeyInfo xmlns:ds="${NS.ds}"><ds:X509Data><ds:X509Certificate>${a.cert.raw.toString('base64')}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>` +
      '</saml:SubjectConfirmationData></saml:SubjectConfirmation></saml:Subject>' +
      `<saml:Conditions NotBefore="${new Date(a.now.getTime() - 60_000).toISOString()}" NotOnOrAfter="${a.expires.toISOString()}">` +
      `<saml:AudienceRestriction><saml:Audience>${escapeXml(this.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
      `<saml:AttributeStatement><saml:Attribute Name="${WST.cvrClaim}"><saml:AttributeValue>${a.cvr}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>` +
      '</saml:Assertion>';
    return signEnveloped(xml, this.key, { referenceById: true, insertAfter: 'Issuer' });
  }

  /**
   * Checks a token-model request. Returns the signed Body (canonical XML; the caller must use it, not the input) and
   * the CVR the token was issued for; throws TokenRefusal otherwise.
   */
  check(xml: string): { signedBody: string; cvr: string } {
    const now = this.now();
    for (const [id, until] of this.seen) if (until < now.getTime()) this.seen.delete(id);
    const r = verifyTokenRequest(xml, { stsPins: this.pins, audience: this.audience, now });
    const refuse = (code: string, message: string): never => {
      this.stats.refused++;
      throw new TokenRefusal(code, message);
    };
    if (!r.valid) return refuse('TOKEN', `The security token or message signature was refused: ${r.reason}`);
    const issued = r.assertionId ? this.issuedAt.get(r.assertionId) : undefined;
    if (this.revokeBefore && (issued === undefined || issued < this.revokeBefore.getTime())) {
      return refuse('TOKEN', 'The security token has been revoked; fetch a new one from the STS');
    }
    if (!r.messageId) return refuse('TOKEN', 'The request has no wsa:MessageID');
    if (this.seen.has(r.messageId)) {
      this.stats.replays++;
      return refuse('REPLAY', `Replayed request: wsa:MessageID ${r.messageId} has been received before`);
    }
    // Remember the MessageID for as long as its timestamp (at most 5 minutes) plus clock skew could still pass.
    this.seen.set(r.messageId, now.getTime() + 10 * 60_000);
    if (!r.cvr || !/^\d{8}$/.test(r.cvr)) return refuse('TOKEN', 'The security token carries no CVR');
    this.stats.accepted++;
    return { signedBody: r.signedBody!, cvr: r.cvr };
  }
}

function soap12Fault(code: string, subcode: string, reason: string): string {
  return (
    `<s:Envelope xmlns:s="${NS.soap12}" xmlns:wst="${STS_NS.wst}"><s:Body><s:Fault>` +
    `<s:Code><s:Value>${code}</s:Value><s:Subcode><s:Value>${subcode}</s:Value></s:Subcode></s:Code>` +
    `<s:Reason><s:Text xml:lang="en">${escapeXml(reason)}</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>`
  );
}
