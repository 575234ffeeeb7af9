/**
 * Signing and verification against the raw operation under them, in one run (issue 16's targets):
 * - enveloped signing of a ~2.8 KB request ÷ raw `crypto.sign` (RSA-2048, SHA-256) of the same bytes: ≤ 3×;
 * - WS-Security signing of a SOAP envelope with 8 references ÷ raw `crypto.sign`;
 * - WS-Security verification (pinned certificate, 8 references: Body, Timestamp, token, 4 WS-Addressing headers and
 *   the liberty Framework header): ≤ 5 ms, and ÷ raw `crypto.verify`.
 * Each figure is the median of RUNS runs of N operations, µs per operation.
 * Run: node --import tsx bench/crypto.bench.ts
 */
import { createPrivateKey, createPublicKey, sign as rawSign, verify as rawVerify } from 'node:crypto';
import { loadavg } from 'node:os';
import { Signer } from '../lib/signing/sign';
import { verifyXmlSignature } from '../lib/signing/verify';
import { parsePins } from '../lib/signing/keys';
import { makeTestKey, removeTestKeys } from '../test/lib/signing/test-keys';

const N = Number(process.env.CRYPTO_N ?? 300);
const RUNS = 5;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// A FordelingsobjektAfsend-sized document: ~2.8 KB.
const REQUEST = `<Fordeling xmlns="urn:example:fordeling">${Array.from({ length: 40 }, (_, i) => `<Felt nr="${i}">Værdi ${i} for ansøgningen æøå</Felt>`).join('')}</Fordeling>`;
const WSA = 'http://www.w3.org/2005/08/addressing';
const ENVELOPE =
  `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsa="${WSA}">` +
  '<soap:Header><wsa:Action>http://serviceplatformen.dk/xml/wsdl/soap11/DistributionService/3/port/FordelingsobjektAfsend</wsa:Action>' +
  '<wsa:MessageID>urn:uuid:6f0c2a4e-2c8e-4b1e-9a57-0d5f6e7a8b9c</wsa:MessageID><wsa:To>https://localhost/service/SP/Distribution/3</wsa:To>' +
  '<wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address></wsa:ReplyTo>' +
  '<liberty:Framework xmlns:liberty="urn:liberty:sb:2006-08" liberty:profile="urn:liberty:sb:profile:basic" liberty:version="2.0"/></soap:Header>' +
  `<soap:Body>${REQUEST}</soap:Body></soap:Envelope>`;

function perOp(fn: () => unknown): number {
  for (let i = 0; i < 20; i++) fn(); // warm-up
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) fn();
    runs.push(Number(process.hrtime.bigint() - t0) / 1e3 / N);
  }
  return median(runs);
}

function main(): void {
  const key = makeTestKey('bench signer', 30);
  try {
    const signer = new Signer(key);
    const priv = createPrivateKey(key.keyPem);
    const pub = createPublicKey(key.certPem);
    const bytes = Buffer.from(REQUEST);
    const pins = parsePins(key.certPem);
    const ws = signer.signSync({ mode: 'wssecurity', xml: ENVELOPE, extraHeaders: ['Framework'], signToken: true });
    const refs = (ws.match(/<ds:Reference /g) ?? []).length;
    const check = verifyXmlSignature(ws, { pins, requiredHeaders: ['Framework'] });
    if (!check.valid) throw new Error(`the bench's own envelope does not verify: ${check.reason}`);
    const signature = rawSign('sha256', bytes, priv);
    const load0 = loadavg()[0]!;
    const raw = perOp(() => rawSign('sha256', bytes, priv));
    const rawV = perOp(() => rawVerify('sha256', bytes, pub, signature));
    const env = perOp(() => signer.signSync({ mode: 'enveloped', xml: REQUEST }));
    const wss = perOp(() => signer.signSync({ mode: 'wssecurity', xml: ENVELOPE, extraHeaders: ['Framework'], signToken: true }));
    const ver = perOp(() => verifyXmlSignature(ws, { pins, requiredHeaders: ['Framework'] }));
    const rows: Array<[string, number, number, string]> = [
      [`raw crypto.sign, RSA-2048 SHA-256, ${bytes.length} bytes`, raw, 1, ''],
      [`enveloped signature of the same ${bytes.length}-byte document`, env, env / raw, '≤ 3×'],
      [`WS-Security signature, ${refs} references (${ENVELOPE.length} bytes)`, wss, wss / raw, ''],
      ['raw crypto.verify of the same bytes', rawV, 1, ''],
      [`WS-Security verification, ${refs} references, pinned certificate`, ver, ver / rawV, '≤ 5 ms'],
    ];
    console.log(`Node ${process.version}; ${N} operations × ${RUNS} runs, median; 1-min load ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}\n`);
    console.log('| case | µs per operation | × raw | target |');
    console.log('|---|---:|---:|---|');
    for (const [name, us, ratio, target] of rows) console.log(`| ${name} | ${us.toFixed(0)} | ${ratio.toFixed(2)} | ${target} |`);
  } finally {
    removeTestKeys();
  }
}

main();
