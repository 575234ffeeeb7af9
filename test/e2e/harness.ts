/** Shared set-up for fordeling-out / receipt-in tests: certificates, simulator, Node-RED's httpNode on a real port. */
import * as http from 'http';
import * as https from 'https';
import type { AddressInfo } from 'net';
import type { NodeAPI } from 'node-red';
import helper from 'node-red-node-test-helper';
import certificateNode from '../../nodes/certificate/certificate';
import serviceplatformNode from '../../nodes/serviceplatform/serviceplatform';
import fordelingOutNode from '../../nodes/fordeling-out/fordeling-out';
import receiptInNode from '../../nodes/receipt-in/receipt-in';

let RED: NodeAPI | undefined;
/** receipt in, with the runtime API captured so tests can serve RED.httpNode. */
export const receiptIn = (r: NodeAPI): void => {
  RED = r;
  receiptInNode(r);
};
// Catch, Status and Complete come from the Node-RED under test: the helper loads them itself when a flow uses them
// (registering them again throws "catch already registered" on Node-RED 5).
export const NODES = [certificateNode, serviceplatformNode, fordelingOutNode, receiptIn];

export function httpNode(): http.RequestListener {
  if (!RED) throw new Error('receipt in was not loaded yet');
  return RED.httpNode as unknown as http.RequestListener;
}

/** Serves Node-RED's httpNode on 127.0.0.1 over http, or https with optional client certificates. */
export async function serveHttpNode(tls?: https.ServerOptions): Promise<{ url: string; server: http.Server; close(): Promise<void> }> {
  const handler: http.RequestListener = (req, res) => httpNode()(req, res);
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}

/** Resolves with the next message a helper node receives. */
export function nextMessage<T = Record<string, unknown>>(id: string, timeoutMs = 5000): Promise<T> {
  const n = helper.getNode(id);
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no message on ${id} within ${timeoutMs} ms`)), timeoutMs);
    n.once('input', (msg: T) => {
      clearTimeout(t);
      resolve(msg);
    });
  });
}

/** Collects every message helper nodes receive, by node id. */
export function collect(ids: string[]): Record<string, Array<Record<string, unknown>>> {
  const out: Record<string, Array<Record<string, unknown>>> = {};
  for (const id of ids) {
    out[id] = [];
    helper.getNode(id).on('input', (m: Record<string, unknown>) => out[id].push(m));
  }
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => boolean, timeoutMs = 10000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
