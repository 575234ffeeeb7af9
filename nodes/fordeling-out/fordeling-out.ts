/**
 * `os2-fordeling-out`: delivers a FordelingsObject (or an expert's XML anmodning) to the Fordelingskomponent through
 * the outbox — recorded in the ledger, sent from its durable queue, retried across restarts. This file resolves the
 * configuration nodes and registers; what the node does is lib/node-red/fordeling-out.ts (outputs: 1 accepted,
 * 2 failed, 3 unconfirmed). Admin: POST /os2-fordeling-out/:node/resend/:id (os2-fordeling-out.write) resends a
 * dead letter through the node's queue.
 */
import type { Request, Response } from 'express';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { asDeliveryError } from '../../lib/delivery/durable-delivery';
import type { ServiceplatformConfig } from '../../lib/delivery/serviceplatform';
import type { Ledger } from '../../lib/ledger/types';
import { FordelingOutRuntime } from '../../lib/node-red/fordeling-out';
import { ledgerFor } from '../../lib/node-red/ledger';
import { statusText } from '../../lib/node-red/status-text';
import { UUID_PATTERN } from '../../lib/sf2900/model';
import type { SftpConfig } from '../../lib/sftp';
import type { Os2formsSite } from '../../lib/webform/os2forms-client';

const running = new Map<string, FordelingOutRuntime>();
const routedAdmins = new WeakSet<object>();

export = function (RED: NodeAPI) {
  function FordelingOutNode(this: Node, config: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, config);
    const node = this;
    const pick = <T>(id: unknown) => (id ? (RED.nodes.getNode(String(id)) as unknown as T | null) : null);
    const ledgerNode = pick<{ ledger(): Ledger; durable?: boolean }>(config.ledger);
    const sftpNode = pick<SftpConfig>(config.sftp);
    const missing =
      config.ledger && !ledgerNode
        ? 'fordeling out: the chosen ledger configuration is missing'
        : config.sftp && !sftpNode
          ? 'fordeling out: the chosen SFTP configuration is missing'
          : undefined;
    const runtime = new FordelingOutRuntime({
      node,
      newMessageId: () => RED.util.generateId(),
      statusText: statusText(RED, 'os2-fordeling-out'),
      config,
      sp: pick<ServiceplatformConfig>(config.serviceplatform),
      ledgerNode,
      sftpNode,
      site: pick<Os2formsSite>(config.site),
      ledger: ledgerFor(RED, ledgerNode),
      missing,
    });
    if (!runtime.configError) running.set(node.id, runtime);
    (node as unknown as { resend: FordelingOutRuntime['resend'] }).resend = (id) => runtime.resend(id);

    node.on('input', (msg, send, done) => runtime.input(msg as NodeMessageInFlow & Record<string, unknown>, send as never, done));
    node.on('close', (_removed: boolean, closed: () => void) => {
      if (running.get(node.id) === runtime) running.delete(node.id);
      runtime
        .close()
        .catch((err: Error) => node.warn(err.message))
        .finally(closed);
    });
  }

  RED.nodes.registerType('os2-fordeling-out', FordelingOutNode);
  if (routedAdmins.has(RED.httpAdmin)) return;
  routedAdmins.add(RED.httpAdmin);
  // Resend a dead-lettered (or failed) shipment through its fordeling-out node's durable queue.
  RED.httpAdmin.post('/os2-fordeling-out/:node/resend/:transactionId', RED.auth.needsPermission('os2-fordeling-out.write'), (req: Request, res: Response) => {
    const target = running.get(String(req.params.node));
    const id = String(req.params.transactionId ?? '').toLowerCase();
    if (!target) return void res.status(404).json({ error: `no running fordeling-out node ${req.params.node}` });
    if (!UUID_PATTERN.test(id)) return void res.status(400).json({ error: 'the transaction id must be a UUID' });
    target.resend(id).then(
      (s) => res.status(202).json({ transactionId: s.transactionId, state: s.state }),
      (err: unknown) => {
        const e = asDeliveryError(err);
        res.status(e.code === 'NOT_FOUND' ? 404 : e.code === 'NOT_RESENDABLE' ? 409 : 500).json({ error: e.reason });
      },
    );
  });
};
