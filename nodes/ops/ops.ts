/**
 * Node-RED plugin `os2-ops`: what operators probe and scrape, on Node-RED's HTTP node server (not the editor), under
 * `/os2` (settings.js `os2Ops: { path: '/somewhere' }` or OS2_OPS_PATH moves it):
 *   GET /os2/health    liveness: 200 while the process answers;
 *   GET /os2/ready     readiness: 200 or 503 with each check (flows started, every ledger in use answering, no
 *                      certificate expired) as JSON — no secrets, no personal data;
 *   GET /os2/metrics   Prometheus text (lib/ops/metrics.ts); with OS2_METRICS_TOKEN set, only with
 *                      `Authorization: Bearer <token>`.
 * Certificates: a warning in the log once a day from 30 days before expiry.
 */
import { timingSafeEqual } from 'node:crypto';
import type { NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import { ALL_STATES } from '../../lib/outbox/states';
import { EXPIRY_WARNING_DAYS, daysLeft, readiness } from '../../lib/ops/health';
import { registry, useStateSource } from '../../lib/ops/metrics';
import { ledgerSources } from '../../lib/node-red/ledger-sources';

interface CertNode {
  name?: string;
  id: string;
  info?: { validTo?: string };
  configError?: string;
}

export = function (RED: NodeAPI) {
  const plugins = (RED as unknown as { plugins?: { registerPlugin?: (id: string, def: object) => void } }).plugins;
  plugins?.registerPlugin?.('os2-ops', { type: 'os2-ops' });
  const settings = RED.settings as unknown as { os2Ops?: { path?: string }; httpNodeRoot?: string | false };
  if (settings.httpNodeRoot === false) return;
  const base = (settings.os2Ops?.path ?? process.env.OS2_OPS_PATH ?? '/os2').replace(/\/+$/, '');
  let started = false;
  RED.events.on('flows:started', () => (started = true));
  RED.events.on('flows:stopped', () => (started = false));

  const certificates = (): CertNode[] => {
    const out: CertNode[] = [];
    RED.nodes.eachNode((def) => {
      if (def.type !== 'os2-certificate') return;
      const n = RED.nodes.getNode(def.id) as unknown as CertNode | null;
      if (n) out.push({ ...n, id: def.id, name: def.name || def.id });
    });
    return out;
  };
  const sum = async <T>(f: (l: ReturnType<ReturnType<typeof ledgerSources>[number]['ledger']>) => Promise<T>, add: (acc: T, v: T) => T, zero: T) => {
    let acc = zero;
    for (const s of ledgerSources(RED)) acc = add(acc, await f(s.ledger()).catch(() => zero));
    return acc;
  };
  useStateSource({
    shipmentsByState: async () => {
      const out: Record<string, number> = {};
      for (const state of ALL_STATES)
        out[state] = await sum(
          (l) => l.countShipments({ state }),
          (a, b) => a + b,
          0,
        );
      return out;
    },
    queue: async () => {
      const now = Date.now();
      return sum(
        async (l) => {
          const items = await l.listQueue();
          // a reduce, not Math.max(...all): a queue of 100,000 would pass the engine's argument limit
          const overdue = items.reduce((m, w) => Math.max(m, (now - Date.parse(w.notBefore)) / 1000), 0);
          return { depth: items.length, oldestSeconds: overdue };
        },
        (a, b) => ({ depth: a.depth + b.depth, oldestSeconds: Math.max(a.oldestSeconds, b.oldestSeconds) }),
        { depth: 0, oldestSeconds: 0 },
      );
    },
    approvalsWaiting: () =>
      sum(
        (l) => l.countApprovals({ state: 'waiting' }),
        (a, b) => a + b,
        0,
      ),
    certificates: () => certificates().flatMap((c) => (c.info?.validTo ? [{ name: c.name ?? c.id, daysLeft: daysLeft(c.info.validTo) }] : [])),
  });

  // a daily log line from 30 days before a certificate expires
  const warnExpiry = () => {
    for (const c of certificates()) {
      if (!c.info?.validTo) continue;
      const days = daysLeft(c.info.validTo);
      if (days < 0) RED.log.error(`os2: certificate "${c.name}" expired ${c.info.validTo}: deliveries with it fail; renew it`);
      else if (days < EXPIRY_WARNING_DAYS) RED.log.warn(`os2: certificate "${c.name}" expires in ${days} days (${c.info.validTo}); renew it`);
    }
  };
  RED.events.on('flows:started', warnExpiry);
  setInterval(warnExpiry, 86_400_000).unref();

  const http = RED.httpNode as unknown as { get(p: string, h: (req: Request, res: Response) => void): void };
  http.get(`${base}/health`, (_req, res) => {
    res.set('cache-control', 'no-store').json({ status: 'ok' });
  });
  http.get(`${base}/ready`, (_req, res) => {
    readiness({
      flowsStarted: () => started,
      ledgers: () => ledgerSources(RED).map((s) => ({ name: s.name, probe: () => s.ledger().countShipments({ state: 'queued' }) })),
      certificates: () => certificates().map((c) => ({ name: c.name ?? c.id, validTo: c.info?.validTo, error: c.configError })),
    })
      .then((r) =>
        res
          .status(r.ready ? 200 : 503)
          .set('cache-control', 'no-store')
          .json(r),
      )
      .catch((err: Error) => res.status(503).json({ ready: false, error: err.message }));
  });
  http.get(`${base}/metrics`, (req, res) => {
    const token = process.env.OS2_METRICS_TOKEN;
    if (token) {
      const given = Buffer.from(String(req.headers.authorization ?? ''));
      const wanted = Buffer.from(`Bearer ${token}`);
      if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
        res.status(401).set('www-authenticate', 'Bearer').end();
        return;
      }
    }
    registry
      .metrics()
      .then((text) => res.set('content-type', registry.contentType).set('cache-control', 'no-store').send(text))
      .catch((err: Error) => res.status(500).send(`# ${err.message}\n`));
  });
};
