import { strict as assert } from 'node:assert';
import { XMLSerializer } from '@xmldom/xmldom';
import { parseXmlSafely, XmlError } from '../../../lib/xml/safe-xml';

describe('lib/xml/safe-xml with xmldom remembering its grammar expressions (xmldom-regexps.ts)', () => {
  const grammar = require('@xmldom/xmldom/lib/grammar') as { reg: (...parts: Array<string | RegExp>) => RegExp; QName_group: RegExp; S_OPT: RegExp };

  it('gives the same expression instance for the same grammar parts, and a new one for other parts', () => {
    const a = grammar.reg('^', grammar.QName_group, grammar.S_OPT, '$');
    assert.equal(grammar.reg('^', grammar.QName_group, grammar.S_OPT, '$'), a);
    assert.notEqual(grammar.reg('^', grammar.QName_group), a);
    assert.equal(a.global || a.sticky, false, 'stateless: safe to share');
  });

  it('parses as before: namespaces, end tags with space, and a document of many elements round-trip', () => {
    const xml = `<a:r xmlns:a="urn:a"><a:x >1</a:x >${'<b:i xmlns:b="urn:b" k="v">t</b:i>'.repeat(200)}</a:r>`;
    const doc = parseXmlSafely(xml);
    assert.equal(doc.documentElement!.getElementsByTagNameNS('urn:b', 'i').length, 200);
    assert.equal(new XMLSerializer().serializeToString(doc), xml.replace('<a:x >1</a:x >', '<a:x>1</a:x>'));
  });

  it('still refuses bad end tags and mismatched elements', () => {
    assert.throws(() => parseXmlSafely('<a><b></c></a>'), XmlError);
    assert.throws(() => parseXmlSafely('<a></a b>'), XmlError);
    assert.throws(() => parseXmlSafely('<a></1a>'), XmlError);
  });
});
