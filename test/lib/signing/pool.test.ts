import assert from 'assert';
import { SigningPool } from '../../../lib/signing/pool';
import { SigningError } from '../../../lib/signing/keys';
import { verifyXmlSignature } from '../../../lib/signing/verify';
import { makeTestKey, removeTestKeys, type TestKey } from './test-keys';

describe('lib/signing/pool: worker-thread signing', function () {
  this.timeout(30000);
  let key: TestKey;
  let pool: SigningPool | undefined;

  before(() => {
    key = makeTestKey('OS2 pool signer');
  });
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });
  after(() => removeTestKeys());

  it('signs many messages concurrently on N workers; every result verifies and matches its input', async () => {
    pool = new SigningPool(key, { size: 2 });
    assert.strictEqual(pool.size, 2);
    const jobs = Array.from({ length: 24 }, (_, i) =>
      i % 2
        ? pool!.sign({ mode: 'enveloped', xml: `<doc><n>${i}</n></doc>` })
        : pool!.sign({ mode: 'wssecurity', xml: `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><n>${i}</n></s:Body></s:Envelope>` }),
    );
    const results = await Promise.all(jobs);
    results.forEach((xml, i) => {
      const r = verifyXmlSignature(xml, { pins: key.certPem });
      assert.strictEqual(r.valid, true, r.reason);
      assert.match(r.signedElement!, new RegExp(`<n>${i}</n>`));
    });
  });

  it('rejects a bad request with the signing error and keeps working', async () => {
    pool = new SigningPool(key, { size: 1 });
    await assert.rejects(pool.sign({ mode: 'enveloped', xml: '<a><b>' }), (err: Error) => err instanceof SigningError && /not well-formed/.test(err.message));
    await assert.rejects(pool.sign({ mode: 'enveloped', xml: '<a/>', xpath: '//x' }), /selects 0 elements/);
    const ok = await pool.sign({ mode: 'enveloped', xml: '<a/>' });
    assert.strictEqual(verifyXmlSignature(ok, { pins: key.certPem }).valid, true);
  });

  it('replaces a worker that died and keeps signing', async () => {
    pool = new SigningPool(key, { size: 2 });
    const slots = (pool as unknown as { slots: Array<{ worker: { terminate(): Promise<number>; threadId: number } }> }).slots;
    const before = slots[0].worker.threadId;
    await slots[0].worker.terminate();
    await new Promise((r) => setTimeout(r, 50));
    assert.notStrictEqual(slots[0].worker.threadId, before, 'a new worker took its place');
    const out = await Promise.all([1, 2, 3, 4].map((i) => pool!.sign({ mode: 'enveloped', xml: `<a>${i}</a>` })));
    for (const xml of out) assert.strictEqual(verifyXmlSignature(xml, { pins: key.certPem }).valid, true);
  });

  it('fails fast on a bad key, finishes work in flight on close, and refuses work after close', async () => {
    assert.throws(() => new SigningPool({ keyPem: 'x', certPem: key.certPem }), /private key could not be read/);
    pool = new SigningPool(key, { size: 2 });
    const inFlight = [pool.sign({ mode: 'enveloped', xml: '<a>1</a>' }), pool.sign({ mode: 'enveloped', xml: '<a>2</a>' })];
    const closing = pool.close();
    const done = await Promise.all(inFlight);
    await closing;
    assert.strictEqual(done.length, 2);
    await assert.rejects(pool.sign({ mode: 'enveloped', xml: '<a/>' }), /closed/);
  });
});
