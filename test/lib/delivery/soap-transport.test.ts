import { strict as assert } from 'assert';
import dns from 'dns';
import * as https from 'https';
import type { AddressInfo } from 'net';
import { SoapTransport } from '../../../lib/delivery/soap-transport';
import { testCerts } from '../../support/certs';

/**
 * Kept connections: a keep-alive connection that idles until its server closes it can be taken for a send at that
 * very moment, and the send fails ("socket hang up"). The transport closes idle connections itself, before the
 * server does. The servers here are real node:https servers; what they record is when each connection closed.
 */
describe('lib/delivery SoapTransport: idle keep-alive connections', function () {
  this.timeout(10_000);
  const servers: https.Server[] = [];
  const transports: SoapTransport[] = [];

  async function serve(keepAliveTimeout: number) {
    const certs = await testCerts();
    const connections: Array<{ opened: number; closed?: number }> = [];
    const server = https.createServer({ key: certs.server.key, cert: certs.server.cert }, (req, res) => {
      req.resume();
      req.on('end', () =>
        setTimeout(
          () => {
            res.writeHead(200, { 'Content-Type': 'text/xml' });
            res.end('<ok/>');
          },
          req.url === '/slow' ? 700 : 0,
        ),
      );
    });
    // 0: no keep-alive timeout, so no Keep-Alive hint either; the server would keep an idle connection for ever
    server.keepAliveTimeout = keepAliveTimeout;
    server.on('secureConnection', (socket) => {
      const c: { opened: number; closed?: number } = { opened: Date.now() };
      connections.push(c);
      socket.on('close', () => (c.closed = Date.now()));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    const url = `https://localhost:${(server.address() as AddressInfo).port}/service`;
    return { url, connections, ca: certs.ca.cert };
  }

  function transport(ca: string, idleSocketMs?: number): SoapTransport {
    const t = new SoapTransport({ ca: [ca], timeoutMs: 5_000, idleSocketMs });
    transports.push(t);
    return t;
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  afterEach(async function () {
    for (const t of transports.splice(0)) t.close();
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  it('keeps a connection for sends close together, and closes it itself once it idles idleSocketMs', async function () {
    const { url, connections, ca } = await serve(0);
    const t = transport(ca, 300);
    assert.equal((await t.post(url, 'urn:a', '<a/>')).status, 200);
    assert.equal((await t.post(url, 'urn:a', '<a/>')).status, 200);
    assert.equal(connections.length, 1, 'the second send used the kept connection');
    await sleep(900);
    assert.ok(connections[0]!.closed, 'the idle connection was closed by the client (this server never closes one)');
    assert.equal((await t.post(url, 'urn:a', '<a/>')).status, 200);
    assert.equal(connections.length, 2, 'the next send opened a new connection');
  });

  it("closes an idle connection a second before the server's announced keep-alive timeout, not when the server does", async function () {
    // Node's server answers "Keep-Alive: timeout=2" and closes an idle connection after 2.5 s
    const { url, connections, ca } = await serve(2_500);
    const t = transport(ca); // the default idle limit (4 s) is longer than the hint: the hint wins
    const sent = Date.now();
    assert.equal((await t.post(url, 'urn:a', '<a/>')).status, 200);
    await sleep(1_800);
    const c = connections[0]!;
    assert.ok(c.closed, 'closed before the server would have closed it');
    assert.ok(c.closed - sent < 2_400, `closed after ${c.closed - sent} ms`);
  });

  it('does not cut off a send that takes longer than the idle limit, on a new or a kept connection', async function () {
    const { url, connections, ca } = await serve(0);
    const t = transport(ca, 200);
    const slow = url.replace('/service', '/slow');
    assert.equal((await t.post(slow, 'urn:a', '<a/>')).status, 200, 'on a new connection');
    assert.equal((await t.post(slow, 'urn:a', '<a/>')).status, 200, 'on the kept one');
    assert.equal(connections.length, 1);
  });

  it("gives a new connection the send's timeout, not the idle limit, while it looks up the name and connects", async function () {
    const { url, ca } = await serve(0);
    const t = transport(ca, 300);
    // a name server that takes 0.8 s (the URL names localhost, so node:net looks it up through dns.lookup)
    const lookup = dns.lookup;
    (dns as { lookup: unknown }).lookup = (...args: unknown[]) => setTimeout(() => (lookup as (...a: unknown[]) => void)(...args), 800);
    try {
      assert.equal((await t.post(url, 'urn:a', '<a/>')).status, 200);
    } finally {
      (dns as { lookup: unknown }).lookup = lookup;
    }
  });

  for (const idleSocketMs of [0, -1]) {
    it(`takes an idle limit of ${idleSocketMs} as none given: the default applies, and the connection is kept`, async function () {
      const { url, connections, ca } = await serve(0);
      const t = transport(ca, idleSocketMs);
      assert.equal((await t.post(url, 'urn:a', '<a/>')).status, 200);
      await sleep(500);
      assert.equal(connections[0]!.closed, undefined, 'still kept after 0.5 s');
    });
  }
});
