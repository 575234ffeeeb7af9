import { strict as assert } from 'node:assert';
import { decodeForm, FormDecodeError } from '../../../lib/webform/form-decode';

describe('lib/webform/form-decode', function () {
  it('decodes PHP http_build_query output into nested objects and arrays', function () {
    const q =
      'sid=7&navn=%C3%85se+S%C3%B8rensen&_bilag%5B0%5D%5Bname%5D=a.pdf&_bilag%5B0%5D%5Bid%5D=1&_bilag%5B1%5D%5Bname%5D=b.pdf&adr%5Bby%5D=K%C3%B8ge&tom=';
    assert.deepEqual(decodeForm(q), {
      sid: '7',
      navn: 'Åse Sørensen',
      _bilag: [{ name: 'a.pdf', id: '1' }, { name: 'b.pdf' }],
      adr: { by: 'Køge' },
      tom: '',
    });
  });

  it('appends for empty brackets and keeps non-consecutive numeric keys as an object', function () {
    assert.deepEqual(decodeForm('a[]=x&a[]=y&b[3]=z'), { a: ['x', 'y'], b: { 3: 'z' } });
  });

  it('bounds depth and parameter count, refuses prototype keys', function () {
    assert.throws(() => decodeForm('a' + '[x]'.repeat(11) + '=1'), FormDecodeError);
    assert.doesNotThrow(() => decodeForm('a' + '[x]'.repeat(10) + '=1'));
    assert.throws(() => decodeForm(Array.from({ length: 11 }, (_, i) => `k${i}=1`).join('&'), { maxParameters: 10 }), /more than 10 fields/);
    assert.throws(() => decodeForm('__proto__[x]=1'), /not allowed/);
    assert.throws(() => decodeForm('a[constructor][prototype]=1'), /not allowed/);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });
});
