import { strict as assert } from 'node:assert';
import { checkXmlTemplate, Template, TemplateError, toFormXml } from '../../../lib/mapping/template';

const ctx = {
  data: { navn: 'Ida <Ø> & "Å" \'x\'', tom: '', nul: 0, liste: ['a', 'b'], obj: { a: 1 }, cpr: '010203-1234', beloeb: '1.234,5' },
  files: [
    { name: 'a.pdf', role: 'Overslag', sftpName: 'os2forms_x_0_a.pdf' },
    { name: 'b.pdf', role: 'Bilag', sftpName: 'os2forms_x_1_b.pdf' },
  ],
  header: { cvr: 'DK 14814833' },
  bin: Buffer.from('hemmeligt'),
};

describe('lib/mapping/template', () => {
  it('substitutes paths and XML-escapes <&"\' while keeping Danish letters', () => {
    const out = new Template('<a n="{{data.navn}}">{{data.navn}}</a>').render(ctx);
    assert.equal(out, '<a n="Ida &lt;Ø&gt; &amp; &quot;Å&quot; &apos;x&apos;">Ida &lt;Ø&gt; &amp; &quot;Å&quot; &apos;x&apos;</a>');
    assert.equal(new Template('{{data.navn}}').render(ctx, { escape: false }), 'Ida <Ø> & "Å" \'x\'');
  });

  it('loops with @index/@number/@first/@last, else for empty lists, and indexes lists by number', () => {
    const t = new Template('{{#each files}}[{{@number}}:{{sftpName}}:{{role}}{{#if @last}}!{{/if}}]{{else}}none{{/each}}|{{files.1.name}}');
    assert.equal(t.render(ctx), '[1:os2forms_x_0_a.pdf:Overslag][2:os2forms_x_1_b.pdf:Bilag!]|b.pdf');
    assert.equal(t.render({ files: [] }, { strict: false }), 'none|');
    assert.equal(new Template('{{#each data.liste}}<i>{{this}}</i>{{/each}}').render(ctx), '<i>a</i><i>b</i>');
    // an outer name is still visible inside the loop
    assert.equal(new Template('{{#each files}}{{header.cvr}};{{/each}}').render(ctx), 'DK 14814833;DK 14814833;');
  });

  it('conditionals: #if/#unless with else, empty string, 0 and [] are false; helper conditions', () => {
    const t = new Template(
      '{{#if data.tom}}A{{else}}B{{/if}}{{#if data.nul}}C{{else}}D{{/if}}{{#unless data.liste}}E{{else}}F{{/unless}}{{#if eq data.cpr "010203-1234"}}G{{/if}}',
    );
    assert.equal(t.render(ctx), 'BDFG');
    assert.equal(new Template('{{#with data.obj}}{{a}}{{/with}}').render(ctx), '1');
  });

  it('contract helpers: cvrUrn, cprUrn, date, dateTime with offset, decimal, digits, truncate, default', () => {
    const t = new Template(
      '{{cvrUrn header.cvr}}|{{cprUrn data.cpr}}|{{date "2026-11-21T23:15:00Z"}}|{{dateTime "2026-07-01T10:00:00Z"}}|{{decimal data.beloeb}}|{{digits "+45 12 34"}}|{{truncate "æøåæøå" 3}}|{{default data.tom "ingen"}}',
    );
    assert.equal(t.render(ctx), 'urn:oio:cvr-nr:14814833|urn:oio:cpr:0102031234|2026-11-22|2026-07-01T12:00:00+02:00|1234.50|451234|æøå|ingen');
  });

  it('strict mode names the missing placeholder and its line; non-strict renders empty', () => {
    const t = new Template('<a>\n<b>{{data.mangler}}</b>\n</a>');
    assert.throws(
      () => t.render(ctx),
      (e: Error) => e instanceof TemplateError && /line 2/.test(e.message) && /data\.mangler/.test(e.message),
    );
    assert.equal(t.render(ctx, { strict: false }), '<a>\n<b></b>\n</a>');
  });

  it('refuses to print objects, lists and binary data (never file contents)', () => {
    assert.throws(() => new Template('{{data.obj}}').render(ctx), /an object/);
    assert.throws(() => new Template('{{data.liste}}').render(ctx), /a list/);
    assert.throws(
      () => new Template('{{bin}}').render(ctx),
      (e: Error) => /binary/.test(e.message) && !e.message.includes('hemmeligt'),
    );
  });

  it('helper errors name the placeholder without echoing a CPR number', () => {
    assert.throws(
      () => new Template('{{cprUrn data.navn}}').render(ctx),
      (e: Error) => /cprUrn data\.navn/.test(e.message) && /10 digits/.test(e.message),
    );
  });

  it('syntax errors are reported with the line: unclosed, mismatched, unknown helper/block, stray else', () => {
    assert.throws(() => new Template('a\n{{#if x}}'), /line 2: \{\{#if\}\} is never closed/);
    assert.throws(() => new Template('{{#if x}}{{/each}}'), /closes \{\{#if\}\}/);
    assert.throws(() => new Template('{{shout x}}'), /unknown helper "shout"/);
    assert.throws(() => new Template('{{#loop x}}{{/loop}}'), /unknown block/);
    assert.throws(() => new Template('{{else}}'), /outside/);
    assert.throws(() => new Template('{{a b c'), /without a closing/);
    assert.throws(() => new Template('{{a!b}}'), /not a path/);
  });

  it('is bounded: loop iterations, output size, template size and nesting depth', () => {
    const many = { xs: Array.from({ length: 50 }, (_, i) => i) };
    assert.throws(
      () => new Template('{{#each xs}}{{#each xs}}.{{/each}}{{/each}}').render(many, { limits: { maxIterations: 1000 } }),
      /more than 1000 loop iterations/,
    );
    assert.throws(() => new Template('{{#each xs}}0123456789{{/each}}').render(many, { limits: { maxOutputChars: 100 } }), /larger than 100/);
    assert.throws(() => new Template('x'.repeat(101), { maxTemplateChars: 100 }), /longer than 100/);
    assert.throws(() => new Template('{{#if a}}'.repeat(5) + '{{/if}}'.repeat(5), { maxDepth: 4 }), /deeper than 4/);
  });

  it('checks an XML template for well-formedness with the tags taken out', () => {
    assert.doesNotThrow(() => checkXmlTemplate('<A>{{#each files}}<B n="{{name}}">{{name}}</B>{{/each}}{{#if x}}<C/>{{else}}<D/>{{/if}}</A>'));
    assert.throws(() => checkXmlTemplate('<A><B></A>'), /not well-formed/);
    assert.throws(() => checkXmlTemplate('<A/><B/>'), /not well-formed/);
    assert.throws(() => checkXmlTemplate('<!DOCTYPE A [<!ENTITY x "y">]><A>&x;</A>'), /DTD/);
    assert.throws(() => checkXmlTemplate('<A>{{#if x}}</A>'), /never closed/);
  });

  it('toFormXml returns exactly the root element, without XML declaration or comments around it', () => {
    assert.equal(toFormXml('<?xml version="1.0" encoding="UTF-8"?>\n<!-- c -->\n<SP241 a="1"><B/></SP241>\n<!-- end -->\n'), '<SP241 a="1"><B/></SP241>');
    assert.equal(toFormXml('<A/>'), '<A/>');
    assert.throws(() => toFormXml('<A><B></A>'), /not well-formed/);
  });
});
