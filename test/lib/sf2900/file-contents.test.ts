import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { buildAfsendRequest } from '../../../lib/sf2900/afsend';
import { fileContentsRemoved, withoutFileContents } from '../../../lib/sf2900/file-contents';
import { AFSEND_OPTS, formular, journalpost, msgXsd } from './fixtures';

describe('file contents removed from a delivered request', () => {
  it('a FORMULAR keeps its structure and stays valid against the contract; the PDF becomes its size and SHA-256', async () => {
    const pdf = Buffer.alloc(300_000, 7);
    const o = formular();
    o.formular!.pdfBase64 = pdf.toString('base64');
    const request = buildAfsendRequest(o, AFSEND_OPTS);
    const slim = withoutFileContents(request)!;
    assert.ok(slim.length < 10_000, `${slim.length} characters left`);
    assert.ok(!slim.includes(o.formular!.pdfBase64.slice(0, 40)));
    assert.ok(slim.includes(`300000 bytes, sha256 ${createHash('sha256').update(pdf).digest('hex')}`));
    assert.ok(fileContentsRemoved(slim));
    assert.ok(!fileContentsRemoved(request));
    assert.equal(slim.replace(/<!--[\s\S]*?-->/, ''), request.replace(o.formular!.pdfBase64, ''), 'nothing else changed');
    const r = (await msgXsd()).validate(slim);
    assert.ok(r.valid, JSON.stringify(r.errors));
  });

  it('any prefix or none; a request without file contents is left alone (undefined)', () => {
    assert.equal(withoutFileContents(buildAfsendRequest(journalpost(), AFSEND_OPTS)), undefined);
    assert.match(
      withoutFileContents('<a><FormularIndhold>QUJD</FormularIndhold></a>')!,
      /<FormularIndhold><!-- .*: 3 bytes, sha256 [0-9a-f]{64} --><\/FormularIndhold>/,
    );
    assert.match(withoutFileContents('<x:FormularIndhold a="1">QQ==</x:FormularIndhold>')!, /^<x:FormularIndhold a="1"><!-- .*: 1 bytes/);
  });
});
