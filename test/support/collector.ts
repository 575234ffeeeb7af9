// What Node-RED processes under test report: an HTTP server collecting the JSON bodies their http request nodes POST.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Collector<T> {
  /** Where to POST (e.g. an http request node's URL). */
  url: string;
  /** Every body received, parsed, in order. */
  received: T[];
  close(): void;
}

export async function startCollector<T>(): Promise<Collector<T>> {
  const received: T[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/out`, received, close: () => server.close() };
}
