import { strict as assert } from 'assert';
import * as http from 'http';
import type { AddressInfo } from 'net';
import { listReceivers, prepareAfsend, sendAfsend, type DeliveryContext } from '../../../lib/delivery/deliver';
import { DeliveryError } from '../../../lib/delivery/errors';
import { SoapTransport } from '../../../lib/delivery/soap-transport';
import { buildAfsendResponse } from '../../../lib/sf2900/afsend';
import { buildModtagerListResponse } from '../../../lib/sf2900/modtager-list';
import { buildSoapFault } from '../../../lib/sf2900/soap';
import { SOAP_ACTIONS, SERVICE_PATH } from '../../../lib/sf2900/namespaces';
import { transactionIdFor } from '../../../lib/sf2900/transaction-id';
import { journalpost, SENDER_CVR, SYSTEM_UUID, KP_CVR } from '../sf2900/fixtures';

type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void | Promise<void>;

/** Stages 1–4 as the outbox runs them for one send (recording is the outbox's: test/lib/outbox, test/nodes). */
async function deliver(obj: Parameters<typeof prepareAfsend>[0], ctx: DeliveryContext) {
  const { request, ids } = await prepareAfsend(obj, ctx);
  return { ...ids, ...(await sendAfsend(request, ctx)) };
}

describe('lib/delivery prepareAfsend() + sendAfsend() over HTTP', function () {
  let server: http.Server;
  let handler: Handler;
  let baseUrl: string;
  let transport: SoapTransport;
  const seen: Array<{ headers: http.IncomingHttpHeaders; url?: string; body: string }> = [];

  before(async function () {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        seen.push({ headers: req.headers, url: req.url, body });
        void handler(req, body, res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    seen.length = 0;
    transport = new SoapTransport({ timeoutMs: 1000, maxResponseBytes: 64 * 1024 });
  });
  afterEach(() => {
    transport.close();
    server.closeAllConnections();
  });

  const ctx = (over: Partial<DeliveryContext> = {}): DeliveryContext => ({
    endpoint: { baseUrl, senderCvr: SENDER_CVR, senderSystemUuid: SYSTEM_UUID, timeoutMs: 1000 },
    transport,
    ...over,
  });
  const accepted =
    (code = 'ACCEPTERET'): Handler =>
    (_req, body, res) => {
      const tx = /AnvenderTransaktionsID>([^<]+)</.exec(body)?.[1] ?? '';
      res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' });
      res.end(
        buildAfsendResponse({
          receipt: { code, type: 'Teknisk', errors: code === 'ACCEPTERET' ? [] : [{ code: 'X1', text: 'no receiver' }] },
          context: {
            transactionId: tx,
            distributionTransactionId: '11111111-2222-4333-8444-555555555555',
            senderCvr: SENDER_CVR,
            routingCvr: KP_CVR,
            kle: '32.03.12',
          },
        }),
      );
    };
  const failure = async (p: Promise<unknown>): Promise<DeliveryError> => {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof DeliveryError, String(err));
      return err;
    }
    assert.fail('expected a DeliveryError');
  };

  it('sends SOAP 1.1 with text/xml and the SOAPAction, and reads the answer', async function () {
    const obj = journalpost();
    const tx = transactionIdFor(obj.submissionId, obj.webformId);
    handler = accepted();
    const r = await deliver(obj, ctx());
    assert.equal(seen[0].url, SERVICE_PATH);
    assert.equal(seen[0].headers['content-type'], 'text/xml; charset=utf-8');
    assert.equal(seen[0].headers.soapaction, `"${SOAP_ACTIONS.afsend}"`);
    assert.match(seen[0].body, /^<\?xml[^>]*\?><soapenv:Envelope/);
    assert.match(seen[0].body, new RegExp(`<v2:AnvenderTransaktionsID>${tx}</v2:AnvenderTransaktionsID>`));
    assert.match(seen[0].body, new RegExp(`MunicipalityCVR>${SENDER_CVR}<`));
    assert.equal(r.transactionId, tx);
    assert.equal(r.distributionTransactionId, '11111111-2222-4333-8444-555555555555');
    assert.equal(r.receipt.code, 'ACCEPTERET');
    assert.match(r.raw, /FordelingsobjektAfsendResponse/);
  });

  it('the AnvenderTransaktionsID: the same for the same submission and target, another for another target', async function () {
    handler = accepted();
    const a = await deliver(journalpost(), ctx());
    const b = await deliver(journalpost(), ctx());
    assert.equal(a.transactionId, b.transactionId);
    const { ids: other } = await prepareAfsend(journalpost(), ctx(), 'FORMULAR:11111111:kle:32.03.12:');
    assert.notEqual(other.transactionId, a.transactionId);
    assert.equal((await prepareAfsend(journalpost(), ctx(), 'FORMULAR:11111111:kle:32.03.12:')).ids.transactionId, other.transactionId);
  });

  const cases: Array<[string, Handler, 'permanent' | 'transient', string, RegExp]> = [
    [
      'TransportKvittering FEJL',
      (_q, _b, res) => {
        res.writeHead(500, { 'Content-Type': 'text/xml' });
        res.end(
          buildSoapFault({
            faultCode: 'Client',
            faultString: 'Request does not conform',
            transportKvittering: { code: 'FEJL', reason: 'Skemafejl', errors: [{ code: 'SKEMA_VALIDERING', text: 'line 1: bad' }] },
          }),
        );
      },
      'permanent',
      'FEJL',
      /\(TransportKvittering FEJL\): Skemafejl/,
    ],
    [
      'SOAP Client fault',
      (_q, _b, res) => {
        res.writeHead(500, { 'Content-Type': 'text/xml' });
        res.end(buildSoapFault({ faultCode: 'Client', faultString: 'CVR mismatch', platformErrors: [{ code: 'AUTORISATION', text: 'no' }] }));
      },
      'permanent',
      'SOAP_CLIENT',
      /Client fault: CVR mismatch/,
    ],
    [
      'SOAP Server fault',
      (_q, _b, res) => {
        res.writeHead(500, { 'Content-Type': 'text/xml' });
        res.end(buildSoapFault({ faultCode: 'Server', faultString: 'Backend down' }));
      },
      'transient',
      'SOAP_SERVER',
      /Server fault: Backend down/,
    ],
    [
      'HTTP 500 (not SOAP)',
      (_q, _b, res) => {
        res.writeHead(500);
        res.end('oops');
      },
      'transient',
      'HTTP_500',
      /HTTP 500/,
    ],
    [
      'HTTP 503',
      (_q, _b, res) => {
        res.writeHead(503);
        res.end('busy');
      },
      'transient',
      'HTTP_503',
      /HTTP 503/,
    ],
    [
      'HTTP 429',
      (_q, _b, res) => {
        res.writeHead(429);
        res.end();
      },
      'transient',
      'HTTP_429',
      /HTTP 429/,
    ],
    [
      'HTTP 408',
      (_q, _b, res) => {
        res.writeHead(408);
        res.end();
      },
      'transient',
      'HTTP_408',
      /HTTP 408/,
    ],
    [
      'HTTP 404',
      (_q, _b, res) => {
        res.writeHead(404);
        res.end();
      },
      'permanent',
      'HTTP_404',
      /HTTP 404/,
    ],
    [
      'dropped connection',
      (req) => {
        req.socket.destroy();
      },
      'transient',
      'ECONNRESET',
      /Network error: socket hang up/,
    ],
    [
      'timeout',
      () => {
        /* never answers */
      },
      'transient',
      'TIMEOUT',
      /within 300 ms/,
    ],
    [
      'oversized response',
      (_q, _b, res) => {
        res.writeHead(200);
        res.end('x'.repeat(100 * 1024));
      },
      'permanent',
      'TOO_LARGE',
      /exceeds 65536 bytes/,
    ],
    [
      'malformed 200',
      (_q, _b, res) => {
        res.writeHead(200);
        res.end('<not-soap/>');
      },
      'permanent',
      'BAD_RESPONSE',
      /cannot be read/,
    ],
    ['ForretningsKvittering AFVIST', accepted('AFVIST'), 'permanent', 'AFVIST', /answered AFVIST: X1: no receiver/],
  ];
  for (const [name, h, cls, code, reason] of cases) {
    it(`classifies ${name} as ${cls} with a readable reason`, async function () {
      handler = h;
      const started = Date.now();
      const e = await failure(deliver(journalpost(), ctx({ endpoint: { baseUrl, senderCvr: SENDER_CVR, senderSystemUuid: SYSTEM_UUID, timeoutMs: 300 } })));
      assert.equal(e.class, cls);
      assert.equal(e.code, code);
      assert.match(e.reason, reason);
      if (code === 'FEJL') assert.deepEqual(e.errors, [{ code: 'SKEMA_VALIDERING', text: 'line 1: bad' }]);
      if (code === 'TIMEOUT') assert.ok(Date.now() - started < 1500, 'the timeout is honoured');
    });
  }

  it('refuses a payload that is not a FordelingsObject without sending', async function () {
    handler = accepted();
    const e = await failure(deliver({ foo: 1 } as never, ctx()));
    assert.equal(e.class, 'permanent');
    assert.match(e.reason, /not a FordelingsObject/);
    const bad = journalpost();
    bad.context.routing.receivingAuthorityCvr = '123';
    const e2 = await failure(deliver(bad, ctx()));
    assert.match(e2.reason, /cannot be serialised/);
    assert.equal(seen.length, 0);
  });

  it('runs the prepareFiles hook before serialising', async function () {
    handler = accepted();
    const stages: string[] = [];
    await deliver(
      journalpost(),
      ctx({
        prepareFiles: async (o) => {
          stages.push('prepare');
          return o;
        },
      }),
    );
    assert.deepEqual(stages, ['prepare']);
  });

  it('lists receivers (FordelingsmodtagerList)', async function () {
    handler = (_q, _b, res) => {
      res.writeHead(200, { 'Content-Type': 'text/xml' });
      res.end(buildModtagerListResponse([{ authorityCvr: KP_CVR, systemUuid: '2b2a6f0e-6c1b-4b4f-9a57-6f1d2d3c4b5a', systemName: 'KP', kle: '32.03.12' }]));
    };
    const systems = await listReceivers({ routingCvr: KP_CVR, kle: '32.03.12' }, ctx());
    assert.equal(seen[0].headers.soapaction, `"${SOAP_ACTIONS.modtagerList}"`);
    assert.equal(systems[0].systemName, 'KP');
  });
});
