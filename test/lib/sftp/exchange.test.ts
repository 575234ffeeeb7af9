/** The SFTP exchange against a real OpenSSH sshd on loopback, answered by the simulator's watcher. */
import assert from 'assert';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import { startSshd, sshdUnavailableReason, type SshdHandle } from '../../support/sshd';
import { SftpWatcher, ERR_INVALID_TRIGGER } from '../../../simulator/sftp/watcher';
import { loadXsd } from '../../../lib/xml/xsd';
import {
  HostKeyMismatchError,
  SftpConnection,
  SftpReceiptError,
  safeSftpName,
  uploadWithTrigger,
  uploadAtomically,
  waitForReceipt,
  writeTrigger,
  listReceiptFiles,
  readReceipt,
  disposeReceipt,
  sftpNameOfReceipt,
  buildTechnicalReceipt,
  type SftpFolders,
  type UploadRouting,
} from '../../../lib/sftp';

const SUB = '7d0c9b8a-1234-4abc-8def-0123456789ab';
const folders: SftpFolders = { out: 'OUT', in: 'IN' };
const fast = { intervalMs: 50, timeoutMs: 10_000 };

function routing(infRef = 'HelbredstillægAnsøgningBilag_1'): UploadRouting {
  return {
    sender: 'OS2Forms_FordelingUdvikling',
    infRef,
    senderSystemUuid: 'a1b2c3d4-0000-4000-8000-000000000001',
    senderCvr: '29189846',
    transactionId: '0f6c5a3e-1111-4222-8333-444455556666',
    recipientCvr: '14814833',
  };
}

/** A Readable of `size` pseudo-random bytes in 64 KiB chunks; calls onBytes after each chunk. */
function generated(size: number, seed: number, onBytes?: (sent: number) => void): Readable {
  let sent = 0;
  const chunk = Buffer.alloc(64 * 1024);
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(chunk.length, size - sent);
      for (let i = 0; i < n; i += 4) chunk.writeUInt32LE((seed * 2654435761 + sent + i) >>> 0, i);
      sent += n;
      this.push(Buffer.from(chunk.subarray(0, n)));
      onBytes?.(sent);
    },
  });
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

const skipReason = sshdUnavailableReason();

describe('lib/sftp exchange against a real sshd', function () {
  this.timeout(60_000);
  if (skipReason) {
    it.skip(`SKIPPED: ${skipReason}`);
    return;
  }

  let sshd: SshdHandle;
  let watcher: SftpWatcher;
  let delivered: string;
  let conn: SftpConnection;
  let tmp: string;
  let refused = new Set<string>();

  before(async () => {
    sshd = await startSshd();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-sftp-test-'));
  });
  after(async () => {
    await sshd?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });
  beforeEach(async () => {
    delivered = fs.mkdtempSync(path.join(tmp, 'delivered-'));
    refused = new Set();
    watcher = new SftpWatcher({
      outDir: sshd.outDir,
      inDir: sshd.inDir,
      deliveredDir: delivered,
      intervalMs: 20,
      refuseInfRef: (i) => (refused.has(i) ? `InfRef ${i} er ikke kendt for afsender` : undefined),
    });
    await watcher.start();
    conn = new SftpConnection({
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      privateKey: sshd.privateKeyPem,
      hostKeyFingerprint: sshd.hostKeyFingerprint,
      retryDelayMs: 50,
    });
  });
  afterEach(async () => {
    await conn.close();
    await watcher.stop();
    for (const d of [sshd.outDir, sshd.inDir]) for (const n of fs.readdirSync(d)) fs.rmSync(path.join(d, n), { recursive: true, force: true });
  });

  it('uploads a 20 MB file, triggers it, and gets a SUCCESS receipt (archived, not left in IN)', async () => {
    const local = path.join(tmp, 'big.bin');
    await new Promise<void>((resolve, reject) =>
      generated(20 * 1024 * 1024, 1)
        .pipe(fs.createWriteStream(local))
        .on('finish', resolve)
        .on('error', reject),
    );
    const sftpName = safeSftpName(SUB, 0, 'Stort bilag æøå.pdf');
    const r = await uploadWithTrigger(conn, folders, { source: { path: local }, sftpName, sendersFileId: 'file-42' }, routing(), fast);
    assert.strictEqual(r.sizeInBytes, 20 * 1024 * 1024);
    assert.strictEqual(r.receipt.success, true);
    assert.strictEqual(r.receipt.message, 'SUCCESS');
    assert.strictEqual(r.receipt.sendersFileId, 'file-42');
    assert.strictEqual(sha256(path.join(delivered, sftpName)), sha256(local), 'the platform got the same bytes');
    assert.strictEqual(watcher.events.length, 1);
    assert.ok(watcher.events[0].ok, JSON.stringify(watcher.events[0].errors));
    assert.ok(!fs.existsSync(path.join(sshd.inDir, `${sftpName}.sftpreceipt`)), 'receipt taken out of IN');
    assert.ok(fs.existsSync(path.join(sshd.inDir, 'archive', `${sftpName}.sftpreceipt`)), 'receipt archived');
    assert.deepStrictEqual(fs.readdirSync(sshd.outDir), [], 'no temporary file left in OUT');
  });

  it('ships three attachments over one connection, each with its own trigger and receipt', async () => {
    const names = ['Lægeerklæring.pdf', 'Lønseddel.pdf', 'Billede af kvittering.jpg'];
    const results = [];
    for (const [i, n] of names.entries()) {
      results.push(await uploadWithTrigger(conn, folders, { source: Buffer.from(`content ${i}`), sftpName: safeSftpName(SUB, i, n) }, routing(), fast));
    }
    assert.deepStrictEqual(
      results.map((r) => r.receipt.success),
      [true, true, true],
    );
    assert.strictEqual(new Set(results.map((r) => r.sftpName)).size, 3);
    assert.deepStrictEqual(watcher.events.map((e) => e.fileName).sort(), results.map((r) => r.sftpName).sort());
    assert.strictEqual(conn.connects, 1, 'the connection is reused');
    for (const [i, r] of results.entries()) assert.strictEqual(fs.readFileSync(path.join(delivered, r.sftpName), 'utf8'), `content ${i}`);
  });

  it('every trigger written validates against SFTPTypes.xsd', async () => {
    const schema = await loadXsd(path.join(process.env.SF2900_CONTRACT_DIR!, 'sftp', 'SFTPTypes.xsd'));
    const r = routing();
    r.recipientSystemUuid = 'b2c3d4e5-0000-4000-8000-000000000002';
    r.routeParameters = { selectionDate: '2026-11-22' };
    await uploadWithTrigger(conn, folders, { source: Buffer.from('x'), sftpName: safeSftpName(SUB, 0, 'a.pdf') }, r, fast);
    await uploadWithTrigger(conn, folders, { source: Buffer.from('y'), sftpName: safeSftpName(SUB, 1, 'b.pdf'), sendersFileId: 'id' }, routing(), fast);
    assert.strictEqual(watcher.events.length, 2);
    for (const e of watcher.events) assert.deepStrictEqual(schema.validate(e.triggerXml).errors, []);
  });

  it("an error receipt fails the upload with the platform's reason", async () => {
    refused.add('UkendtBilag_1');
    const sftpName = safeSftpName(SUB, 0, 'bilag.pdf');
    await assert.rejects(uploadWithTrigger(conn, folders, { source: Buffer.from('x'), sftpName }, routing('UkendtBilag_1'), fast), (err: unknown) => {
      assert.ok(err instanceof SftpReceiptError);
      assert.match(err.message, /104 Unknown file specification: InfRef UkendtBilag_1 er ikke kendt for afsender/);
      assert.strictEqual(err.sftpName, sftpName);
      assert.strictEqual(err.receipt?.success, false);
      assert.strictEqual(err.reason, 'error-receipt');
      return true;
    });
  });

  it('a schema-invalid trigger gets an ErrorMessage receipt', async () => {
    const sftpName = safeSftpName(SUB, 0, 'bilag.pdf');
    await uploadAtomically(conn, Buffer.from('abc'), 'OUT', sftpName);
    await writeTrigger(conn, 'OUT', sftpName, '<Trigger xmlns="http://serviceplatformen.dk/xml/wsdl/soap11/SFTP/1/types"><FileDescriptor/></Trigger>');
    const receipt = await waitForReceipt(conn, folders, sftpName, fast);
    assert.strictEqual(receipt.success, false);
    assert.strictEqual(receipt.errors[0].code, ERR_INVALID_TRIGGER);
    assert.match(receipt.errors[0].description, /FileDescriptor/);
  });

  it('refuses a server whose host key does not match, naming both fingerprints', async () => {
    const wrong = 'SHA256:' + 'A'.repeat(43);
    const bad = new SftpConnection({ host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKeyPem, hostKeyFingerprint: wrong });
    try {
      await assert.rejects(
        bad.run((c) => c.list('OUT')),
        (err: unknown) => {
          assert.ok(err instanceof HostKeyMismatchError);
          assert.ok(err.message.includes(wrong), err.message);
          assert.ok(err.message.includes(sshd.hostKeyFingerprint), err.message);
          return true;
        },
      );
    } finally {
      await bad.close();
    }
  });

  it('a connection dropped mid-upload is re-established and the upload retried; no partial file is ever triggered', async () => {
    const size = 12 * 1024 * 1024;
    let drops = 0;
    let opens = 0;
    const source = {
      open: () => {
        opens++;
        return generated(size, 7, (sent) => {
          if (drops === 0 && sent >= 4 * 1024 * 1024) {
            drops++;
            sshd.dropConnections();
          }
        });
      },
    };
    const sftpName = safeSftpName(SUB, 0, 'afbrudt.bin');
    const r = await uploadWithTrigger(conn, folders, { source, sftpName }, routing(), fast);
    assert.strictEqual(drops, 1);
    assert.ok(opens >= 2, `source opened ${opens} times`);
    assert.ok(conn.connects >= 2, 'reconnected');
    assert.strictEqual(r.receipt.success, true);
    assert.strictEqual(fs.statSync(path.join(delivered, sftpName)).size, size);
    assert.strictEqual(watcher.events.length, 1);
    assert.ok(watcher.events.every((e) => e.ok && e.sizeOnDisk === e.declaredSize && e.declaredSize === size));
  });

  it('a one-shot stream dropped mid-upload fails clearly and nothing is triggered', async () => {
    let dropped = false;
    const stream = generated(8 * 1024 * 1024, 3, (sent) => {
      if (!dropped && sent >= 2 * 1024 * 1024) {
        dropped = true;
        sshd.dropConnections();
      }
    });
    const sftpName = safeSftpName(SUB, 0, 'engang.bin');
    await assert.rejects(uploadWithTrigger(conn, folders, { source: stream, sftpName }, routing(), fast));
    await watcher.scan();
    assert.strictEqual(watcher.events.length, 0, 'no trigger seen');
    assert.ok(!fs.existsSync(path.join(sshd.outDir, sftpName)), 'no partial file under the final name');
    assert.ok(!fs.existsSync(path.join(sshd.outDir, `${sftpName}.trigger`)));
  });

  it('hostile file names land as plain files inside OUT and are delivered', async () => {
    const hostile = ['../../x', 'a\u0000b\u0007c\r\n.pdf', 'y'.repeat(300) + '.pdf', 'Ærø æblegrød på Åbenrå.pdf'];
    for (const [i, n] of hostile.entries()) {
      const r = await uploadWithTrigger(conn, folders, { source: Buffer.from(n), sftpName: safeSftpName(SUB, i, n) }, routing(), fast);
      assert.ok(r.receipt.success);
    }
    assert.strictEqual(watcher.events.length, 4);
    assert.ok(watcher.events.every((e) => e.ok));
    assert.deepStrictEqual(fs.readdirSync(sshd.root).sort(), ['IN', 'OUT'], 'nothing written outside OUT/IN');
    assert.strictEqual(fs.readdirSync(delivered).length, 8);
  });

  it('a missing receipt fails at the deadline with a clear message', async () => {
    await watcher.stop();
    const sftpName = safeSftpName(SUB, 0, 'stille.pdf');
    await assert.rejects(
      uploadWithTrigger(conn, folders, { source: Buffer.from('x'), sftpName }, routing(), { intervalMs: 50, timeoutMs: 400 }),
      (err: unknown) =>
        err instanceof SftpReceiptError && /no SFTP receipt for .* within 0\.4 s/.test(err.message) && !err.receipt && err.reason === 'no-receipt',
    );
    assert.ok(fs.existsSync(path.join(sshd.outDir, `${sftpName}.trigger`)), 'file and trigger are in OUT');
  });

  it('reconnects for the next operation after the connection was lost between operations', async () => {
    await conn.run((c) => c.list('OUT'));
    sshd.dropConnections();
    await new Promise((r) => setTimeout(r, 200));
    fs.writeFileSync(path.join(sshd.inDir, 'x.sftpreceipt'), '<x/>');
    const files = await listReceiptFiles(conn, folders);
    assert.deepStrictEqual(
      files.map((f) => f.name),
      ['x.sftpreceipt'],
    );
    assert.strictEqual(conn.connects, 2);
  });

  it('lists, reads, correlates and disposes of receipt files in IN (for receipt in)', async () => {
    const ns = 'http://serviceplatformen.dk/xml/wsdl/soap11/SFTP/1/types';
    const a = safeSftpName(SUB, 0, 'a.pdf');
    fs.writeFileSync(path.join(sshd.inDir, `${a}.sftpreceipt`), buildTechnicalReceipt({ fileTransferUuid: 'ft-a' }));
    fs.writeFileSync(
      path.join(sshd.inDir, 'br-1.xml'),
      `<BusinessReceipt xmlns="${ns}"><FileTransferUUID>ft-a</FileTransferUUID><Filename>${a}</Filename><Recipient>KP</Recipient><FileAcceptance>ACCEPTED</FileAcceptance></BusinessReceipt>`,
    );
    fs.writeFileSync(path.join(sshd.inDir, '.os2tmp-x.part'), 'partial');
    const files = await listReceiptFiles(conn, folders);
    assert.deepStrictEqual(files.map((f) => f.name).sort(), [`${a}.sftpreceipt`, 'br-1.xml'].sort());
    const tech = files.find((f) => f.name.endsWith('.sftpreceipt'))!;
    assert.strictEqual(sftpNameOfReceipt(tech.name), a);
    const { receipt } = await readReceipt(conn, tech.path);
    assert.strictEqual(receipt.kind === 'technical' && receipt.success, true);
    const br = await readReceipt(conn, 'IN/br-1.xml');
    assert.strictEqual(br.receipt.kind, 'business');
    await disposeReceipt(conn, folders, tech.name, 'archive');
    await disposeReceipt(conn, folders, 'br-1.xml', 'delete');
    assert.deepStrictEqual(
      (await listReceiptFiles(conn, folders)).map((f) => f.name),
      [],
    );
    assert.ok(fs.existsSync(path.join(sshd.inDir, 'archive', tech.name)));
  });

  it('the watcher survives a trigger it cannot answer and keeps answering others', async () => {
    const warnings: Error[] = [];
    watcher.on('error', (e: Error) => warnings.push(e));
    // A name so long that `<name>.sftpreceipt` cannot exist on the file system.
    const long = 'z'.repeat(250);
    fs.writeFileSync(path.join(sshd.outDir, `${long.slice(0, 247)}.trigger`), '<x/>');
    const r = await uploadWithTrigger(conn, folders, { source: Buffer.from('ok'), sftpName: safeSftpName(SUB, 0, 'ok.pdf') }, routing(), fast);
    assert.ok(r.receipt.success);
    assert.strictEqual(warnings.length, 1);
    assert.match(warnings[0].message, /could not answer/);
  });

  it('runs parallel callers one at a time on the one connection (no listener warnings, all files intact)', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    let active = 0;
    let maxActive = 0;
    try {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          conn.run(async (c) => {
            active++;
            maxActive = Math.max(maxActive, active);
            try {
              await c.put(Buffer.from(`file ${i}`), `OUT/p${i}.txt`);
            } finally {
              active--;
            }
          }),
        ),
      );
    } finally {
      process.removeListener('warning', onWarning);
    }
    assert.strictEqual(maxActive, 1);
    assert.deepStrictEqual(
      warnings.map((w) => w.name),
      [],
    );
    for (let i = 0; i < 20; i++) assert.strictEqual(fs.readFileSync(path.join(sshd.outDir, `p${i}.txt`), 'utf8'), `file ${i}`);
  });

  it('a closed connection refuses further work', async () => {
    await conn.run((c) => c.list('OUT'));
    await conn.close();
    await assert.rejects(
      conn.run((c) => c.list('OUT')),
      /SFTP connection is closed/,
    );
  });
});
