import * as assert from 'assert';
import { NS } from '../../../lib/sf2900/namespaces';
import { buildSoapFault, isSoapFault, parseSoapBody, SoapFaultError, soapEnvelope } from '../../../lib/sf2900/soap';
import { parseXmlSafely, XmlError } from '../../../lib/xml/safe-xml';
import { XMLSerializer, type Element } from '@xmldom/xmldom';
import { msgV2Xsd, msgXsd } from './fixtures';

function faultOf(xml: string): SoapFaultError {
  try {
    parseSoapBody(xml);
  } catch (err) {
    assert.ok(err instanceof SoapFaultError, `expected SoapFaultError, got ${(err as Error).name}: ${(err as Error).message}`);
    return err;
  }
  throw new Error('no fault thrown');
}

describe('lib/sf2900 soap', () => {
  it('wraps a body element in a SOAP 1.1 envelope and reads it back', () => {
    const env = soapEnvelope('<a:X xmlns:a="urn:a">1</a:X>', '<h:H xmlns:h="urn:h"/>');
    assert.match(
      env,
      /^<\?xml version="1.0" encoding="UTF-8"\?><soapenv:Envelope xmlns:soapenv="http:\/\/schemas.xmlsoap.org\/soap\/envelope\/"><soapenv:Header>/,
    );
    const el = parseSoapBody(env);
    assert.strictEqual(el.localName, 'X');
    assert.strictEqual(el.namespaceURI, 'urn:a');
  });

  it('turns a TransportKvittering fault into SoapFaultError with FEJL and FejlListe (round trip)', () => {
    const xml = buildSoapFault({
      faultCode: 'Client',
      faultString: 'Validering fejlede',
      transportKvittering: {
        code: 'FEJL',
        reason: 'Skemafejl',
        errors: [
          { code: 'E1', text: 'Mangler <Notat> & mere' },
          { code: 'E2', text: 'x' },
        ],
      },
    });
    const f = faultOf(xml);
    assert.strictEqual(f.faultCode, 'soapenv:Client');
    assert.strictEqual(f.faultString, 'Validering fejlede');
    assert.deepStrictEqual(f.transportKvittering, {
      code: 'FEJL',
      reason: 'Skemafejl',
      errors: [
        { code: 'E1', text: 'Mangler <Notat> & mere' },
        { code: 'E2', text: 'x' },
      ],
    });
    assert.match(f.message, /Validering fejlede.*E1: Mangler <Notat> & mere; E2: x/);
    assert.ok(isSoapFault(f));
  });

  it('the TransportKvittering detail validates against the contract (v3 for the platform, v2 for the sender endpoint)', async () => {
    const detailOf = (xml: string): string => {
      const tk = parseXmlSafely(xml).getElementsByTagNameNS('*', 'TransportKvittering')[0] as unknown as Element;
      return new XMLSerializer().serializeToString(tk);
    };
    const tk = { code: 'FEJL' as const, reason: 'r', errors: [{ code: 'E', text: 't' }] };
    const v3 = detailOf(buildSoapFault({ faultCode: 'Client', faultString: 'x', transportKvittering: tk }));
    const v2 = detailOf(buildSoapFault({ faultCode: 'Client', faultString: 'x', transportKvittering: tk, transportKvitteringNs: 'v2' }));
    assert.ok((await msgXsd()).validate(v3).valid, v3);
    assert.ok((await msgV2Xsd()).validate(v2).valid, v2);
    assert.strictEqual((await msgV2Xsd()).validate(v3).valid, false, 'the namespaces really differ');
  });

  it('reads ServiceplatformFault errors', () => {
    const f = faultOf(buildSoapFault({ faultCode: 'Client', faultString: 'Adgang nægtet', platformErrors: [{ code: '403', text: 'Ingen aftale' }] }));
    assert.deepStrictEqual(f.platformErrors, [{ code: '403', text: 'Ingen aftale' }]);
    assert.strictEqual(f.transportKvittering, undefined);
  });

  it('reads a fault written with other prefixes and a v2 TransportKvittering', () => {
    const xml =
      `<s:Envelope xmlns:s="${NS.soap11}"><s:Body><s:Fault><faultcode>s:Server</faultcode><faultstring>boom</faultstring>` +
      `<detail><TransportKvittering xmlns="${NS.v2}"><TransportValideringsKode>FEJL</TransportValideringsKode><FejlListe><Fejl><FejlKode>42</FejlKode><FejlTekst>nej</FejlTekst></Fejl></FejlListe></TransportKvittering></detail>` +
      `</s:Fault></s:Body></s:Envelope>`;
    const f = faultOf(xml);
    assert.strictEqual(f.transportKvittering?.errors[0].code, '42');
  });

  it('reads a SOAP 1.2 fault', () => {
    const xml = `<e:Envelope xmlns:e="${NS.soap12}"><e:Body><e:Fault><e:Code><e:Value>e:Sender</e:Value></e:Code><e:Reason><e:Text xml:lang="en">bad</e:Text></e:Reason></e:Fault></e:Body></e:Envelope>`;
    const f = faultOf(xml);
    assert.strictEqual(f.faultCode, 'e:Sender');
    assert.strictEqual(f.faultString, 'bad');
  });

  it('treats a bare TransportKvittering FEJL in the body as a fault', () => {
    const xml = soapEnvelope(
      `<t:TransportKvittering xmlns:t="${NS.v3}"><t:TransportValideringsKode>FEJL</t:TransportValideringsKode><t:Begrundelse>nej</t:Begrundelse></t:TransportKvittering>`,
    );
    assert.strictEqual(faultOf(xml).transportKvittering?.reason, 'nej');
  });

  it('tolerates a byte-order mark or blank lines before the XML declaration', () => {
    for (const pre of ['\uFEFF', '\r\n  ', '\uFEFF\n']) assert.strictEqual(parseSoapBody(pre + soapEnvelope('<a:X xmlns:a="urn:a"/>')).localName, 'X');
  });

  it('refuses malformed text, non-envelopes, empty bodies and DTDs with XmlError', () => {
    for (const bad of ['<x', '<x/>', soapEnvelope(''), `<!DOCTYPE x [<!ENTITY a "b">]><x/>`, '']) {
      assert.throws(() => parseSoapBody(bad), XmlError, JSON.stringify(bad));
    }
  });
});
