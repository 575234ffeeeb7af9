/**
 * Node-RED plugin `os2-overview`: the runtime side of the "OS2" sidebar tab — shipments and receipts from the
 * ledger(s) in use (the process-wide default ledger and every deployed `os2-ledger` config node).
 *
 * Admin endpoints (behind Node-RED's admin authentication):
 *   GET  /os2-overview/shipments?state=&form=&since=&until=&limit=   (os2-overview.read)  summaries with receipts
 *   GET  /os2-overview/shipments/:transactionId                      (os2-overview.read)  one shipment: request, attempts, receipts
 *   POST /os2-overview/shipments/:transactionId/resend               (os2-overview.write) re-deliver a failed / dead-letter shipment
 *   GET  /os2-overview/approvals?state=                             (os2-overview.read)  the approve nodes' audit, newest first
 * In everything returned CPR numbers are masked and file contents left out (a marker with the element's name and the
 * decoded size stands in for them: lib/privacy/file-content.ts).
 *
 * Resend: the shipment's fordeling-out node is `meta.node` (when recorded) or the only fordeling-out node using
 * the shipment's ledger. When that node exposes `resend(transactionId): Promise<unknown>` (a durable queue), it is
 * called; otherwise the stored request is delivered again under the same AnvenderTransaktionsID with the node's
 * serviceplatform configuration.
 */
import type { NodeAPI, NodeDef } from 'node-red';
import type { Request, Response } from 'express';
import { type LedgerSource, ledgerSources } from '../../lib/node-red/ledger-sources';
import { type AuditEntry, auditEntry } from '../../lib/approval/audit';
import type { ApprovalState, ShipmentRecord } from '../../lib/ledger/types';
import { DeliveryError } from '../../lib/delivery/errors';
import { RESENDABLE, details, maskCpr, maskDeep, parseFilter, summary, type ShipmentSummary } from './shipments';

interface FordelingOutDef extends NodeDef {
  serviceplatform?: string;
  ledger?: string;
  d?: boolean;
}

const TX = /^[0-9a-fA-F-]{1,64}$/;
const routed = new WeakSet<object>();

export = function (RED: NodeAPI) {
  const plugins = (RED as unknown as { plugins?: { registerPlugin?: (id: string, def: object) => void } }).plugins;
  plugins?.registerPlugin?.('os2-overview', { type: 'os2-overview' });

  const sources = () => ledgerSources(RED);

  async function find(transactionId: string): Promise<{ src: LedgerSource; shipment: ShipmentRecord } | undefined> {
    for (const src of sources()) {
      try {
        const shipment = await src.ledger().getShipment(transactionId);
        if (shipment) return { src, shipment };
      } catch {
        /* a ledger that cannot be read is reported by the list */
      }
    }
    return undefined;
  }

  function fordelingOutNodes(): FordelingOutDef[] {
    const out: FordelingOutDef[] = [];
    RED.nodes.eachNode((def) => {
      if (def.type === 'os2-fordeling-out' && !(def as FordelingOutDef).d) out.push(def as FordelingOutDef);
    });
    return out;
  }

  async function resend(transactionId: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const found = await find(transactionId);
    if (!found) return { status: 404, body: { error: 'No such shipment' } };
    const { src, shipment } = found;
    if (!RESENDABLE.includes(shipment.state)) {
      return { status: 409, body: { error: `Only failed or dead-letter shipments can be resent (this one is ${shipment.state})`, state: shipment.state } };
    }
    const candidates = fordelingOutNodes().filter((d) => (d.ledger || '') === src.id);
    const recorded = typeof shipment.meta?.node === 'string' ? candidates.find((d) => d.id === shipment.meta!.node) : undefined;
    const target = recorded ?? (candidates.length === 1 ? candidates[0] : undefined);
    if (!target) {
      return {
        status: 409,
        body: {
          error: candidates.length
            ? 'Several fordeling out nodes use this ledger and the shipment does not say which sent it'
            : 'No deployed fordeling out node uses this ledger',
        },
      };
    }
    // through the node's durable queue, like every send (lib/outbox)
    const instance = RED.nodes.getNode(target.id) as unknown as { resend?: (id: string) => Promise<unknown> } | null;
    if (!instance || typeof instance.resend !== 'function')
      return { status: 409, body: { error: 'The fordeling out node that sent it is not running (see its status)' } };
    try {
      await instance.resend(shipment.transactionId);
    } catch (err) {
      const reason = err instanceof DeliveryError ? err.reason : String((err as Error)?.message ?? err);
      return { status: 409, body: { error: maskCpr(reason) } };
    }
    const now = await src.ledger().getShipment(shipment.transactionId, { bodies: false });
    return { status: 202, body: { transactionId: shipment.transactionId, state: now?.state ?? 'queued', via: 'queue' } };
  }

  if (routed.has(RED.httpAdmin)) return;
  routed.add(RED.httpAdmin);

  RED.httpAdmin.get('/os2-overview/shipments', RED.auth.needsPermission('os2-overview.read'), (req: Request, res: Response) => {
    const filter = parseFilter(req.query as Record<string, unknown>);
    if (typeof filter === 'string') {
      res.status(400).json({ error: filter });
      return;
    }
    void (async () => {
      const found: Array<{ s: ShipmentRecord; src: LedgerSource }> = [];
      const problems: string[] = [];
      const ledgers: Array<{ id: string; name: string }> = [];
      const { limit = 200, offset = 0, ...where } = filter;
      const all = sources();
      let total = 0;
      // Filtered and paged in each store. With several stores, each gives its first offset+limit and the page is cut
      // from their merge by time.
      const one = all.length === 1;
      for (const src of all) {
        ledgers.push({ id: src.id, name: src.name });
        try {
          const ledger = src.ledger();
          total += await ledger.countShipments(where);
          const page = one ? { limit, offset } : { limit: offset + limit };
          for (const s of await ledger.listShipments({ ...where, ...page })) found.push({ s, src });
        } catch (err) {
          problems.push(`${src.name}: ${maskCpr(String((err as Error)?.message ?? err))}`);
        }
      }
      found.sort((a, b) => (a.s.createdAt < b.s.createdAt ? 1 : a.s.createdAt > b.s.createdAt ? -1 : 0));
      const shipments: ShipmentSummary[] = [];
      for (const { s, src } of one ? found : found.slice(offset, offset + limit)) {
        shipments.push(summary(s, await src.ledger().listReceipts(s.transactionId), { id: src.id, name: src.name }));
      }
      res.json({ shipments, total, offset, ledgers, problems });
    })().catch((err: Error) => res.status(500).json({ error: maskCpr(err.message) }));
  });

  // the approve nodes' audit: the latest decisions (and what waits) of every ledger in use
  RED.httpAdmin.get('/os2-overview/approvals', RED.auth.needsPermission('os2-overview.read'), (req: Request, res: Response) => {
    const state = ['waiting', 'approved', 'rejected', 'expired'].includes(String(req.query.state)) ? (String(req.query.state) as ApprovalState) : undefined;
    void (async () => {
      const approvals: Array<AuditEntry & { ledger: string }> = [];
      const problems: string[] = [];
      for (const src of sources()) {
        try {
          const ledger = src.ledger();
          const total = await ledger.countApprovals(state ? { state } : {});
          const page = await ledger.listApprovals({ ...(state ? { state } : {}), limit: 200, offset: Math.max(0, total - 200) });
          for (const a of page) approvals.push({ ...maskDeep(auditEntry(a)), ledger: src.name });
        } catch (err) {
          problems.push(`${src.name}: ${maskCpr(String((err as Error)?.message ?? err))}`);
        }
      }
      approvals.sort((a, b) => ((a.decidedAt ?? a.createdAt) < (b.decidedAt ?? b.createdAt) ? 1 : -1));
      res.json({ approvals: approvals.slice(0, 200), problems });
    })().catch((err: Error) => res.status(500).json({ error: maskCpr(err.message) }));
  });

  RED.httpAdmin.get('/os2-overview/shipments/:transactionId', RED.auth.needsPermission('os2-overview.read'), (req: Request, res: Response) => {
    const id = String(req.params.transactionId);
    if (!TX.test(id)) {
      res.status(400).json({ error: 'Not a transaction id' });
      return;
    }
    void (async () => {
      const found = await find(id.toLowerCase());
      if (!found) {
        res.status(404).json({ error: 'No such shipment' });
        return;
      }
      const receipts = await found.src.ledger().listReceipts(found.shipment.transactionId);
      res.json(details(found.shipment, receipts, { id: found.src.id, name: found.src.name }));
    })().catch((err: Error) => res.status(500).json({ error: maskCpr(err.message) }));
  });

  RED.httpAdmin.post('/os2-overview/shipments/:transactionId/resend', RED.auth.needsPermission('os2-overview.write'), (req: Request, res: Response) => {
    const id = String(req.params.transactionId);
    if (!TX.test(id)) {
      res.status(400).json({ error: 'Not a transaction id' });
      return;
    }
    resend(id.toLowerCase())
      .then((r) => res.status(r.status).json(r.body))
      .catch((err: Error) => res.status(500).json({ error: maskCpr(err.message) }));
  });
};
