/**
 * `os2-ledger` config node: the shipment ledger shared by webform in, fordeling out and receipt in.
 * Backends: `embedded` (SQLite in a directory, default `<userDir>/os2-ledger`, the same store the nodes use without a
 * ledger node) or `postgresql`
 * (several Node-RED instances on one database; connection string as a credential or from an environment variable).
 * Exposes `ledger(): Ledger` (usable at once; calls wait until it is open) and closes it on redeploy.
 * Admin: GET /os2-ledger/:id/export?format=csv|json[&since&until&state&webformId] (permission os2-ledger.read);
 * `&what=approvals`: the approve nodes' audit (who decided what, when, why, corrections) instead of the shipments.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Request, Response } from 'express';
import { once } from 'node:events';
import { auditChunks } from '../../lib/approval/audit';
import { whenReleased } from '../../lib/node-red/holds';
import { exportChunks } from '../../lib/ledger/export';
import { ledgerSettings, openLedger } from '../../lib/ledger/open';
import type { LedgerConfig, OpenedLedger } from '../../lib/ledger/open';
import type { ExportFilter, Ledger, ShipmentState } from '../../lib/ledger/types';

interface LedgerDef extends NodeDef, LedgerConfig {
  retentionDays?: string | number;
}

interface LedgerConfigNode extends Node<{ connectionString?: string }> {
  /** One clear line when the ledger could not be opened (also logged). */
  configError?: string;
  /** Resolves once the backend is open; rejects with the reason it is not. */
  ready: Promise<Ledger>;
  ledger(): Ledger;
  /** Which store this is (`embedded:<dir>` or the node id), so a list never shows one store twice. */
  storeKey?: string;
  /** False for the in-memory store (tests): its work queue is lost on restart. */
  durable?: boolean;
}

const routed = new WeakSet<object>();
let currentRED: NodeAPI | undefined;

export = function (RED: NodeAPI) {
  currentRED = RED;

  function LedgerNode(this: LedgerConfigNode, config: LedgerDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const userDir = (RED.settings as { userDir?: string }).userDir || process.cwd();
    const days = Number(config.retentionDays ?? 365);
    let opened: OpenedLedger | undefined;
    try {
      const settings = ledgerSettings(config, node.credentials, userDir);
      node.storeKey = settings.backend === 'embedded' ? `embedded:${settings.path}` : node.id;
      node.durable = settings.backend !== 'memory';
      opened = openLedger(settings, {
        onNotice: (text) => node.log(text),
        retentionDays: Number.isFinite(days) && days > 0 ? days : 0,
        onPurge: (r) => node.log(`Retention: deleted ${r.shipments} shipment(s) and ${r.receipts} receipt(s)`),
        onError: (err) => node.warn(`ledger retention failed: ${err.message}`),
      });
      node.ready = opened.ready;
      opened.ready.catch((err: Error) => {
        node.configError = `ledger could not be opened: ${err.message}`;
        node.error(node.configError);
      });
    } catch (err) {
      node.configError = `ledger: ${(err as Error).message}`;
      node.error(node.configError);
      node.ready = Promise.reject(new Error(node.configError));
      node.ready.catch(() => undefined);
    }
    node.ledger = () => {
      if (!opened) throw new Error(node.configError);
      return opened.ledger;
    };
    node.on('close', (_removed: boolean, done: () => void) => {
      // the nodes using it stop at the same time: let their sends in flight finish and be recorded first
      (opened ? whenReleased(opened.ledger, 12_000).then(() => opened!.close()) : Promise.resolve())
        .catch((err: Error) => node.warn(err.message))
        .finally(done);
    });
  }

  RED.nodes.registerType('os2-ledger', LedgerNode as unknown as (this: Node, config: NodeDef) => void, {
    credentials: { connectionString: { type: 'password' } },
  });

  if (!routed.has(RED.httpAdmin)) {
    routed.add(RED.httpAdmin);
    RED.httpAdmin.get('/os2-ledger/:id/export', RED.auth.needsPermission('os2-ledger.read'), (req: Request, res: Response) => {
      void exportRoute(req, res);
    });
  }
};

async function exportRoute(req: Request, res: Response): Promise<void> {
  const RED = currentRED!;
  const format = String(req.query.format ?? 'json');
  if (format !== 'json' && format !== 'csv') {
    res.status(400).json({ error: 'format must be csv or json' });
    return;
  }
  const node = RED.nodes.getNode(String(req.params.id)) as unknown as LedgerConfigNode | null;
  if (!node || (node as unknown as { type?: string }).type !== 'os2-ledger') {
    res.status(404).json({ error: 'no such ledger' });
    return;
  }
  const filter: ExportFilter = {};
  for (const key of ['since', 'until', 'webformId'] as const) if (typeof req.query[key] === 'string') filter[key] = req.query[key] as string;
  if (typeof req.query.state === 'string') filter.state = req.query.state as ShipmentState;
  for (const key of ['since', 'until'] as const) {
    if (filter[key] && Number.isNaN(Date.parse(filter[key]!))) {
      res.status(400).json({ error: `${key} must be an ISO 8601 date` });
      return;
    }
    if (filter[key]) filter[key] = new Date(filter[key]!).toISOString();
  }
  try {
    await node.ready;
    const ledger = node.ledger();
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    // streamed a page at a time; the first chunk is read before answering, so an unusable store still gets a 503
    const approvals = req.query.what === 'approvals'; // the approve nodes' audit instead of the shipments
    const chunks = approvals ? auditChunks(ledger, format === 'csv' ? 'csv' : 'json') : exportChunks(ledger, format === 'csv' ? 'csv' : 'json', filter);
    let next = await chunks.next();
    res.setHeader('Content-Type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="os2-${approvals ? 'approvals' : 'ledger'}-${stamp}.${format}"`);
    res.setHeader('Cache-Control', 'no-store');
    try {
      for (; !next.done && !res.destroyed; next = await chunks.next()) {
        if (!res.write(next.value)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
      }
      res.end();
    } catch (err) {
      res.destroy(err as Error); // headers are out: a cut answer is the only honest signal left
    }
  } catch (err) {
    res.status(503).json({ error: node.configError ?? (err as Error).message });
  }
}
