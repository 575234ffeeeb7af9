import * as assert from 'assert';
import { nameBasedUuid, objectIdFor, transactionIdFor } from '../../../lib/sf2900/transaction-id';

describe('lib/sf2900 transaction-id', () => {
  const sub = '5C1E2F3A-0000-4000-8000-000000000001';

  it('derives the same lower-case UUID for the same submission (a resend reuses it)', () => {
    const a = transactionIdFor(sub, 'form1');
    assert.strictEqual(a, transactionIdFor(sub.toLowerCase(), 'form1'));
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('differs between submissions, webforms and object IDs', () => {
    const ids = new Set([
      transactionIdFor(sub, 'form1'),
      transactionIdFor(sub, 'form2'),
      transactionIdFor(sub),
      transactionIdFor('5c1e2f3a-0000-4000-8000-000000000002', 'form1'),
      objectIdFor(sub, 'form1'),
    ]);
    assert.strictEqual(ids.size, 5);
  });

  it('is a real RFC 4122 v5 UUID (known vector: DNS namespace, "python.org")', () => {
    assert.strictEqual(nameBasedUuid('python.org', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'), '886313e1-3b8a-5372-9b90-0c9aee199e5d');
  });

  it('refuses an empty submission uuid with a clear error', () => {
    assert.throws(() => transactionIdFor(''), /submission uuid is required/);
  });
});
