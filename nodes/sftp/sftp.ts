/**
 * `os2-sftp` config node: the Serviceplatform's SFTP service (host, port, user, private key, pinned host-key
 * fingerprint, folders OUT/IN, timeouts). Nodes call `connection()` for the one shared SftpConnection, which is
 * closed on redeploy. Admin endpoint POST /os2-sftp/:id/test connects and lists OUT and IN (never returns secrets).
 */
import type { Request, Response } from 'express';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { SftpConnection, HostKeyMismatchError, normaliseFingerprint, type SftpConfig, type ReceiptDisposal } from '../../lib/sftp';

interface SftpDef extends NodeDef {
  host: string;
  port?: string | number;
  username: string;
  hostKeyFingerprint: string;
  outDir?: string;
  inDir?: string;
  archiveDir?: string;
  receiptDisposal?: string;
  readyTimeout?: string | number;
  receiptTimeout?: string | number;
  pollInterval?: string | number;
}

type SftpCredentials = { privateKey: unknown; passphrase: unknown };

function seconds(value: unknown, fallback: number, max: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 && n <= max ? Math.round(n * 1000) : fallback * 1000;
}

export = function (RED: NodeAPI) {
  function SftpConfigNode(this: Node<SftpCredentials>, config: SftpDef) {
    RED.nodes.createNode(this, config);
    const self = this as unknown as { -readonly [K in keyof SftpConfig]: SftpConfig[K] };
    self.host = String(config.host ?? '').trim();
    const port = Number(config.port ?? 22);
    self.port = Number.isInteger(port) && port > 0 && port < 65536 ? port : 22;
    self.username = String(config.username ?? '').trim();
    self.hostKeyFingerprint = normaliseFingerprint(config.hostKeyFingerprint) ?? '';
    const outDir = String(config.outDir ?? '').trim() || 'OUT';
    const inDir = String(config.inDir ?? '').trim() || 'IN';
    self.folders = { out: outDir, in: inDir, archive: String(config.archiveDir ?? '').trim() || undefined };
    const disposal: ReceiptDisposal = config.receiptDisposal === 'delete' || config.receiptDisposal === 'keep' ? config.receiptDisposal : 'archive';
    self.receipts = {
      intervalMs: seconds(config.pollInterval, 5, 3600),
      timeoutMs: seconds(config.receiptTimeout, 600, 7 * 24 * 3600),
      disposal,
    };
    const privateKey = typeof this.credentials?.privateKey === 'string' ? this.credentials.privateKey.trim() : '';
    const passphrase = typeof this.credentials?.passphrase === 'string' ? this.credentials.passphrase : undefined;

    let conn: SftpConnection | undefined;
    try {
      if (!self.host) throw new Error('no host');
      if (!self.username) throw new Error('no user name');
      if (!privateKey) throw new Error('no private key (credentials)');
      if (!self.hostKeyFingerprint) throw new Error('the host-key fingerprint must be SHA256:<base64>, as ssh-keygen -l prints it');
      conn = new SftpConnection({
        host: self.host,
        port: self.port,
        username: self.username,
        privateKey: privateKey + '\n',
        passphrase: passphrase || undefined,
        hostKeyFingerprint: self.hostKeyFingerprint,
        readyTimeoutMs: seconds(config.readyTimeout, 20, 300),
      });
    } catch (err) {
      self.configError = `sftp: ${(err as Error).message}`;
      this.error(self.configError);
    }
    self.connection = () => {
      if (!conn) throw new Error(self.configError ?? 'sftp: not configured');
      return conn;
    };

    this.on('close', (_removed: boolean, done: () => void) => {
      const c = conn;
      conn = undefined;
      self.configError = 'sftp: the configuration was closed (redeployed)';
      if (!c) return done();
      c.close().then(done, () => done());
    });
  }

  RED.nodes.registerType('os2-sftp', SftpConfigNode, {
    credentials: { privateKey: { type: 'password' }, passphrase: { type: 'password' } },
  });

  // "Test connection" with the deployed configuration: connect (host key pinned), list OUT and IN. No secrets returned.
  RED.httpAdmin.post('/os2-sftp/:id/test', RED.auth.needsPermission('os2-sftp.write'), async (req: Request, res: Response) => {
    const node = RED.nodes.getNode(String(req.params.id)) as unknown as SftpConfig | null;
    if (!node || typeof node.connection !== 'function') {
      res.status(404).json({ ok: false, error: 'Deploy the configuration first, then test the connection' });
      return;
    }
    if (node.configError) {
      res.json({ ok: false, error: node.configError });
      return;
    }
    try {
      const conn = node.connection();
      const listing = await conn.run(async (c) => {
        const out = await c.list(node.folders.out);
        const inn = await c.list(node.folders.in);
        return { out: out.length, in: inn.length };
      });
      res.json({ ok: true, hostKeyFingerprint: conn.hostKeyFingerprint, folders: { [node.folders.out]: listing.out, [node.folders.in]: listing.in } });
    } catch (err) {
      const body: Record<string, unknown> = { ok: false, error: (err as Error).message };
      if (err instanceof HostKeyMismatchError) body.presentedFingerprint = err.actual;
      res.json(body);
    }
  });
};
