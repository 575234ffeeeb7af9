/**
 * The approve node's page at volume: 10,000 items waiting in one queue of an embedded (SQLite) ledger, as a busy
 * municipality might leave them over a holiday. Measured in one run:
 *  - the list page: one page of 50 (oldest first) + the total + the HTML, through the Approvals store and page code;
 *  - a decision: Approvals.decide (read the item, check, write the decision durably);
 *  - the same list and count as raw better-sqlite3 statements on the same database (no ledger layer), for the ratio.
 * Target (issue 14): the list under 200 ms, a decision under 50 ms. Medians of 50 runs; ratio = ours / raw.
 * Run: node --import tsx bench/approve.bench.ts
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { Approvals } from '../lib/approval/approvals';
import { listPage } from '../lib/approval/page';
import { parseFields } from '../lib/approval/view';
import { SqliteLedger } from '../lib/ledger/sqlite-ledger';

const N = 10_000;
const RUNS = 50;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-approve-bench-'));
  const ledger = new SqliteLedger(dir);
  const file = ledger.file;
  const fields = parseFields('Navn = payload.data.navn\nCPR-nummer = payload.data.cpr\n*Postnummer = payload.data.postnr ~ ^[0-9]{4}$');
  const approvals = new Approvals(
    ledger,
    { queue: 'q', deadlineMs: 30 * 86_400_000, remindBeforeMs: 0, fields, titleTemplate: 'Ansøgning fra {{payload.data.navn}}', showCpr: false },
    { owner: 'bench', events: { outcome: () => {}, reminder: () => {}, error: (e) => console.error(e) } },
  );
  const t0 = performance.now();
  const ids: string[] = [];
  const batch: Promise<unknown>[] = [];
  for (let i = 0; i < N; i++) {
    const msg = {
      _msgid: `m${i}`,
      payload: { data: { navn: `Borger ${i}`, cpr: '010170-1234', postnr: '8000', tekst: 'x'.repeat(1500) }, files: [{ name: 'bilag.pdf', size: 120_000 }] },
    };
    batch.push(approvals.arrive(msg).then((r) => ids.push(r.id)));
    if (batch.length === 500) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
  console.log(`filled ${N} waiting items (3 KB messages) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const ours: number[] = [];
  const raw: number[] = [];
  const offsets = Array.from({ length: RUNS }, (_, r) => (r % 20) * 50 * 10); // pages spread over the list
  for (const offset of offsets) {
    const t = performance.now();
    const filter = { queue: 'q', state: 'waiting' as const };
    const [items, total] = await Promise.all([ledger.listApprovals({ ...filter, limit: 50, offset }), ledger.countApprovals(filter)]);
    const html = listPage({ lang: 'da', base: '/godkend', user: 'u', csrf: 'c', items, total, page: offset / 50 + 1, pageSize: 50 });
    ours.push(performance.now() - t);
    if (!html.includes('Borger')) throw new Error('the page lists nothing');
  }
  const decisions: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    await approvals.decide(ids[r * 7]!, 'sagsbehandler', { decision: r % 2 ? 'approve' : 'reject', reason: 'bench' });
    decisions.push(performance.now() - t);
  }
  approvals.stop();
  await ledger.close(); // the ledger holds its file exclusively: the raw side reads it after
  const db = new Database(file, { readonly: true });
  const rawList = db.prepare(
    "SELECT id, title, created_at, deadline_at, view FROM approvals WHERE queue = ? AND state = 'waiting' ORDER BY created_at, id LIMIT 50 OFFSET ?",
  );
  const rawCount = db.prepare("SELECT count(*) AS n FROM approvals WHERE queue = ? AND state = 'waiting'");
  for (const offset of offsets) {
    const t = performance.now();
    const rows = rawList.all('q', offset) as Array<{ view: string }>;
    for (const row of rows) JSON.parse(row.view);
    rawCount.get('q');
    raw.push(performance.now() - t);
  }
  console.log('| measure | median ms | p95 ms | target |');
  console.log('|---|---|---|---|');
  console.log(`| list page (50 of ${N} + total + HTML) | ${median(ours).toFixed(2)} | ${pct(ours, 0.95).toFixed(2)} | < 200 |`);
  console.log(`| raw better-sqlite3 (same list + count) | ${median(raw).toFixed(2)} | ${pct(raw, 0.95).toFixed(2)} | |`);
  console.log(`| ratio list ours / raw | ${(median(ours) / median(raw)).toFixed(2)} | | |`);
  console.log(`| decision (read, check, durable write) | ${median(decisions).toFixed(2)} | ${pct(decisions, 0.95).toFixed(2)} | < 50 |`);
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

void main();
