import type { CertificateConfig } from '../certificate/types';
import type { EndpointConfig, SecurityModel } from './deliver';
import type { TokenCache } from '../sts/cache';
import type { SoapTransport } from './soap-transport';

/** What nodes see on `RED.nodes.getNode(id)` of an `os2-serviceplatform` node (docs/interfaces.md, plus helpers). */
export interface ServiceplatformConfig {
  /** One clear line when the configuration is unusable (not `error`: that is Node's error() method). */
  readonly configError?: string;
  readonly baseUrl: string;
  readonly senderCvr: string;
  readonly senderSystemUuid: string;
  readonly timeoutMs: number;
  readonly securityModel: 'certificate' | 'token';
  certificate(): CertificateConfig | undefined;
  ca(): string[] | undefined;
  endpoint(): EndpointConfig;
  /** The shared keep-alive HTTPS transport; throws Error(one line) when the configuration is unusable. */
  transport(): SoapTransport;
  /** The security model for deliver() (certificate, or token with this node's token cache); throws like transport(). */
  security?(): SecurityModel;
  /** Token model: the node's one TokenCache (undefined in the certificate model). */
  tokenCache?(): TokenCache | undefined;
}

/** The PEM certificates in a text (a CA bundle). */
export function splitPem(text: string | undefined): string[] | undefined {
  const blocks = (text ?? '').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  return blocks && blocks.length ? blocks : undefined;
}
