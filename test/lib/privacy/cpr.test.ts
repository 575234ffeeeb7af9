import assert from 'node:assert/strict';
import { maskCpr, maskCprDeep } from '../../../lib/privacy/cpr';

describe('maskCpr (one rule for status texts, the overview and the audit export)', () => {
  it('masks CPR numbers standing alone and in urn:oio:cpr: values, fully or keeping the date', () => {
    assert.equal(maskCpr('CPR 010203-1234 og 0102031234.'), 'CPR ******-**** og ******-****.');
    assert.equal(maskCpr('urn:oio:cpr:0102031234'), 'urn:oio:cpr:******-****');
    assert.equal(maskCpr('AFVIST for 010190-1234', { keepBirthDate: true }), 'AFVIST for 010190-XXXX');
    assert.equal(maskCpr('urn:oio:cpr:0101901234', { keepBirthDate: true }), 'urn:oio:cpr:010190-XXXX');
  });

  it('leaves longer numbers, CVR numbers and digit runs inside UUIDs alone (the export once masked those)', () => {
    const uuid = '3f2c8e0a-6b1d-4c2e-9a7f-a0102031234b';
    assert.equal(maskCpr(uuid, { keepBirthDate: true }), uuid);
    assert.equal(maskCpr(`order 123456789012 / cvr 12345678 / ${uuid}`), `order 123456789012 / cvr 12345678 / ${uuid}`);
  });

  it('masks every string of a nested value without changing the input', () => {
    const input = { a: ['0102031234', { b: 'x 010203-1234' }], n: 1 };
    assert.deepEqual(maskCprDeep(input), { a: ['******-****', { b: 'x ******-****' }], n: 1 });
    assert.equal(input.a[0], '0102031234');
  });
});
