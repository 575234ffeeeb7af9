import * as assert from 'assert';
import { buildReceiptRequest, buildReceiptResponse, parseReceiptRequest } from '../../../lib/sf2900/receipts';
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
});
