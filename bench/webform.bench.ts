// webform in: cost of receiving a submission. Library steps (decode, HMAC, normalise) and the whole push path
// through the node on a real HTTP server (127.0.0.1, port 0): small JSON submissions one at a time, and one with a
// 15 MB attachment as base64. Medians of 5 runs. `node --import tsx bench/webform.bench.ts`
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import helper from 'node-red-node-test-helper';
import type { NodeAPI } from 'node-red';
import webformInNode from '../nodes/webform-in/webform-in';
import { hmacHex, verifyHmac } from '../lib/webform/auth';
import { decodeForm } from '../lib/webform/form-decode';
import { normaliseRemotePost } from '../lib/webform/normalise';

const RUNS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6;

function body(i: number, attachment = 0): Record<string, unknown> {
  const b: Record<string, unknown> = {
    sid: String(i),
    uuid: `0f8fad5b-d9cb-469f-a165-${String(i).padStart(12, '0')}`,
    webform_id: 'bench',
    created: '1763798400',
    langcode: 'da',
    ansoeger_fornavn: 'Åse',
    ansoeger_efternavn: 'Sørensen',
    beskrivelse: 'tandlæge på Nørrebro '.repeat(20),
  };
  if (attachment)
    b._bilag = { id: '1', name: 'bilag.pdf', uri: 'private://bilag.pdf', mime: 'application/pdf', data: Buffer.alloc(attachment, 7).toString('base64') };
  return b;
}

function post(port: number, text: string, secret: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/bench', method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-signature': hmacHex(text, secret) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}
const agent = new http.Agent({ keepAlive: true });

async function main(): Promise<void> {
  helper.init(require.resolve('node-red'));
  const rows: [string, number, string][] = [];
  const form = new URLSearchParams();
  for (let i = 0; i < 200; i++) form.append(`felt_${i}[${i % 3}][navn]`, `værdi ${i}`);
  const formText = form.toString();
  const big = Buffer.from(JSON.stringify(body(1, 15 * 1024 * 1024)));
  const small = JSON.stringify(body(1));

  const per = (fn: () => void, n: number) => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    return ms(t) / n;
  };
  rows.push(['decode form-encoded body, 200 bracket fields', median(Array.from({ length: RUNS }, () => per(() => decodeForm(formText), 200))), 'ms/body']);
  rows.push([
    'normalise small JSON submission',
    median(Array.from({ length: RUNS }, () => per(() => normaliseRemotePost(JSON.parse(small)), 2000))),
    'ms/submission',
  ]);
  const sig = hmacHex(big, 'k');
  rows.push([
    `HMAC-SHA256 verify of ${(big.length / 1048576).toFixed(0)} MB body`,
    median(Array.from({ length: RUNS }, () => per(() => verifyHmac(big, sig, 'k'), 3))),
    'ms',
  ]);
  rows.push([
    `JSON.parse + normalise of ${(big.length / 1048576).toFixed(0)} MB body (base64 → Buffer)`,
    median(Array.from({ length: RUNS }, () => per(() => normaliseRemotePost(JSON.parse(big.toString('utf8'))), 2))),
    'ms',
  ]);

  let RED!: NodeAPI;
  await helper.load(
    (r: NodeAPI) => ((RED = r), webformInNode(r)),
    [
      { id: 'w', type: 'os2-webform-in', mode: 'push', path: '/bench', auth: 'hmac', hmacHeader: 'x-signature', maxBodyMb: 40, wires: [['o']] },
      { id: 'o', type: 'helper' },
    ] as never,
    { w: { secret: 'k' } },
  );
  const server = http.createServer(RED.httpNode as never);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const N = 300;
    const rates: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const t = process.hrtime.bigint();
      for (let i = 0; i < N; i++) if ((await post(port, JSON.stringify(body(i)), 'k')) !== 202) throw new Error('not 202');
      rates.push(N / (ms(t) / 1000));
    }
    rows.push(['push through the node, small JSON, one at a time (HMAC)', median(rates), 'submissions/s']);
    const bigText = big.toString('utf8');
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const t = process.hrtime.bigint();
      if ((await post(port, bigText, 'k')) !== 202) throw new Error('not 202');
      times.push(ms(t));
    }
    rows.push([`push through the node, ${(big.length / 1048576).toFixed(0)} MB JSON with a 15 MB attachment`, median(times), 'ms']);
  } finally {
    agent.destroy();
    server.close();
    await helper.unload();
  }
  console.log('| measure | median | unit |\n|---|---:|---|');
  for (const [m, v, u] of rows) console.log(`| ${m} | ${v < 10 ? v.toFixed(3) : v.toFixed(0)} | ${u} |`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
