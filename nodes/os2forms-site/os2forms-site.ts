/**
 * `os2-os2forms-site` config node: an OS2forms site's REST API (base URL, API key as a password credential).
 * Nodes call `client()` for an Os2formsClient that GETs with the `api-key` header and a timeout.
 * Admin: POST /os2-os2forms-site/:id/test {webformId} (os2-os2forms-site.write) lists that form's submissions with
 * the deployed configuration and answers how many there are, or why it failed; never the key.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Request, Response } from 'express';
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

  // "Test connection" in the dialog: one GET of a form's submission list with the deployed site configuration.
  RED.httpAdmin.post('/os2-os2forms-site/:id/test', RED.auth.needsPermission('os2-os2forms-site.write'), (req: Request, res: Response) => {
    const node = RED.nodes.getNode(String(req.params.id)) as unknown as Os2formsSite | null;
    if (!node || typeof node.client !== 'function') {
      res.status(404).json({ ok: false, error: 'Deploy the configuration first, then test the connection' });
      return;
    }
    const webformId = String((req.body as { webformId?: unknown } | undefined)?.webformId ?? '').trim();
    if (!/^[a-z0-9_]+$/.test(webformId)) {
      res.status(400).json({ ok: false, error: 'Give the machine name of a form the API user may read (e.g. sp241_helbredstillaeg)' });
      return;
    }
    if (node.configError) {
      res.json({ ok: false, error: node.configError });
      return;
    }
    node
      .client()
      .getJson(`/webform_rest/${webformId}/submissions`)
      .then((list) => {
        const subs = (list as { submissions?: unknown } | null)?.submissions;
        const count = Array.isArray(subs) ? subs.length : subs && typeof subs === 'object' ? Object.keys(subs).length : 0;
        res.json({ ok: true, submissions: count });
      })
      .catch((err: Error) => res.json({ ok: false, error: err.message }));
  });
};
