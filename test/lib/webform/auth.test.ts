import { strict as assert } from 'node:assert';
import { hmacHex, verifyHmac, verifySharedSecret } from '../../../lib/webform/auth';

describe('lib/webform/auth', function () {
  it('shared secret: equal only for the exact secret, never for empty', function () {
    assert.equal(verifySharedSecret('abc', 'abc'), true);
    assert.equal(verifySharedSecret('abd', 'abc'), false);
    assert.equal(verifySharedSecret('abcd', 'abc'), false);
    assert.equal(verifySharedSecret(undefined, 'abc'), false);
    assert.equal(verifySharedSecret('', ''), false);
    // A UTF-8 secret arrives as latin1-decoded header bytes.
    assert.equal(verifySharedSecret(Buffer.from('hemmelig-æøå').toString('latin1'), 'hemmelig-æøå'), true);
  });

  it('HMAC-SHA256: hex or sha256= prefix, any case; wrong body/secret/format refused', function () {
    const body = Buffer.from('{"uuid":"x","navn":"Åse"}');
    const sig = hmacHex(body, 'k');
    assert.equal(sig, require('node:crypto').createHmac('sha256', 'k').update(body).digest('hex'));
    assert.equal(verifyHmac(body, sig, 'k'), true);
    assert.equal(verifyHmac(body, 'sha256=' + sig.toUpperCase(), 'k'), true);
    assert.equal(verifyHmac(Buffer.concat([body, Buffer.from(' ')]), sig, 'k'), false);
    assert.equal(verifyHmac(body, sig, 'other'), false);
    assert.equal(verifyHmac(body, sig.slice(0, 63), 'k'), false);
    assert.equal(verifyHmac(body, undefined, 'k'), false);
    assert.equal(verifyHmac(body, sig, ''), false);
  });
});
