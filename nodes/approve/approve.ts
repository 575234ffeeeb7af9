/**
 * `os2-approve`: a human approval step. A message waits durably in the ledger until a person approves or rejects it
 * on the approver's page (served on the HTTP node server, behind Node-RED's admin users or an authenticating proxy) or
 * its deadline passes. Outputs: 1 approved, 2 rejected, 3 expired, 4 reminder before the deadline, 5 the decision
 * link at arrival. This file reads the settings and registers; the runtime is lib/node-red/approve.ts.
 */
import * as os from 'node:os';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { nodeRedAdminLogin } from '../../lib/approval/auth';
import { parseFields } from '../../lib/approval/view';
import type { Ledger } from '../../lib/ledger/types';
import { ApproveRuntime } from '../../lib/node-red/approve';
import { ledgerFor } from '../../lib/node-red/ledger';

type ApproveDef = NodeDef &
  Record<'path' | 'queue' | 'fields' | 'titleTemplate' | 'auth' | 'userHeader' | 'proxies' | 'publicUrl' | 'ledger', string | undefined> & {
    deadlineHours?: string | number;
    remindHours?: string | number;
    showCpr?: boolean;
    pollSeconds?: string | number;
  };

const num = (v: unknown, fallback: number) => (v !== '' && v !== undefined && Number.isFinite(Number(v)) && Number(v) >= 0 ? Number(v) : fallback);

export = function (RED: NodeAPI) {
  function ApproveNode(this: Node, config: ApproveDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const fail = (text: string) => (node.error(`approve: ${text}`), node.status({ fill: 'red', shape: 'ring', text }));
    const ledgerNode = config.ledger ? (RED.nodes.getNode(config.ledger) as unknown as { ledger(): Ledger } | null) : null;
    if (config.ledger && !ledgerNode) return fail('the chosen ledger configuration is missing');
    const raw = String(config.path ?? '').trim();
    if (!/^\/[A-Za-z0-9._~\-/]+$/.test(raw)) return fail('the page path must start with / (e.g. /godkend)');
    const path = raw.replace(/\/+$/, '');
    let fields: ReturnType<typeof parseFields>;
    try {
      fields = parseFields(config.fields ?? '');
    } catch (err) {
      return fail((err as Error).message);
    }
    const mode = config.auth === 'proxy' ? 'proxy' : 'admin';
    const proxies = String(config.proxies ?? '')
      .split(/[\s,]+/)
      .filter(Boolean);
    if (mode === 'proxy' && !proxies.length) return fail('proxy login needs the proxy addresses');
    const s = RED.settings as unknown as { adminAuth?: unknown; uiPort?: number; uiHost?: string; httpAdminRoot?: string | false; https?: unknown };
    if (mode === 'admin' && (!s.adminAuth || s.httpAdminRoot === false)) {
      return fail("login with Node-RED's users needs adminAuth in settings.js (or choose proxy login)");
    }
    const adminUrl = `${s.https ? 'https' : 'http'}://${!s.uiHost || s.uiHost === '0.0.0.0' || s.uiHost === '::' ? '127.0.0.1' : s.uiHost}:${s.uiPort ?? 1880}${s.httpAdminRoot || '/'}`;
    let runtime: ApproveRuntime;
    try {
      runtime = new ApproveRuntime({
        node: node as never,
        httpNode: RED.httpNode as never,
        ledger: ledgerFor(RED, ledgerNode)(),
        settings: {
          queue: String(config.queue ?? '').trim() || node.id,
          deadlineMs: Math.max(num(config.deadlineHours, 72), 0.0003) * 3_600_000,
          remindBeforeMs: num(config.remindHours, 24) * 3_600_000,
          fields,
          titleTemplate: String(config.titleTemplate ?? ''),
          showCpr: config.showCpr === true,
        },
        auth: { mode, header: String(config.userHeader || 'x-remote-user').toLowerCase(), proxies },
        path,
        root: String((RED.settings as unknown as { httpNodeRoot?: unknown }).httpNodeRoot || '/').replace(/\/+$/, ''),
        publicUrl: String(config.publicUrl ?? '').trim(),
        adminLogin: mode === 'admin' ? nodeRedAdminLogin(adminUrl) : undefined,
        owner: `${os.hostname()}:${process.pid}:${node.id}`,
        pollMs: Math.max(num(config.pollSeconds, 1), 0.05) * 1000,
      });
    } catch (err) {
      return fail((err as Error).message);
    }
    node.on('input', (msg, send, done) => void runtime.input(msg as never, send as never, done));
    node.on('close', (_removed: boolean, done: () => void) => {
      runtime.close(RED.httpNode);
      done();
    });
  }
  RED.nodes.registerType('os2-approve', ApproveNode);
};
