/**
 * `os2-os2forms-site` config node: an OS2forms site's REST API (base URL, API key as a password credential).
 * Nodes call `client()` for an Os2formsClient that GETs with the `api-key` header and a timeout.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { Os2formsClient, type Os2formsSite } from '../../lib/webform/os2forms-client';

interface SiteDef extends NodeDef {
  baseUrl: string;
  timeout?: string | number;
}

export = function (RED: NodeAPI) {
  function Os2formsSiteNode(this: Node<{ apiKey: unknown }>, config: SiteDef) {
    RED.nodes.createNode(this, config);
    const self = this as unknown as { -readonly [K in keyof Os2formsSite]: Os2formsSite[K] };
    self.baseUrl = (config.baseUrl ?? '').trim();
    const t = Number(config.timeout);
    self.timeoutMs = Number.isFinite(t) && t > 0 ? Math.round(t * 1000) : 30000;
    const apiKey = typeof this.credentials?.apiKey === 'string' ? this.credentials.apiKey : '';
    let client: Os2formsClient | undefined;
    try {
      if (!self.baseUrl) throw new Error('no base URL');
      if (!apiKey) throw new Error('no API key (credentials)');
      client = new Os2formsClient({ baseUrl: self.baseUrl, apiKey, timeoutMs: self.timeoutMs });
    } catch (err) {
      self.configError = `os2forms site: ${(err as Error).message}`;
    }
    self.client = () => {
      if (!client) throw new Error(self.configError);
      return client;
    };
  }
  RED.nodes.registerType('os2-os2forms-site', Os2formsSiteNode, {
    credentials: { apiKey: { type: 'password' } },
  });
};
