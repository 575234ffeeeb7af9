/**
 * `os2-serviceplatform` config node: which Serviceplatform (test, production or a custom URL with its own CA),
 * the certificate, the sender authority CVR and IT-system UUID, the request timeout and the security model.
 * Owns one keep-alive HTTPS transport (lib/delivery) shared by the nodes that use it; closes it on redeploy.
 * Token model: the STS URL (test/production defaults), the pinned STS certificate and the service entityID; one
 * TokenCache per node (the assertion is reused until shortly before NotOnOrAfter), dropped on close.
 */
import { whenReleased } from '../../lib/node-red/holds';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { ENDPOINTS } from '../../lib/sf2900/namespaces';
import { CVR_PATTERN, UUID_PATTERN } from '../../lib/sf2900/model';
import type { CertificateConfig } from '../../lib/certificate/types';
import { SoapTransport } from '../../lib/delivery/soap-transport';
import { splitPem, type ServiceplatformConfig } from '../../lib/delivery/serviceplatform';
import { registerRoutingAdmin } from './routing-admin';
import { certificateSecurity, serviceUrl, type SecurityModel } from '../../lib/delivery/deliver';
import { tokenSecurity, tokenSigner } from '../../lib/delivery/token-security';
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
    const material = () => {
      const cert = self.certificate();
      if (!cert) throw new Error('serviceplatform: no certificate configured');
      return cert.keyMaterial();
    };
    const signingKey = (): SigningKey => (key ??= loadSigningKey(material()));
    const signer = tokenSigner(material); // token model: requests signed on a thread of their own
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
      security ??= tokenSecurity({ cache, key: signingKey, to: serviceUrl(self.baseUrl), signer });
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
        void signer
          .close()
          .catch(() => undefined)
          .finally(done);
      });
    });
  }

  RED.nodes.registerType('os2-serviceplatform', ServiceplatformConfigNode, {
    credentials: { ca: { type: 'text' }, stsPins: { type: 'text' } },
  });

  registerRoutingAdmin(RED);
};
