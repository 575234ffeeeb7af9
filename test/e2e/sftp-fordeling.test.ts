import { shipmentIdOf } from '../../lib/delivery/plan';
// fordeling out with files, against the real OpenSSH sshd + the simulator's SFTP watcher + the SOAP simulator:
// upload → trigger → TechnicalReceipt → FordelingsobjektAfsend (DokumentFilNavn / names in the form XML).
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import helper from 'node-red-node-test-helper';
import { createSimulator, type Simulator } from '../../simulator';
import { startSftpSimulator, type SftpSimulator } from '../../simulator/sftp';
import { sshdUnavailableReason } from '../support/sshd';
import { testCerts, type SimulatorCerts } from '../support/certs';
import { dokument, formular } from '../lib/sf2900/fixtures';
import { defaultLedger } from '../../lib/ledger/default-ledger';
import { loadXsd, type XsdSchema } from '../../lib/xml/xsd';
import { sftpMetaOf } from '../../lib/delivery/sftp-files';
import { buildTechnicalReceipt } from '../../lib/sftp';
import type { FordelingsObject } from '../../lib/sf2900/model';
import sftpNode from '../../nodes/sftp/sftp';
import mapNode from '../../nodes/map/map';
import siteNode from '../../nodes/os2forms-site/os2forms-site';
import * as http from 'http';
import type { AddressInfo } from 'net';
import { NODES, collect, nextMessage, until } from './harness';
import { serviceplatformNode } from '../support/platform';

const skipReason = sshdUnavailableReason();
const REFUSED_SPEC = 'UkendtFilspecifikation_9';
type Node = { id: string; type: string; [k: string]: unknown };

describe('fordeling out with files over SFTP (real sshd)', function () {
  this.timeout(120_000);
  if (skipReason) {
    it.skip(`SKIPPED: ${skipReason}`);
    return;
  }
  let certs: SimulatorCerts;
  let sim: Simulator;
  let sftp: SftpSimulator;
  let xsd: XsdSchema;
  let tmp: string;
  let delivered: string;
  let n = 0;

  before(async function () {
    certs = await testCerts();
    sim = await createSimulator({ certs });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-sftp-e2e-'));
    delivered = path.join(tmp, 'delivered');
    sftp = await startSftpSimulator({
      deliveredDir: delivered,
      intervalMs: 50,
      refuseInfRef: (r) => (r === REFUSED_SPEC ? `InfRef ${r} er ikke kendt af modtageren` : undefined),
    });
    fs.mkdirSync(path.join(sftp.sshd.root, 'NOWHERE'), { mode: 0o777 });
    fs.chmodSync(path.join(sftp.sshd.root, 'NOWHERE'), 0o777);
    xsd = await loadXsd(path.join(process.env.SF2900_CONTRACT_DIR as string, 'sftp', 'SFTPTypes.xsd'));
  });
  after(async () => {
    await sftp?.stop();
    await sim?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });
  afterEach(() => helper.unload());

  const fresh = <T extends FordelingsObject>(o: T): T => {
    o.submissionId = `6d2e3f4a-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    o.context.routing = { receivingAuthorityCvr: '12345678', kle: '32.03.12', handlingFacet: 'G01' };
    o.fileSpecification = 'HelbredstillægAnsøgningBilag_1';
    return o;
  };

  const load = async (
    opts: { sftp?: boolean; outDir?: string; receiptTimeout?: number; extra?: Node[]; lookup?: boolean; fingerprint?: string; site?: string } = {},
  ) => {
    const s = sftp.settings;
    const flow: Node[] = [
      { id: 't', type: 'tab' },
      { id: 'c1', type: 'os2-certificate' },
      serviceplatformNode(sim, certs, { timeout: '10' }),
      {
        id: 'sf',
        type: 'os2-sftp',
        host: s.host,
        port: s.port,
        username: s.username,
        hostKeyFingerprint: opts.fingerprint ?? s.hostKeyFingerprint,
        outDir: opts.outDir ?? 'OUT',
        inDir: 'IN',
        receiptTimeout: opts.receiptTimeout ?? 30,
        pollInterval: 0.1,
      },
      {
        id: 'fo',
        z: 't',
        type: 'os2-fordeling-out',
        serviceplatform: 'sp',
        sftp: opts.sftp === false ? '' : 'sf',
        sftpLookup: !!opts.lookup,
        site: opts.site ? 'site' : '',
        wires: [['ok'], ['failed']],
      },
      { id: 'ok', z: 't', type: 'helper' },
      { id: 'failed', z: 't', type: 'helper' },
      { id: 'k1', z: 't', type: 'catch', scope: ['fo'], uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 't', type: 'helper' },
      ...(opts.site ? [{ id: 'site', type: 'os2-os2forms-site', baseUrl: opts.site, timeout: 10 }] : []),
      ...(opts.extra ?? []),
    ];
    await helper.load([...NODES, sftpNode, mapNode, siteNode], flow, {
      c1: { keyPem: certs.client.key, certPem: certs.client.cert },
      sp: { ca: certs.ca.cert },
      sf: { privateKey: s.privateKey },
      site: { apiKey: 'k3y' },
    });
  };

  it('DOKUMENT with a 20 MB file: upload, trigger (schema-valid), SUCCESS receipt, then FordelingsobjektAfsend with DokumentFilNavn', async function () {
    await load();
    const size = 20 * 1024 * 1024;
    const file = path.join(tmp, 'stor.pdf');
    const chunk = Buffer.alloc(1024 * 1024);
    const fd = fs.openSync(file, 'w');
    for (let i = 0; i < 20; i++) fs.writeSync(fd, chunk.fill(i + 1));
    fs.closeSync(fd);
    const o = fresh(dokument());
    const ref = { name: 'Lægeerklæring (stor).pdf', mime: 'application/pdf', path: file };
    o.dokument!.file = ref;
    o.files = [ref];
    const before = sftp.watcher.events.length;
    const got = nextMessage<Record<string, any>>('ok', 60_000);
    helper.getNode('fo').receive({ payload: o } as never);
    const msg = await got;
    const tx = shipmentIdOf(o);
    assert.equal(msg.transactionId, tx);
    const ev = sftp.watcher.events.slice(before);
    assert.equal(ev.length, 1, 'one file + trigger');
    assert.ok(ev[0].ok, JSON.stringify(ev[0].errors));
    assert.equal(ev[0].declaredSize, size);
    assert.equal(fs.statSync(path.join(delivered, ev[0].fileName)).size, size, 'the whole file arrived');
    assert.match(ev[0].fileName, /^os2forms_6d2e3f4a-[0-9a-f-]+_0_Laegeerklaering_stor_\.pdf$/);
    assert.ok(xsd.validate(ev[0].triggerXml).valid, 'trigger validates against SFTPTypes.xsd');
    assert.match(ev[0].triggerXml, new RegExp(`<TransactionId>${tx}</TransactionId>`));
    assert.match(ev[0].triggerXml, /<RecipientAuthority>urn:oio:cvr-nr:12345678<\/RecipientAuthority>/);
    assert.match(ev[0].triggerXml, /<InfRef>HelbredstillægAnsøgningBilag_1<\/InfRef>/);
    assert.equal(sim.shipments.get(tx)?.context.documentFileName, ev[0].fileName, 'DokumentFilNavn = the uploaded name');
    const s = await defaultLedger().getShipment(tx);
    const files = sftpMetaOf(s).files;
    assert.deepEqual(
      files.map((f) => [f.sftpName, f.status, f.sizeInBytes, f.fileTransferUuid]),
      [[ev[0].fileName, 'acknowledged', size, ev[0].fileTransferUuid]],
    );
    assert.ok(!fs.readdirSync(sftp.sshd.inDir).some((f) => f.endsWith('.sftpreceipt')), 'the receipt was taken out of IN');
  });

  it('a connection dropped mid-upload: the upload is retried on a new connection, only the complete file is triggered', async function () {
    await load();
    const size = 64 * 1024 * 1024;
    const file = path.join(tmp, 'afbrudt.bin');
    const fd = fs.openSync(file, 'w');
    const chunk = Buffer.alloc(4 * 1024 * 1024, 7);
    for (let i = 0; i < size / chunk.length; i++) fs.writeSync(fd, chunk);
    fs.closeSync(fd);
    const o = fresh(dokument());
    const ref = { name: 'afbrudt.bin', path: file };
    o.dokument!.file = ref;
    o.files = [ref];
    let dropped = 0;
    const spy = setInterval(() => {
      if (dropped) return;
      for (const f of fs.readdirSync(sftp.sshd.outDir)) {
        if (!f.endsWith('.part')) continue;
        try {
          if (fs.statSync(path.join(sftp.sshd.outDir, f)).size > 8 * 1024 * 1024) dropped = sftp.sshd.dropConnections();
        } catch {
          /* renamed meanwhile */
        }
      }
    }, 2);
    const before = sftp.watcher.events.length;
    try {
      const got = nextMessage<Record<string, any>>('ok', 60_000);
      helper.getNode('fo').receive({ payload: o } as never);
      await got;
    } finally {
      clearInterval(spy);
    }
    assert.ok(dropped > 0, 'the connection was dropped during the upload');
    const ev = sftp.watcher.events.slice(before);
    assert.equal(ev.length, 1, 'one trigger');
    assert.ok(ev[0].ok && ev[0].sizeOnDisk === size && ev[0].declaredSize === size, JSON.stringify(ev[0].errors));
    assert.equal(fs.statSync(path.join(delivered, ev[0].fileName)).size, size);
  });

  it('a file with only a URL streams from the OS2forms site (API key) to SFTP', async function () {
    const size = 24 * 1024 * 1024;
    const keys: Array<string | undefined> = [];
    const server = http.createServer((req, res) => {
      keys.push(req.headers['api-key'] as string | undefined);
      if (req.headers['api-key'] !== 'k3y') return void res.writeHead(403).end();
      res.writeHead(200, { 'content-type': 'application/pdf' });
      let sent = 0;
      const chunk = Buffer.alloc(1024 * 1024, 9);
      const pump = (): void => {
        while (sent < size) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await load({ site: base });
      const o = fresh(formular());
      o.files = [{ name: 'fra site.pdf', url: `${base}/system/files/webform/x/1/fra%20site.pdf` }];
      const before = sftp.watcher.events.length;
      const got = nextMessage<Record<string, any>>('ok', 60_000);
      helper.getNode('fo').receive({ payload: o } as never);
      await got;
      const ev = sftp.watcher.events.slice(before);
      assert.equal(ev.length, 1);
      assert.ok(ev[0].ok && ev[0].sizeOnDisk === size, JSON.stringify(ev[0].errors));
      assert.deepEqual(keys, ['k3y'], 'one download, with the API key');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('FORMULAR from map with three attachments: the names inside the form XML are the names uploaded', async function () {
    const demo = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'flows', 'demo.json'), 'utf8')) as Array<Record<string, any>>;
    const mapCfg: Node = { ...demo.find((x) => x.type === 'os2-map'), id: 'm1', type: 'os2-map', z: 't', wires: [['fo']] };
    const sample = JSON.parse(demo.find((x) => x.type === 'inject' && /webform/.test(x.payload ?? ''))!.payload);
    const pdf = sample.files[0].content;
    sample.submission.uuid = `7e3f4a5b-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    sample.files.push({ element: 'dokumenter_faktura', name: 'faktura æøå.pdf', mime: 'application/pdf', content: pdf });
    await load({ extra: [mapCfg] });
    const before = sftp.watcher.events.length;
    const out = collect(['ok', 'failed']);
    helper.getNode('m1').receive({ payload: sample } as never);
    await until(() => out.ok.length + out.failed.length > 0, 60_000, 'a result');
    assert.equal(out.failed.length, 0, JSON.stringify(out.failed[0]?.error));
    const tx = out.ok[0].transactionId as string;
    const ev = sftp.watcher.events.slice(before);
    assert.equal(ev.length, 3);
    assert.ok(ev.every((e) => e.ok && xsd.validate(e.triggerXml).valid));
    const request = (await defaultLedger().getShipment(tx))?.request ?? '';
    const inXml = [...request.matchAll(/<(?:[\w-]+:)?Dokumentnavn>([^<]+)</g)].map((m) => m[1]);
    assert.deepEqual(inXml.sort(), ev.map((e) => e.fileName).sort(), 'form XML names == uploaded names');
    for (const e of ev) assert.ok(fs.existsSync(path.join(delivered, e.fileName)));
    assert.ok(
      ev.every((e) => !e.fileName.includes('..') && !e.fileName.includes('/')),
      'no citizen name becomes a path',
    );
  });

  it('a refused trigger gives an error receipt: output 2 (permanent) with the platform text, nothing sent', async function () {
    await load();
    const o = fresh(formular());
    o.files = [{ name: 'bilag.pdf', content: Buffer.from('%PDF-1.4 bilag') }];
    o.fileSpecification = REFUSED_SPEC;
    const got = nextMessage<Record<string, any>>('failed', 30_000);
    const caught = nextMessage<Record<string, any>>('caught', 30_000);
    helper.getNode('fo').receive({ payload: o } as never);
    const msg = await got;
    assert.equal(msg.error.class, 'permanent');
    assert.equal(msg.error.code, 'SFTP_ERROR_RECEIPT');
    assert.match(msg.error.reason, /InfRef UkendtFilspecifikation_9 er ikke kendt af modtageren/);
    assert.match((await caught).error.message, /permanent: .*ikke kendt/);
    const tx = shipmentIdOf(o);
    assert.equal(sim.shipments.get(tx), undefined, 'FordelingsobjektAfsend was not called');
    const s = await defaultLedger().getShipment(tx);
    assert.equal(s?.state, 'failed');
    assert.equal(sftpMetaOf(s).files[0].status, 'failed');
  });

  it('no receipt before the deadline: output 2 (transient, SFTP_NO_RECEIPT), nothing sent; a resend takes the late receipt, no second upload', async function () {
    await load({ outDir: 'NOWHERE', receiptTimeout: 1 });
    const o = fresh(formular());
    o.files = [{ name: 'bilag.pdf', content: Buffer.from('%PDF-1.4 bilag') }];
    const got = nextMessage<Record<string, any>>('failed', 30_000);
    helper.getNode('fo').receive({ payload: o } as never);
    const msg = await got;
    assert.equal(msg.error.class, 'transient');
    assert.equal(msg.error.code, 'SFTP_NO_RECEIPT');
    assert.match(msg.error.reason, /no SFTP receipt for os2forms_.*within 1\.0 s/);
    const tx = shipmentIdOf(o);
    assert.equal(sim.shipments.get(tx), undefined);
    // The receipt comes late; a resend takes it instead of uploading the file a second time.
    const nowhere = path.join(sftp.sshd.root, 'NOWHERE');
    const uploaded = fs.readdirSync(nowhere).sort();
    const name = sftpMetaOf(await defaultLedger().getShipment(tx)).files[0].sftpName;
    assert.deepEqual(uploaded, [name, `${name}.trigger`]);
    fs.writeFileSync(path.join(sftp.sshd.inDir, `${name}.sftpreceipt`), buildTechnicalReceipt({ fileTransferUuid: 'c0ffee00-0000-4000-8000-000000000001' }), {
      mode: 0o666,
    });
    fs.rmSync(path.join(nowhere, name));
    const ok = nextMessage<Record<string, any>>('ok', 30_000);
    helper.getNode('fo').receive({ payload: o } as never);
    await ok;
    assert.deepEqual(fs.readdirSync(nowhere), [`${name}.trigger`], 'not uploaded again');
    assert.equal(sftpMetaOf(await defaultLedger().getShipment(tx)).files[0].fileTransferUuid, 'c0ffee00-0000-4000-8000-000000000001');
    assert.ok(sim.shipments.get(tx), 'then sent');
  });

  it('a resend does not upload again a file already acknowledged (ledger meta)', async function () {
    await load();
    const o = fresh(formular());
    o.files = [
      { name: 'en.pdf', content: Buffer.from('%PDF-1.4 en') },
      { name: 'to.pdf', content: Buffer.from('%PDF-1.4 to'), fileSpecification: REFUSED_SPEC },
    ];
    const before = sftp.watcher.events.length;
    const first = nextMessage<Record<string, any>>('failed', 30_000);
    helper.getNode('fo').receive({ payload: o } as never);
    assert.equal((await first).error.code, 'SFTP_ERROR_RECEIPT');
    o.files[1].fileSpecification = undefined;
    const second = nextMessage<Record<string, any>>('ok', 30_000);
    helper.getNode('fo').receive({ payload: o } as never);
    const msg = await second;
    const names = sftp.watcher.events.slice(before).map((e) => [e.fileName.replace(/^.*_\d_/, ''), e.ok]);
    assert.deepEqual(
      names,
      [
        ['en.pdf', true],
        ['to.pdf', false],
        ['to.pdf', true],
      ],
      'en.pdf went once',
    );
    const files = sftpMetaOf(await defaultLedger().getShipment(msg.transactionId)).files;
    assert.deepEqual(
      files.map((f) => f.status),
      ['acknowledged', 'acknowledged'],
    );
  });

  it('the recipient IT-system is looked up with FordelingsmodtagerList when exactly one system receives', async function () {
    const system = 'b1c2d3e4-0000-4000-8000-00000000abcd';
    const saved = sim.receivers;
    sim.receivers = [{ authorityCvr: '12345678', kle: '32.03.12', handlingFacet: 'G01', systemUuid: system, systemName: 'ESDH' } as never];
    try {
      await load({ lookup: true });
      const o = fresh(formular());
      o.files = [{ name: 'bilag.pdf', content: Buffer.from('%PDF-1.4 bilag') }];
      const before = sftp.watcher.events.length;
      const got = nextMessage<Record<string, any>>('ok', 30_000);
      helper.getNode('fo').receive({ payload: o } as never);
      await got;
      const ev = sftp.watcher.events.slice(before);
      assert.match(ev[0].triggerXml, new RegExp(`<RecipientIt-system>${system}</RecipientIt-system>`));
      assert.ok(xsd.validate(ev[0].triggerXml).valid);
    } finally {
      sim.receivers = saved;
    }
  });

  it('a server presenting another host key is refused: output 2 (permanent) naming both fingerprints, nothing uploaded', async function () {
    const wrong = 'SHA256:' + 'A'.repeat(43);
    await load({ fingerprint: wrong });
    const o = fresh(formular());
    o.files = [{ name: 'bilag.pdf', content: Buffer.from('%PDF-1.4 bilag') }];
    const before = fs.readdirSync(sftp.sshd.outDir).length;
    const got = nextMessage<Record<string, any>>('failed', 30_000);
    helper.getNode('fo').receive({ payload: o } as never);
    const msg = await got;
    assert.equal(msg.error.class, 'permanent');
    assert.equal(msg.error.code, 'SFTP_HOST_KEY');
    assert.ok(msg.error.reason.includes(wrong) && msg.error.reason.includes(sftp.settings.hostKeyFingerprint), msg.error.reason);
    assert.equal(fs.readdirSync(sftp.sshd.outDir).length, before);
  });

  it('an object with files but no SFTP configuration is refused clearly (output 2 + Catch), not dropped', async function () {
    await load({ sftp: false });
    const o = fresh(formular());
    o.files = [{ name: 'bilag.pdf', content: Buffer.from('x') }];
    const got = nextMessage<Record<string, any>>('failed');
    const caught = nextMessage<Record<string, any>>('caught');
    helper.getNode('fo').receive({ payload: o } as never);
    assert.match((await got).error.reason, /carries 1 file\(s\).*no SFTP configuration/);
    await caught;
    assert.equal(sim.shipments.get(shipmentIdOf(o)), undefined);
  });
});
