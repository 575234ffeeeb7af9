/**
 * `os2-serviceplatform` config node: which Serviceplatform (test, production or a custom URL with its own CA),
 * the certificate, the sender authority CVR and IT-system UUID, the request timeout and the security model.
 * Owns one keep-alive HTTPS transport (lib/delivery) shared by the nodes that use it; closes it on redeploy.
 * Token model: the STS URL (test/production defaults), the pinned STS certificate and the service entityID; one
 * TokenCache per node (the assertion is reused until shortly before NotOnOrAfter), dropped on close.
 */
import { whenReleased } from '../../lib/node-red/holds';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Request, Response } from 'express';
import { ENDPOINTS } from '../../lib/sf2900/namespaces';
import { CVR_PATTERN, HANDLING_FACET_PATTERN, UUID_PATTERN, KLE_PATTERN } from '../../lib/sf2900/model';
import { maskCpr } from '../../lib/privacy/cpr';
import type { CertificateConfig } from '../../lib/certificate/types';
import { SoapTransport } from '../../lib/delivery/soap-transport';
import { checkRouting, listReceivers } from '../../lib/delivery/deliver';
import type { DeliveryError } from '../../lib/delivery/errors';
import { splitPem, type ServiceplatformConfig } from '../../lib/delivery/serviceplatform';
import { certificateSecurity, serviceUrl, type SecurityModel } from '../../lib/delivery/deliver';
import { tokenSecurity } from '../../lib/delivery/token-security';
import { FORDELING_ENTITY_ID, STS_URLS } from '../../lib/sts/constants';
import { TokenCache } from '../../lib/sts/cache';
import { requestToken } from '../../lib/sts/client';
import { loadSigningKey, parsePins, type Pins, type SigningKey } from '../../lib/signing/keys';

interface ServiceplatformDef extends NodeDef {
  environment: 'test' | 'production' | 'custom';
  baseUrl?: string;
  certificate?: string;
  senderCvr: string;
  senderSystemUuid: string;
  timeout?: string | number;
  securityModel?: 'certificate' | 'token';
  /** Token model: STS endpoint (blank = the environment's) and the service's entityID (blank = the Fordelingskomponent's). */
  stsUrl?: string;
  appliesTo?: string;
}

/** Token-model settings, or problems added to the list. */
function tokenSettings(
  env: string,
  config: ServiceplatformDef,
  pinsText: unknown,
  problems: string[],
): { stsUrl: string; appliesTo: string; pins: Pins } | undefined {
  const stsUrl = (config.stsUrl ?? '').trim() || (env === 'production' ? STS_URLS.production : env === 'test' ? STS_URLS.test : '');
  const appliesTo = (config.appliesTo ?? '').trim() || FORDELING_ENTITY_ID;
  let pins: Pins | undefined;
  if (!/^https?:\/\/[^\s/]+/.test(stsUrl)) problems.push('STS URL missing or invalid');
  if (!config.certificate) problems.push('the token model needs a certificate');
  if (typeof pinsText !== 'string' || !pinsText.trim()) problems.push('the token model needs the STS certificate to pin (PEM or SHA-256 fingerprint)');
  else {
    try {
      pins = parsePins(pinsText);
    } catch (err) {
      problems.push(`STS certificate: ${(err as Error).message}`);
    }
  }
  return pins && !problems.length ? { stsUrl, appliesTo, pins } : undefined;
}

export = function (RED: NodeAPI) {
  function ServiceplatformConfigNode(this: Node<{ ca: unknown; stsPins: unknown }>, config: ServiceplatformDef) {
    RED.nodes.createNode(this, config);
    const self = this as unknown as { -readonly [K in keyof ServiceplatformConfig]: ServiceplatformConfig[K] };
    const env = config.environment ?? 'test';
    self.baseUrl = (env === 'custom' ? (config.baseUrl ?? '') : ENDPOINTS[env === 'production' ? 'production' : 'test']).trim().replace(/\/+$/, '');
    self.senderCvr = (config.senderCvr ?? '').trim();
    self.senderSystemUuid = (config.senderSystemUuid ?? '').trim().toLowerCase();
    const t = Number(config.timeout);
    self.timeoutMs = Number.isFinite(t) && t > 0 ? Math.round(t * 1000) : 30_000;
    self.securityModel = config.securityModel === 'token' ? 'token' : 'certificate';
    const caList = env === 'custom' ? splitPem(typeof this.credentials?.ca === 'string' ? this.credentials.ca : undefined) : undefined;
    self.ca = () => caList;
    self.certificate = () => (config.certificate ? ((RED.nodes.getNode(config.certificate) as unknown as CertificateConfig | null) ?? undefined) : undefined);
    self.endpoint = () => ({ baseUrl: self.baseUrl, senderCvr: self.senderCvr, senderSystemUuid: self.senderSystemUuid, timeoutMs: self.timeoutMs });

    const problems: string[] = [];
    if (!/^https?:\/\/[^\s/]+/.test(self.baseUrl)) problems.push('base URL missing or invalid');
    if (!CVR_PATTERN.test(self.senderCvr)) problems.push('sender CVR must be 8 digits');
    if (!UUID_PATTERN.test(self.senderSystemUuid)) problems.push('sender IT-system must be a UUID');
    const token = self.securityModel === 'token' ? tokenSettings(env, config, this.credentials?.stsPins, problems) : undefined;
    if (problems.length) self.configError = `serviceplatform: ${problems.join('; ')}`;

    let transport: SoapTransport | undefined;
    self.transport = () => {
      if (self.configError) throw new Error(self.configError);
      if (transport) return transport;
      const cert = self.certificate();
      if (!cert) throw new Error('serviceplatform: no certificate configured');
      const km = cert.keyMaterial(); // throws the certificate's one-line error
      transport = new SoapTransport({ keyPem: km.keyPem, certPem: km.certPem, chainPem: km.chainPem, ca: caList, timeoutMs: self.timeoutMs });
      return transport;
    };
    if (self.configError) this.error(self.configError);

    let key: SigningKey | undefined;
    const signingKey = (): SigningKey => {
      if (key) return key;
      const cert = self.certificate();
      if (!cert) throw new Error('serviceplatform: no certificate configured');
      key = loadSigningKey(cert.keyMaterial());
      return key;
    };
    let cache: TokenCache | undefined;
    if (token) {
      cache = new TokenCache(() =>
        requestToken({
          stsUrl: token.stsUrl,
          appliesTo: token.appliesTo,
          cvr: self.senderCvr,
          key: signingKey(),
          stsPins: token.pins,
          ca: caList,
          timeoutMs: self.timeoutMs,
        }),
      );
    }
    let security: SecurityModel | undefined;
    self.tokenCache = () => cache;
    self.security = () => {
      self.transport(); // the same checks (configuration, certificate)
      if (!cache) return certificateSecurity;
      security ??= tokenSecurity({ cache, key: signingKey, to: serviceUrl(self.baseUrl) });
      return security;
    };

    this.on('close', (done: () => void) => {
      // fordeling out nodes stopping at the same time finish their sends in flight first
      void whenReleased(this, 12_000).then(() => {
        transport?.close();
        transport = undefined;
        cache?.invalidate();
        cache = undefined;
        key = undefined;
        done();
      });
    });
  }

  RED.nodes.registerType('os2-serviceplatform', ServiceplatformConfigNode, {
    credentials: { ca: { type: 'text' }, stsPins: { type: 'text' } },
  });

  /** The deployed node of the URL's id, or a 404 with a clear message. */
  function deployedOr404(req: Request, res: Response): ServiceplatformConfig | undefined {
    const node = RED.nodes.getNode(String(req.params.id)) as unknown as ServiceplatformConfig | null;
    if (!node || typeof node.endpoint !== 'function') {
      res.status(404).json({ ok: false, error: 'This serviceplatform configuration is not deployed: deploy it first, then try again' });
      return undefined;
    }
    return node;
  }
  const platformError = (res: Response, err: unknown) => {
    const e = err as DeliveryError;
    res.json({ ok: false, error: maskCpr(e.reason ?? e.message), class: e.class ?? 'permanent' });
  };
  const text = (v: unknown) => (v === undefined || v === null ? '' : String(v).trim());

  // "Test connection" and the map dialog's receiver list: FordelingsmodtagerList with the deployed configuration.
  // Answers systems or a reason; never secrets.
  const receivers = async (req: Request, res: Response) => {
    const node = deployedOr404(req, res);
    if (!node) return;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const routingCvr = text(body.routingCvr) || node.senderCvr;
    const kle = text(body.kle);
    const handlingFacet = text(body.handlingFacet).toUpperCase();
    if (!CVR_PATTERN.test(routingCvr) || !KLE_PATTERN.test(kle) || (handlingFacet && !HANDLING_FACET_PATTERN.test(handlingFacet))) {
      res
        .status(400)
        .json({ ok: false, error: 'Give the routing authority CVR (8 digits), a KLE subject (dd.dd.dd) and optionally a handling facet (e.g. G01)' });
      return;
    }
    try {
      const systems = await listReceivers({ routingCvr, kle, handlingFacet: handlingFacet || undefined }, platformOf(node));
      res.json({ ok: true, systems });
    } catch (err) {
      platformError(res, err);
    }
  };
  RED.httpAdmin.post('/os2-serviceplatform/:id/test', RED.auth.needsPermission('os2-serviceplatform.write'), receivers);
  RED.httpAdmin.post('/os2-serviceplatform/:id/receivers', RED.auth.needsPermission('os2-serviceplatform.write'), receivers);

  // Would the platform deliver an object routed like this? FordelingsmodtagerList + FordelingsmodtagerValider.
  RED.httpAdmin.post('/os2-serviceplatform/:id/check-routing', RED.auth.needsPermission('os2-serviceplatform.write'), async (req: Request, res: Response) => {
    const node = deployedOr404(req, res);
    if (!node) return;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const q = {
      routingCvr: text(body.routingCvr),
      kle: text(body.kle),
      handlingFacet: text(body.handlingFacet).toUpperCase(),
      receivingSystemUuid: text(body.receivingSystemUuid).toLowerCase(),
    };
    const problem = !CVR_PATTERN.test(q.routingCvr)
      ? 'routingCvr must be the receiving authority CVR (8 digits)'
      : q.receivingSystemUuid
        ? UUID_PATTERN.test(q.receivingSystemUuid)
          ? undefined
          : 'receivingSystemUuid must be a UUID'
        : !KLE_PATTERN.test(q.kle)
          ? 'Give a KLE subject (dd.dd.dd) or a receivingSystemUuid'
          : q.handlingFacet && !HANDLING_FACET_PATTERN.test(q.handlingFacet)
            ? 'handlingFacet must be a letter and two digits (e.g. G01)'
            : undefined;
    if (problem) return void res.status(400).json({ ok: false, error: problem });
    try {
      res.json({ ok: true, ...(await checkRouting(q, platformOf(node))) });
    } catch (err) {
      platformError(res, err);
    }
  });
};

function platformOf(node: ServiceplatformConfig) {
  return { endpoint: node.endpoint(), transport: node.transport(), security: node.security?.() };
}
