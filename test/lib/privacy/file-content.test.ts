import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { base64Size, elideFileContents, elideFileContentsDeep, formatSize } from '../../../lib/privacy/file-content';

const b64 = (bytes: number) => randomBytes(bytes).toString('base64');
/** Wrapped as MIME does: 76 characters a line. */
const wrapped = (text: string, eol = '\n') => (text.match(/.{1,76}/g) as string[]).join(eol);
/** No run of 200 base64 characters anywhere (what "no file contents" means to the tests). */
const LONG_RUN = /[A-Za-z0-9+/_-]{200,}/;

describe('elideFileContents (file contents never shown: the overview, error texts, the export)', () => {
  it('states sizes as people read them and decodes base64 sizes', () => {
    assert.deepEqual([formatSize(1), formatSize(834), formatSize(12_345), formatSize(1_234_567)], ['1 byte', '834 bytes', '12.3 kB', '1.2 MB']);
    assert.equal(base64Size(Buffer.from('hello world').toString('base64')), 11);
    assert.equal(base64Size(wrapped(b64(3000))), 3000);
  });

  it('leaves out the content of FormularIndhold and DokumentIndhold whatever its length, naming the element and the size', () => {
    const short = Buffer.from('%PDF-1.4\n%%EOF\n').toString('base64');
    const pdf = b64(1_234_567);
    const out = elideFileContents(
      `<v2:FormularTitel>ansøgning.pdf</v2:FormularTitel><v2:FormularIndhold>${pdf}</v2:FormularIndhold>` +
        `<DokumentIndhold encoding="base64">\n  ${short}\n</DokumentIndhold><v2:FilIndhold><![CDATA[${short}]]></v2:FilIndhold>`,
    );
    assert.equal(
      out,
      '<v2:FormularTitel>ansøgning.pdf</v2:FormularTitel><v2:FormularIndhold>[file content left out: FormularIndhold, 1.2 MB]</v2:FormularIndhold>' +
        '<DokumentIndhold encoding="base64">[file content left out: DokumentIndhold, 15 bytes]</DokumentIndhold>' +
        '<v2:FilIndhold>[file content left out: FilIndhold, 15 bytes]</v2:FilIndhold>',
    );
  });

  it('leaves out long base64 in any element, in attributes, in escaped XML and in plain text, wrapped or not', () => {
    const file = b64(600);
    const out = elideFileContents(
      `<Bilag>${wrapped(file, '\r\n')}</Bilag><Ref data="${file}"/>` +
        `&lt;v2:FormularIndhold&gt;${Buffer.from('x').toString('base64')}&lt;/v2:FormularIndhold&gt; ` +
        `fault: '${wrapped(file, '&#13;\n')}' is not valid; JSON "x":"${wrapped(file, '\\n')}"`,
    );
    assert.doesNotMatch(out, LONG_RUN);
    assert.ok(!out.includes(file.slice(0, 40)), out);
    assert.match(out, /<Bilag>\[file content left out: Bilag, 600 bytes\]<\/Bilag>/);
    assert.match(out, /&lt;v2:FormularIndhold&gt;\[file content left out: FormularIndhold, 1 byte\]&lt;/);
    assert.equal(out.match(/\[file content left out: 600 bytes\]/g)?.length, 3, out);
  });

  it('keeps what is not file content: short values, identifiers, prose, markers of removed contents', () => {
    const text =
      '<v2:ID>3f2c8e0a-6b1d-4c2e-9a7f-0d1e2f3a4b5c</v2:ID><Note>Borger har søgt om helbredstillæg</Note><Kode>ACCEPTERET</Kode>' +
      '<v2:FormularIndhold><!-- os2: file contents removed after delivery: 120 bytes, sha256 ab12 --></v2:FormularIndhold>' +
      `<Digest>${'ab'.repeat(32)}</Digest> ${'Lorem ipsum dolor sit amet. '.repeat(50)}`;
    assert.equal(elideFileContents(text), text);
  });

  it("leaves out file objects' content/data and base64 fields in values and in JSON text", () => {
    const file = { name: 'overslag briller.pdf', mime: 'application/pdf', content: 'JVBERi0xLjQKJSVFT0YK' };
    const value = { files: [file, { element: 'bilag', data: 'aGVq' }], data: { ansoeger_fornavn: 'Ida' }, pdfBase64: 'JVBERi0xLjQK', note: `x ${b64(300)}` };
    const out = elideFileContentsDeep(value);
    assert.deepEqual(out, {
      files: [
        { name: 'overslag briller.pdf', mime: 'application/pdf', content: '[file content left out: content, 15 bytes]' },
        { element: 'bilag', data: '[file content left out: data, 3 bytes]' },
      ],
      data: { ansoeger_fornavn: 'Ida' },
      pdfBase64: '[file content left out: pdfBase64, 9 bytes]',
      note: 'x [file content left out: 300 bytes]',
    });
    assert.equal(value.files[0], file, 'the input is not changed');
    assert.equal(file.content, 'JVBERi0xLjQKJSVFT0YK');
    assert.equal(
      elideFileContents(JSON.stringify({ files: [file], status: 'ok' })),
      '{"files":[{"name":"overslag briller.pdf","mime":"application/pdf","content":"[file content left out: content, 15 bytes]"}],"status":"ok"}',
    );
    assert.equal(elideFileContents('{"content":"Hej","code":"ABC"}'), '{"content":"Hej","code":"ABC"}', 'content without a file beside it');
  });

  it('is quick on a large request (a 5 MB PDF inline, and 2 MB of prose)', () => {
    const started = Date.now();
    elideFileContents(`<a><v2:FormularIndhold>${b64(5_000_000)}</v2:FormularIndhold></a>`);
    elideFileContents('Borger har søgt om helbredstillæg og tandbehandling. '.repeat(40_000));
    assert.ok(Date.now() - started < 2000, `${Date.now() - started} ms`);
  });
});
