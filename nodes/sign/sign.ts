/**
 * `os2-sign` (palette: sign): enveloped XMLDSig, WS-Security signing of a SOAP 1.1 envelope, or verification of a
 * signature against pinned certificates. The key is parsed once at deploy (in-thread or once per pool worker).
 */
import { statusText } from '../../lib/node-red/status-text';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { CertificateConfig } from '../../lib/certificate/types';
import { parsePins, type Pins } from '../../lib/signing/keys';
import { SigningPool } from '../../lib/signing/pool';
import { Signer, type SignRequest } from '../../lib/signing/sign';
import { verifyXmlSignature } from '../../lib/signing/verify';

type Mode = 'enveloped' | 'wssecurity' | 'verify';

interface SignNodeDef extends NodeDef {
  mode?: Mode;
  certificate?: string;
  property?: string;
  select?: 'document' | 'xpath' | 'id';
  xpath?: string;
  elementId?: string;
  lifetime?: number | string;
  extraHeaders?: string;
  verifyAs?: 'auto' | 'enveloped' | 'wssecurity';
  pins?: string;
  usePool?: boolean;
  poolSize?: number | string;
}

interface Backend {
  sign(req: SignRequest): Promise<string>;
  close(): Promise<void>;
}

type Msg = NodeMessage & Record<string, unknown>;

export = function (RED: NodeAPI) {
  function SignNode(this: Node, config: SignNodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const mode: Mode = config.mode === 'wssecurity' || config.mode === 'verify' ? config.mode : 'enveloped';
    const property = (config.property ?? '').trim() || 'payload';
    const select = config.select === 'xpath' || config.select === 'id' ? config.select : 'document';
    const xpath = select === 'xpath' ? (config.xpath ?? '').trim() || undefined : undefined;
    const elementId = select === 'id' ? (config.elementId ?? '').trim() || undefined : undefined;
    const lifetime = Number(config.lifetime ?? 300) || 300;
    const extraHeaders = String(config.extraHeaders ?? '')
      .split(/[\s,]+/)
      .filter(Boolean);

    let problem: string | undefined;
    let backend: Backend | undefined;
    let pins: Pins | undefined;

    if (select === 'xpath' && !xpath) problem = 'sign: no XPath given';
    if (select === 'id' && !elementId) problem = 'sign: no element Id given';
    if (!problem && mode === 'verify') {
      try {
        pins = parsePins(config.pins ?? '');
        if (!pins.fingerprints.size) problem = 'sign: no pinned certificates configured for verify';
      } catch (err) {
        problem = `sign: pinned certificates: ${(err as Error).message}`;
      }
    } else if (!problem) {
      const cert = config.certificate ? (RED.nodes.getNode(config.certificate) as unknown as CertificateConfig | null) : null;
      if (!cert || typeof cert.keyMaterial !== 'function') problem = 'sign: no certificate configured';
      // `error` is a string only when the key material could not be read (otherwise it is Node's error() method).
      else if (typeof cert.error === 'string' && cert.error) problem = cert.error;
      else {
        try {
          const material = cert.keyMaterial();
          if (config.usePool) {
            const size = Number(config.poolSize) > 0 ? Number(config.poolSize) : undefined;
            backend = new SigningPool(material, { size });
          } else backend = new Signer(material);
        } catch (err) {
          problem = `sign: ${(err as Error).message}`;
        }
      }
    }
    const t = statusText(RED, 'sign');
    const short = (s: string) => (s.length > 60 ? `${s.slice(0, 57)}…` : s);

    if (problem) {
      node.error(problem);
      node.status({ fill: 'red', shape: 'ring', text: problem.replace(/^sign: /, '') });
    } else if (backend instanceof SigningPool) {
      node.status({ fill: 'grey', shape: 'dot', text: t('pool', { n: backend.size }, `pool of ${backend.size} workers`) });
    }

    node.on('input', async (msg: Msg, send, done) => {
      try {
        if (problem) throw new Error(problem);
        const value = RED.util.getMessageProperty(msg, property) as unknown;
        const xml = Buffer.isBuffer(value) ? value.toString('utf8') : value;
        if (typeof xml !== 'string' || !xml.trim()) throw new Error(`sign: msg.${property} must be XML text (a string or Buffer)`);
        if (mode === 'verify') {
          const result = verifyXmlSignature(xml, {
            pins: pins!,
            mode: config.verifyAs ?? 'auto',
            xpath,
            id: elementId,
            requiredHeaders: extraHeaders,
          });
          if (result.valid) {
            msg.signature = { valid: true, mode: result.mode, signer: result.signer };
            msg.signedElement = result.signedElement;
            delete msg.signatureError;
            node.status({ fill: 'green', shape: 'dot', text: t('valid', {}, 'valid') });
            send([msg, null]);
          } else {
            node.status({
              fill: 'yellow',
              shape: 'ring',
              text: t('invalid', { reason: short(result.reason ?? '') }, `invalid: ${short(result.reason ?? '')}`),
            });
            msg.signature = { valid: false, mode: result.mode };
            msg.signatureError = result.reason;
            send([null, msg]);
          }
          done();
          return;
        }
        const req: SignRequest = mode === 'enveloped' ? { mode, xml, xpath, id: elementId } : { mode, xml, lifetimeSeconds: lifetime, extraHeaders };
        const signed = await backend!.sign(req);
        RED.util.setMessageProperty(msg, property, signed, true);
        send(msg);
        done();
      } catch (err) {
        if (!problem)
          node.status({ fill: 'red', shape: 'ring', text: t('failed', { error: short((err as Error).message) }, `failed: ${short((err as Error).message)}`) });
        done(err as Error);
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      const b = backend;
      backend = undefined;
      if (!b) return done();
      b.close().then(done, done);
    });
  }

  RED.nodes.registerType('os2-sign', SignNode);
};
