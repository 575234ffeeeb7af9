// receipt in, SFTP mode, against the real OpenSSH sshd: receipt files in IN are correlated, emitted on the right output,
// archived (or deleted) and never read twice; receipts fordeling out is waiting for are left to it.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { randomUUID } from 'crypto';
import helper from 'node-red-node-test-helper';
import { createSimulator, type Simulator } from '../../simulator';
import { startSftpSimulator, type SftpSimulator } from '../../simulator/sftp';
import { sshdUnavailableReason } from '../support/sshd';
import { testCerts, type SimulatorCerts } from '../support/certs';
import { formular } from '../lib/sf2900/fixtures';
import { defaultLedger } from '../../lib/ledger/default-ledger';
import { buildTechnicalReceipt, SFTP_NS } from '../../lib/sftp';
import { sendersFileIdFor, sftpMetaOf, type SftpFileRecord } from '../../lib/delivery/sftp-files';
import { safeSftpName } from '../../lib/sftp';
import sftpNode from '../../nodes/sftp/sftp';
import { NODES, collect, sleep, until } from './harness';
import { serviceplatformNode } from '../support/platform';
import { receipts as receiptCounter } from '../../lib/ops/metrics';

/** os2_receipts_total for the SFTP receipts, by code (the in-process registry the nodes count in). */
async function sftpReceiptCounts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await receiptCounter.get()).values) if (v.labels.type === 'SFTP') out[String(v.labels.code)] = v.value;
  return out;
}

type Node = { id: string; type: string; [k: string]: unknown };
const skipReason = sshdUnavailableReason();

describe('receipt in, SFTP mode (real sshd)', function () {
  this.timeout(60_000);
  if (skipReason) {
    it.skip(`SKIPPED: ${skipReason}`);
    return;
  }
  let sftp: SftpSimulator;
  let certs: SimulatorCerts;
  let sim: Simulator;
  before(async () => {
    certs = await testCerts();
    sim = await createSimulator({ certs });
    sftp = await startSftpSimulator({ intervalMs: 50 });
  });
  after(async () => {
    await sftp?.stop();
    await sim?.close();
  });
  afterEach(async () => {
    await helper.unload();
    for (const d of [sftp.sshd.inDir, path.join(sftp.sshd.inDir, 'archive')]) {
      if (!fs.existsSync(d)) continue;
      for (const f of fs.readdirSync(d)) if (f !== 'archive') fs.rmSync(path.join(d, f), { force: true });
    }
  });

  const load = async (over: Record<string, unknown> = {}, extra: Node[] = []) => {
    const s = sftp.settings;
    const flow: Node[] = [
      { id: 't', type: 'tab' },
      {
        id: 'sf',
        type: 'os2-sftp',
        host: s.host,
        port: s.port,
        username: s.username,
        hostKeyFingerprint: s.hostKeyFingerprint,
        outDir: 'OUT',
        inDir: 'IN',
        receiptTimeout: 30,
        pollInterval: 0.1,
      },
      { id: 'ri', z: 't', type: 'os2-receipt-in', mode: 'sftp', sftp: 'sf', sftpInterval: 0.1, sftpGrace: 5, ...over, wires: [['acc'], ['rej'], ['unk']] },
      { id: 'acc', z: 't', type: 'helper' },
      { id: 'rej', z: 't', type: 'helper' },
      { id: 'unk', z: 't', type: 'helper' },
      ...extra,
    ];
    await helper.load([...NODES, sftpNode], flow, { sf: { privateKey: s.privateKey } });
  };

  /** A shipment fordeling out recorded, with the given SFTP file records. */
  const shipment = async (state: 'failed' | 'sending' | 'sent', files: Array<Partial<SftpFileRecord>>) => {
    const transactionId = randomUUID();
    const sub = randomUUID();
    const recs = files.map((f, index) => ({
      index,
      sftpName: safeSftpName(sub, index, `f${index}.pdf`),
      sendersFileId: sendersFileIdFor(transactionId, index),
      status: 'failed',
      at: new Date().toISOString(),
      ...f,
    }));
    await defaultLedger().createShipment({ transactionId, submissionId: sub, state, meta: { sftp: { files: recs } } });
    // as fordeling out's SFTP stage records them (lib/delivery/sftp-files.ts)
    await defaultLedger().addFileKeys(
      transactionId,
      recs.flatMap((r) => [r.sftpName as string, ...(r.fileTransferUuid ? [r.fileTransferUuid] : [])]),
    );
    return { transactionId, names: recs.map((r) => r.sftpName as string), ids: recs.map((r) => r.sendersFileId) };
  };

  /** Writes a receipt file into IN (as the platform would), `ageS` seconds old. */
  const put = (name: string, xml: string, ageS = 600) => {
    const p = path.join(sftp.sshd.inDir, name);
    fs.writeFileSync(p, xml, { mode: 0o666 });
    const t = new Date(Date.now() - ageS * 1000);
    fs.utimesSync(p, t, t);
  };
  const business = (o: { uuid?: string; fileName: string; acceptance: string; reason?: string }) =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<sftp:BusinessReceipt xmlns:sftp="${SFTP_NS}"><FileTransferUUID>${o.uuid ?? randomUUID()}</FileTransferUUID>` +
    `<Filename>${o.fileName}</Filename><Recipient>KOMBIT_ESDH</Recipient><FileAcceptance>${o.acceptance}</FileAcceptance>${o.reason ? `<Reason>${o.reason}</Reason>` : ''}</sftp:BusinessReceipt>\n`;
  const inFiles = () => fs.readdirSync(sftp.sshd.inDir).filter((f) => f !== 'archive');
  const archived = () => (fs.existsSync(path.join(sftp.sshd.inDir, 'archive')) ? fs.readdirSync(path.join(sftp.sshd.inDir, 'archive')) : []);

  it('a late error TechnicalReceipt: output 2 with the reason, stored with the shipment, archived, never emitted twice', async () => {
    const s = await shipment('failed', [{}]);
    const xml = buildTechnicalReceipt({
      fileTransferUuid: randomUUID(),
      sendersFileId: s.ids[0],
      errors: [{ code: 102, codeDescription: 'Size mismatch', description: 'the file has 3 bytes, the trigger says 4' }],
    });
    put(`${s.names[0]}.sftpreceipt`, xml);
    await load();
    const out = collect(['acc', 'rej', 'unk']);
    await until(() => out.rej.length === 1, 10_000, 'the receipt on output 2');
    const msg = out.rej[0] as Record<string, any>;
    assert.equal(msg.transactionId, s.transactionId);
    assert.equal(msg.receipt.type, 'SFTP TechnicalReceipt');
    assert.equal(msg.receipt.code, 'ERROR');
    assert.match(msg.receipt.reason, /102 Size mismatch: the file has 3 bytes/);
    assert.equal(msg.sftp.sftpName, s.names[0]);
    assert.deepEqual(inFiles(), [], 'taken out of IN');
    assert.deepEqual(archived(), [`${s.names[0]}.sftpreceipt`]);
    const receipts = await defaultLedger().listReceipts(s.transactionId);
    assert.deepEqual(
      receipts.map((r) => [r.type, r.code]),
      [['SFTP TechnicalReceipt', 'ERROR']],
    );
    // The same file again (e.g. archiving failed after recording): recorded before → not emitted again.
    put(`${s.names[0]}.sftpreceipt`, xml);
    await until(() => inFiles().length === 0, 10_000, 'the copy disposed of');
    await sleep(300);
    assert.equal(out.rej.length + out.acc.length + out.unk.length, 1, 'emitted once');
  });

  it('BusinessReceipts: ACCEPTED → output 1, REJECTED → output 2 (by Filename), deleted when so set; the file record notes them', async () => {
    const s = await shipment('sent', [{ status: 'acknowledged' }, { status: 'acknowledged' }]);
    put('br-1.xml', business({ fileName: s.names[0], acceptance: 'ACCEPTED' }), 0);
    put('br-2.xml', business({ fileName: s.names[1], acceptance: 'REJECTED', reason: 'Ukendt sag' }), 0);
    const counted = await sftpReceiptCounts();
    await load({ sftpDisposal: 'delete' });
    const out = collect(['acc', 'rej', 'unk']);
    await until(() => out.acc.length === 1 && out.rej.length === 1, 10_000, 'both receipts');
    const now = await sftpReceiptCounts();
    const moved = (code: string) => (now[code] ?? 0) - (counted[code] ?? 0);
    assert.deepEqual([moved('ACCEPTED'), moved('REJECTED')], [1, 1], 'os2_receipts_total{type="SFTP"} counts each business receipt once');
    assert.equal((out.acc[0] as any).receipt.code, 'ACCEPTED');
    assert.equal((out.rej[0] as any).receipt.reason, 'REJECTED: Ukendt sag');
    assert.equal((out.rej[0] as any).transactionId, s.transactionId);
    assert.deepEqual(inFiles(), []);
    assert.deepEqual(archived(), [], 'deleted, not archived');
    const files = sftpMetaOf(await defaultLedger().getShipment(s.transactionId)).files;
    assert.deepEqual(
      files.map((f) => f.business?.acceptance),
      ['ACCEPTED', 'REJECTED'],
    );
  });

  it('a receipt for no known shipment goes to output 3; files that are not receipts are left alone', async () => {
    put(`${safeSftpName(randomUUID(), 0, 'x.pdf')}.sftpreceipt`, buildTechnicalReceipt({ fileTransferUuid: randomUUID() }));
    put('indgaaende.xml', '<?xml version="1.0"?><Noget><Andet/></Noget>');
    await load();
    const out = collect(['acc', 'rej', 'unk']);
    await until(() => out.unk.length === 1, 10_000, 'output 3');
    assert.equal((out.unk[0] as any).receipt.code, 'SUCCESS');
    await sleep(400);
    assert.deepEqual(inFiles(), ['indgaaende.xml'], 'the non-receipt stays in IN');
    assert.equal(out.acc.length + out.rej.length, 0);
  });

  it('leaves technical receipts fordeling out waits for: younger than the grace period, or of a shipment still sending', async () => {
    const sending = await shipment('sending', [{}]);
    const failed = await shipment('failed', [{}]);
    put(`${sending.names[0]}.sftpreceipt`, buildTechnicalReceipt({ fileTransferUuid: randomUUID(), sendersFileId: sending.ids[0] }));
    put(`${failed.names[0]}.sftpreceipt`, buildTechnicalReceipt({ fileTransferUuid: randomUUID(), sendersFileId: failed.ids[0] }), 1);
    await load({ sftpGrace: 3 });
    const out = collect(['acc', 'rej', 'unk']);
    await sleep(1000);
    assert.equal(out.acc.length, 0, 'nothing taken yet');
    assert.equal(inFiles().length, 2);
    await until(() => out.acc.length === 1, 10_000, 'the young receipt once past the grace period');
    assert.equal((out.acc[0] as any).transactionId, failed.transactionId);
    await sleep(400);
    assert.deepEqual(inFiles(), [`${sending.names[0]}.sftpreceipt`], 'the sending shipment’s receipt is left for fordeling out');
    const rec = sftpMetaOf(await defaultLedger().getShipment(failed.transactionId)).files[0];
    assert.equal(rec.status, 'acknowledged', 'a late SUCCESS marks the file acknowledged (a resend skips it)');
  });

  it('SFTP mode without an SFTP configuration reports one clear error', async () => {
    await load({ sftp: '' });
    const errors = helper
      .log()
      .args.map((a: Array<{ level: number; msg: unknown }>) => a[0])
      .filter((e: { level: number }) => e.level === 20) // Node-RED's log level ERROR
      .map((e: { msg: unknown }) => String(e.msg));
    assert.ok(errors.includes('receipt in: SFTP mode needs an SFTP configuration'), JSON.stringify(errors));
  });

  it('with fordeling out sharing IN and no grace period, fordeling out still gets every receipt it waits for', async () => {
    const fo: Node[] = [
      { id: 'c1', type: 'os2-certificate' },
      serviceplatformNode(sim, certs, { timeout: '10' }),
      { id: 'fo', z: 't', type: 'os2-fordeling-out', serviceplatform: 'sp', sftp: 'sf', wires: [['ok'], ['failed']] },
      { id: 'ok', z: 't', type: 'helper' },
      { id: 'failed', z: 't', type: 'helper' },
    ];
    const s = sftp.settings;
    const flow: Node[] = [
      { id: 't', type: 'tab' },
      {
        id: 'sf',
        type: 'os2-sftp',
        host: s.host,
        port: s.port,
        username: s.username,
        hostKeyFingerprint: s.hostKeyFingerprint,
        outDir: 'OUT',
        inDir: 'IN',
        receiptTimeout: 30,
        pollInterval: 0.3,
      },
      { id: 'ri', z: 't', type: 'os2-receipt-in', mode: 'sftp', sftp: 'sf', sftpInterval: 0.1, sftpGrace: 0, wires: [['acc'], ['rej'], ['unk']] },
      { id: 'acc', z: 't', type: 'helper' },
      { id: 'rej', z: 't', type: 'helper' },
      { id: 'unk', z: 't', type: 'helper' },
      ...fo,
    ];
    await helper.load([...NODES, sftpNode], flow, {
      sf: { privateKey: s.privateKey },
      c1: { keyPem: certs.client.key, certPem: certs.client.cert },
      sp: { ca: certs.ca.cert },
    });
    const technicalBefore = (await sftpReceiptCounts()).SUCCESS ?? 0;
    const out = collect(['acc', 'rej', 'unk', 'ok', 'failed']);
    for (let i = 0; i < 3; i++) {
      const o = formular();
      o.submissionId = randomUUID();
      o.fileSpecification = 'HelbredstillægAnsøgningBilag_1';
      o.files = [0, 1].map((k) => ({ name: `bilag ${k}.pdf`, content: Buffer.from(`%PDF-1.4 ${i}/${k}`) }));
      helper.getNode('fo').receive({ payload: o } as never);
    }
    await until(() => out.ok.length + out.failed.length === 3, 30_000, 'three deliveries');
    assert.equal(out.failed.length, 0, JSON.stringify(out.failed[0]?.error));
    const technical = ((await sftpReceiptCounts()).SUCCESS ?? 0) - technicalBefore;
    assert.equal(technical, 6, "each file's TechnicalReceipt, taken by fordeling out, is counted once");
    assert.equal(out.acc.length + out.rej.length + out.unk.length, 0, 'receipt in took none of them');
  });
});
