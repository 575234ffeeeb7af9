import * as assert from 'assert';
import { buildReceiptRequest, buildReceiptResponse, isReceiptSoapAction, parseReceiptRequest, SoapVersionMismatchError } from '../../../lib/sf2900/receipts';
import { NS } from '../../../lib/sf2900/namespaces';
import { parseSoapBody, soapEnvelope } from '../../../lib/sf2900/soap';
import { XmlError } from '../../../lib/xml/safe-xml';
import type { XsdSchema } from '../../../lib/xml/xsd';
import { KP_CVR, msgV2Xsd, SENDER_CVR, SYSTEM_UUID, TX_ID } from './fixtures';

describe('lib/sf2900 receipts', () => {
  let v2: XsdSchema;
  before(async () => {
    v2 = await msgV2Xsd();
  });

  const data = {
    transactionId: TX_ID,
    distributionTransactionId: SYSTEM_UUID,
    senderCvr: SENDER_CVR,
    routingCvr: KP_CVR,
    routing: { kle: '32.03.12', handlingFacet: 'G01' },
    receipt: { code: 'AFVIST', type: 'Forretning', reason: 'Ingen modtager & ingen regel', errors: [{ code: 'X1', text: 'Ukendt <KLE>' }] },
  };

  it('a receipt request validates against DistributionServiceMsgV2.xsd and parses back', () => {
    const xml = buildReceiptRequest(data);
    const r = v2.validate(xml);
    assert.ok(r.valid, JSON.stringify(r.errors));
    const parsed = parseReceiptRequest(soapEnvelope(xml));
    assert.strictEqual(parsed.transactionId, TX_ID);
    assert.strictEqual(parsed.distributionTransactionId, SYSTEM_UUID);
    assert.deepStrictEqual(parsed.receipt, data.receipt);
    assert.deepStrictEqual(parsed.context, {
      transactionId: TX_ID,
      distributionTransactionId: SYSTEM_UUID,
      senderCvr: SENDER_CVR,
      routingCvr: KP_CVR,
      kle: '32.03.12',
      handlingFacet: 'G01',
    });
  });

  it('a minimal Teknisk receipt routed by IT-system validates', () => {
    const xml = buildReceiptRequest({ ...data, routing: { receivingSystemUuid: SYSTEM_UUID }, receipt: { code: 'MODTAGET', type: 'Teknisk', errors: [] } });
    assert.ok(v2.validate(xml).valid);
    assert.ok(!xml.includes('FejlListe'));
  });

  it('the response is the empty FordelingskvitteringModtagAnvenderResponse, valid against the contract', () => {
    const env = buildReceiptResponse();
    const el = parseSoapBody(env);
    assert.strictEqual(el.localName, 'FordelingskvitteringModtagAnvenderResponse');
    assert.strictEqual(el.namespaceURI, NS.v2);
    assert.ok(v2.validate(`<v2:FordelingskvitteringModtagAnvenderResponse xmlns:v2="${NS.v2}"/>`).valid);
  });

  it('refuses unknown receipt codes when building', () => {
    assert.throws(() => buildReceiptRequest({ ...data, receipt: { code: 'OK', type: 'Teknisk', errors: [] } }), /ForretningsValideringsKode "OK"/);
  });

  it('rejects receipts without transaction ID, without code, of another element, or with a DTD', () => {
    const noTx = soapEnvelope(buildReceiptRequest(data).replace(/<v2:AnvenderTransaktionsID>[^<]*<\/v2:AnvenderTransaktionsID>/, ''));
    assert.throws(
      () => parseReceiptRequest(noTx),
      (e: Error) => e instanceof XmlError && /AnvenderTransaktionsID/.test(e.message),
    );
    const noCode = soapEnvelope(buildReceiptRequest(data).replace(/<v2:ForretningsValideringsKode>[^<]*<\/v2:ForretningsValideringsKode>/, ''));
    assert.throws(() => parseReceiptRequest(noCode), /ForretningsValideringsKode/);
    assert.throws(() => parseReceiptRequest(soapEnvelope('<x xmlns="urn:x"/>')), /Expected FordelingskvitteringModtagAnvenderRequest/);
    assert.throws(() => parseReceiptRequest('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'), XmlError);
  });

  it("reads only the anvender WSDL's elements: the body element and everything below it in the v2 namespace", () => {
    const xml = buildReceiptRequest(data);
    const refused = (body: string, why: RegExp) =>
      assert.throws(
        () => parseReceiptRequest(soapEnvelope(body)),
        (e: Error) => e instanceof XmlError && why.test(e.message),
      );
    refused(xml.replace(`xmlns:v2="${NS.v2}"`, 'xmlns:v2="urn:evil"'), /Expected FordelingskvitteringModtagAnvenderRequest in namespace .*got \{urn:evil\}/);
    refused(
      xml.replace(`xmlns:v2="${NS.v2}"`, `xmlns:v2="${NS.v3}"`),
      /got \{http:\/\/serviceplatformen.dk\/xml\/wsdl\/soap11\/DistributionService\/3\/types\}/,
    );
    refused(
      xml.replace(/<v2:Begrundelse>([^<]*)<\/v2:Begrundelse>/, '<v3:Begrundelse xmlns:v3="' + NS.v3 + '">$1</v3:Begrundelse>'),
      /holds \{http:\/\/serviceplatformen.dk\/xml\/wsdl\/soap11\/DistributionService\/3\/types\}Begrundelse/,
    );
    refused(
      xml.replace(
        '</v2:FordelingskvitteringModtagAnvenderRequest>',
        `${xml.match(/<v2:DistributionContext>.*<\/v2:DistributionContext>/)![0]}</v2:FordelingskvitteringModtagAnvenderRequest>`,
      ),
      /one DistributionContext \(has 2\)/,
    );
    refused(xml + '<v2:Extra xmlns:v2="' + NS.v2 + '"/>', /exactly one element \(holds 2\)/);
    // The v3 request of the Serviceplatform's own port is not what the sender's endpoint takes.
    const inner = xml.replace(/^<v2:FordelingskvitteringModtagAnvenderRequest[^>]*>/, '').replace(/<\/v2:FordelingskvitteringModtagAnvenderRequest>$/, '');
    const v3 = `<v3:FordelingskvitteringModtagRequest xmlns:v3="${NS.v3}" xmlns:v2="${NS.v2}">${inner}</v3:FordelingskvitteringModtagRequest>`;
    refused(v3, /Expected FordelingskvitteringModtagAnvenderRequest/);
  });

  it('a SOAP 1.2 envelope or an unknown envelope namespace is a version mismatch; a root of another name is malformed', () => {
    const body = buildReceiptRequest(data);
    const mismatch = (env: string, why: RegExp) =>
      assert.throws(
        () => parseReceiptRequest(env),
        (e: Error) => e instanceof SoapVersionMismatchError && e instanceof XmlError && why.test(e.message),
      );
    mismatch(`<e:Envelope xmlns:e="${NS.soap12}"><e:Body>${body}</e:Body></e:Envelope>`, /SOAP 1\.2/);
    mismatch(`<e:Envelope xmlns:e="urn:x"><e:Body>${body}</e:Body></e:Envelope>`, /namespace "urn:x"/);
    mismatch(`<Envelope><Body>${body}</Body></Envelope>`, /namespace ""/);
    assert.throws(
      () => parseReceiptRequest(`<e:Letter xmlns:e="${NS.soap11}"><e:Body>${body}</e:Body></e:Letter>`),
      (e: Error) => !(e instanceof SoapVersionMismatchError) && /expected a SOAP 1\.1 Envelope/.test(e.message),
    );
    assert.strictEqual(parseReceiptRequest('\uFEFF\n' + soapEnvelope(body)).transactionId, TX_ID, 'a byte-order mark and blank lines are tolerated');
  });

  it('SOAPAction: the contract\'s "" (quoted or empty) or none', () => {
    for (const ok of [undefined, '', '""', ' "" ']) assert.ok(isReceiptSoapAction(ok), JSON.stringify(ok));
    for (const bad of [
      '"x"',
      'FordelingskvitteringModtag',
      '"http://serviceplatformen.dk/xml/wsdl/soap11/DistributionService/3/port/FordelingskvitteringModtag"',
      '"", ""',
      "''",
    ])
      assert.ok(!isReceiptSoapAction(bad), bad);
  });
});
