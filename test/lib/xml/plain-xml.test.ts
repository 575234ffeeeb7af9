import { strict as assert } from 'node:assert';
import { interpretAfsend } from '../../../lib/delivery/deliver';
import { buildAfsendResponse } from '../../../lib/sf2900/afsend';
import { buildSoapFault, parseSoapBody } from '../../../lib/sf2900/soap';
import { childText } from '../../../lib/xml/dom';
import { parsePlainXml } from '../../../lib/xml/plain-xml';

interface Named {
  localName: string;
  namespaceURI: string | null;
  textContent: string;
  nextSibling: Named | null;
}

const context = {
  transactionId: 'b58d477b-3fba-5976-92c9-af5a8b87e8f5',
  distributionTransactionId: 'fc156d52-1909-470f-bc63-481772e43bc5',
  senderCvr: '12345678',
  routingCvr: '14814833',
  kle: '32.03.12',
  handlingFacet: 'G01',
};

describe('lib/xml/plain-xml: plain XML read without a DOM, anything else left to xmldom', () => {
  it('reads elements, namespaces in scope, and text as the DOM readers see them', () => {
    const plain = parsePlainXml(
      '<?xml version="1.0" encoding="UTF-8"?>\n<s:E xmlns:s="urn:s" xmlns="urn:d"><s:B ><x>a > b</x><y/><p:z xmlns:p="urn:p">t</p:z><w xmlns="">u</w></s:B></s:E>\n',
    );
    assert.ok(plain);
    assert.deepEqual([plain.localName, plain.namespaceURI, plain.nodeName], ['E', 'urn:s', 's:E']);
    const b = plain.firstChild as unknown as { firstChild: Named };
    const names: Array<[string, string | null, string]> = [];
    for (let n: Named | null = b.firstChild; n; n = n.nextSibling) names.push([n.localName, n.namespaceURI, n.textContent]);
    assert.deepEqual(names, [
      ['x', 'urn:d', 'a > b'],
      ['y', 'urn:d', ''],
      ['z', 'urn:p', 't'],
      ['w', null, 'u'],
    ]);
    assert.equal(childText(plain as never, 'B', 'z'), 't');
    // a reference is not read here: the same document with &gt; is left to xmldom
    assert.equal(parsePlainXml('<s:E xmlns:s="urn:s"><x>a &gt; b</x></s:E>'), undefined);
  });

  it('declines (undefined, never throws) what is not plain or not well-formed', () => {
    const declined = [
      '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>',
      '<a>&amp;</a>',
      '<a>&#65;</a>',
      '<a><!-- c --></a>',
      '<a><![CDATA[x]]></a>',
      '<?pi x?><a/>',
      '<?xml version="1.0"" ?><a/>',
      '<a b="1"/>',
      '<p:a/>',
      '<a xmlns:p=""/>',
      '<a></b>',
      '<a><b></a></b>',
      '<a/><b/>',
      '<a/>x',
      '<a>x\r\ny</a>',
      '<a>x\u2028y</a>',
      '<a>]]></a>',
      '<a>\u0001</a>',
      '<a',
      '<a>',
      '',
      '<æ/>',
      '<?xml version="1.0"?>\u00A0<a/>',
      '<a><xmlns/></a>',
    ];
    for (const text of declined) assert.equal(parsePlainXml(text), undefined, text);
  });

  it("reads the platform's FordelingsobjektAfsend answer as the DOM path does, and falls back for the rest", () => {
    const ok = buildAfsendResponse({ receipt: { code: 'MODTAGET', type: 'Teknisk', errors: [] }, context });
    assert.ok(parsePlainXml(ok), 'the simulator answers in plain XML');
    assert.deepEqual(interpretAfsend({ status: 200, body: ok }), {
      distributionTransactionId: context.distributionTransactionId,
      receipt: { code: 'MODTAGET', type: 'Teknisk', reason: undefined, errors: [] },
    });
    // an answer with a reference (here in the reason) goes through xmldom and gives the same kind of result
    const refused = buildAfsendResponse({
      receipt: { code: 'AFVIST', type: 'Forretning', reason: 'KLE & facet', errors: [{ code: 'F1', text: 'a < b' }] },
      context,
    });
    assert.equal(parsePlainXml(refused), undefined);
    assert.throws(
      () => interpretAfsend({ status: 200, body: refused }),
      (e: Error & { class?: string }) => /AFVIST: KLE & facet/.test(e.message) && e.class === 'permanent',
    );
    // a fault in plain XML is read as a fault either way
    const fault = buildSoapFault({ faultCode: 'Server', faultString: 'down', transportKvittering: { code: 'FEJL', reason: 'busy', errors: [] } });
    assert.ok(parsePlainXml(fault), 'the fault is plain XML');
    const viaPlain = (() => {
      try {
        parseSoapBody(fault, { plain: true });
      } catch (e) {
        return e;
      }
    })();
    const viaDom = (() => {
      try {
        parseSoapBody(fault);
      } catch (e) {
        return e;
      }
    })();
    assert.ok(viaPlain instanceof Error);
    assert.deepEqual({ ...(viaPlain as object), stack: '' }, { ...(viaDom as object), stack: '' });
  });
});
