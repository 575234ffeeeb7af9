import * as assert from 'assert';
import { XMLSerializer, type Element } from '@xmldom/xmldom';
import {
  AfsendInputError,
  buildAfsendRequest,
  buildAfsendRequestFromAnmodning,
  buildAfsendResponse,
  parseAfsendRequest,
  parseAfsendResponse,
} from '../../../lib/sf2900/afsend';
import { NS } from '../../../lib/sf2900/namespaces';
import { parseSoapBody, soapEnvelope } from '../../../lib/sf2900/soap';
import { parseXmlSafely } from '../../../lib/xml/safe-xml';
import type { XsdSchema } from '../../../lib/xml/xsd';
import { AFSEND_OPTS, dokument, formular, journalpost, msgXsd, PDF_BASE64, SENDER_CVR, SYSTEM_UUID, TX_ID } from './fixtures';

function root(xml: string): Element {
  return parseXmlSafely(xml).documentElement as unknown as Element;
}
function all(xml: string, ns: string, name: string): Element[] {
  return Array.from(root(xml).getElementsByTagNameNS(ns, name)) as unknown as Element[];
}
function one(xml: string, ns: string, name: string): Element {
  const found = all(xml, ns, name);
  assert.strictEqual(found.length, 1, `expected one {${ns}}${name}, found ${found.length}`);
  return found[0];
}
function assertValid(schema: XsdSchema, xml: string): void {
  const r = schema.validate(xml);
  assert.ok(r.valid, `not valid against DistributionServiceMsg.xsd: ${JSON.stringify(r.errors)}`);
}

describe('lib/sf2900 afsend', () => {
  let schema: XsdSchema;
  before(async () => {
    schema = await msgXsd();
  });

  describe('conformance with the official contract', () => {
    for (const [name, make] of [
      ['JOURNALPOST', journalpost],
      ['DOKUMENT', dokument],
      ['FORMULAR', formular],
    ] as const) {
      it(`a ${name} request validates against DistributionServiceMsg.xsd`, () => {
        assertValid(schema, buildAfsendRequest(make(), AFSEND_OPTS));
      });
    }

    it('a request routed to an IT-system (RoutingModtagerAktoer) validates', () => {
      const obj = journalpost();
      obj.context.routing = { receivingAuthorityCvr: '14814833', receivingSystemUuid: '2B2A6F0E-6C1B-4B4F-9A57-6F1D2D3C4B5A' };
      obj.kleProposal = '32.03.12';
      const xml = buildAfsendRequest(obj, AFSEND_OPTS);
      assertValid(schema, xml);
      assert.strictEqual(one(xml, NS.v2, 'RoutingModtagerAktoer').textContent, '2b2a6f0e-6c1b-4b4f-9a57-6f1d2d3c4b5a');
      assert.strictEqual(all(xml, NS.v2, 'RoutingKLEEmneHandling').length, 0);
    });

    it('the validator notices a request with elements out of order (this test can fail)', () => {
      const xml = buildAfsendRequest(journalpost(), AFSEND_OPTS);
      const swapped = xml.replace(/(<v2:AfsendendeMyndighed>\d+<\/v2:AfsendendeMyndighed>)(<v2:RoutingMyndighed>\d+<\/v2:RoutingMyndighed>)/, '$2$1');
      assert.notStrictEqual(swapped, xml);
      assert.strictEqual(schema.validate(swapped).valid, false);
    });
  });

  describe('serialisation details', () => {
    it('puts the wrapper in v3, the content in v2 and the sender CVR in AuthorityContext', () => {
      const xml = buildAfsendRequest(journalpost(), AFSEND_OPTS);
      const r = root(xml);
      assert.strictEqual(r.localName, 'FordelingsobjektAfsendRequest');
      assert.strictEqual(r.namespaceURI, NS.v3);
      assert.strictEqual(one(xml, NS.v3, 'anmodning').parentNode!.localName, 'FordelingsobjektAfsendRequest');
      assert.strictEqual(one(xml, NS.authorityContext, 'MunicipalityCVR').textContent, SENDER_CVR);
      assert.strictEqual(one(xml, NS.v2, 'AfsendendeMyndighed').textContent, SENDER_CVR);
      assert.strictEqual(one(xml, NS.v2, 'AnvenderTransaktionsID').textContent, TX_ID);
      assert.strictEqual(one(xml, NS.v2, 'ObjektType').textContent, 'JOURNALPOST');
      assert.ok(!xml.startsWith('<?xml'), 'the body element carries no XML declaration');
    });

    it('spells FraTidsPunkt (Registrering) and FraTidspunkt (Virkning) as the contract does, every Virkning inline', () => {
      const xml = buildAfsendRequest(dokument(), AFSEND_OPTS);
      assert.strictEqual(one(xml, NS.v2, 'FraTidsPunkt').parentNode!.localName, 'Registrering');
      const virkninger = all(xml, NS.v2, 'Virkning');
      assert.strictEqual(virkninger.length, 3, 'Variant, Tilstand and Attributter each carry their own Virkning');
      for (const v of virkninger) {
        assert.strictEqual(v.getElementsByTagNameNS(NS.v2, 'FraTidspunkt')[0].textContent, '2026-04-24T10:11:12+02:00');
        assert.strictEqual(v.getElementsByTagNameNS(NS.v2, 'UUID')[0].textContent, SYSTEM_UUID);
        assert.strictEqual(v.getElementsByTagNameNS(NS.v2, 'AktoerType')[0].textContent, 'ItSystem');
      }
      assert.ok(!/\s(id|href)=/.test(xml), 'no SOAP multi-refs');
    });

    it('maps JOURNALPOST like ITK: Rolle Journalpost, Indeks 1, Notat/Titel, escaped text', () => {
      const xml = buildAfsendRequest(journalpost(), AFSEND_OPTS);
      assert.strictEqual(one(xml, NS.v2, 'Rolle').textContent, 'Journalpost');
      assert.strictEqual(one(xml, NS.v2, 'Indeks').textContent, '1');
      assert.strictEqual(one(xml, NS.v2, 'Notat').textContent, 'Borger har søgt om helbredstillæg & tandbehandling <hastesag>');
      assert.strictEqual(one(xml, NS.v2, 'Titel').textContent, 'Ansøgning modtaget');
      assert.strictEqual(one(xml, NS.v2, 'LivscyklusKode').textContent, 'Oprettet');
      assert.strictEqual(one(xml, NS.v2, 'KLEEmneForslag').textContent, '32.03.12');
      assert.strictEqual(one(xml, NS.v2, 'HandlingFacetForslag').textContent, 'G01');
    });

    it('maps DOKUMENT with DokumentFilNavn, variant and attributes', () => {
      const xml = buildAfsendRequest(dokument(), AFSEND_OPTS);
      assert.strictEqual(one(xml, NS.v2, 'DokumentFilNavn').textContent, 'os2forms_fordeling_1_5c1e2f3a_bilag.pdf');
      assert.strictEqual(one(xml, NS.v2, 'VariantType').textContent, 'PDF');
      assert.strictEqual(one(xml, NS.v2, 'DelTekst').textContent, 'Hele dokumentet');
      assert.strictEqual(one(xml, NS.v2, 'Filstoerrelse').textContent, '1234');
      assert.strictEqual(one(xml, NS.v2, 'MimeType').textContent, 'application/pdf');
      assert.strictEqual(one(xml, NS.v2, 'Fremdrift').textContent, 'Endeligt');
      assert.strictEqual(one(xml, NS.v2, 'Brevdato').textContent, '2026-04-24');
    });

    it('DOKUMENT without an SFTP file name is refused', () => {
      const obj = dokument();
      delete obj.dokument!.file.sftpName;
      assert.throws(
        () => buildAfsendRequest(obj, AFSEND_OPTS),
        (e: Error) => e instanceof AfsendInputError && /SFTP file name/.test(e.message),
      );
    });

    it('puts the form root into FormularXML without declaration, with xmlns="" and its content intact', () => {
      const xml = buildAfsendRequest(formular(), AFSEND_OPTS);
      assert.strictEqual((xml.match(/<\?xml/g) ?? []).length, 0);
      const holder = one(xml, NS.v2, 'FormularXML');
      const kids = Array.from(holder.childNodes).filter((n) => n.nodeType === 1) as unknown as Element[];
      assert.strictEqual(kids.length, 1);
      assert.strictEqual(kids[0].localName, 'SP241');
      assert.strictEqual(kids[0].namespaceURI, null);
      assert.match(xml, /<v2:FormularXML><SP241 xmlns=""/);
      assert.strictEqual(kids[0].getElementsByTagName('Personnummer')[0].textContent, 'urn:oio:cpr:0000000000');
      assert.strictEqual(
        Buffer.from(one(xml, NS.v2, 'FormularIndhold').textContent!, 'base64').toString('latin1'),
        Buffer.from(PDF_BASE64, 'base64').toString('latin1'),
      );
      assert.strictEqual(one(xml, NS.v2, 'FormularType').textContent, 'HelbredstillægAnsøgningFormular_1');
    });

    it('keeps a namespaced form root in its namespace', () => {
      const xml = buildAfsendRequest(formular('<?xml version="1.0"?><f:Form xmlns:f="urn:x"><f:A>1</f:A></f:Form>'), AFSEND_OPTS);
      assertValid(schema, xml);
      const form = one(xml, 'urn:x', 'Form');
      assert.strictEqual(form.parentNode!.localName, 'FormularXML');
    });

    it('refuses form XML that is not one safe, well-formed element', () => {
      for (const bad of ['', '<a/><b/>', '<a>', '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', 'just text']) {
        assert.throws(() => buildAfsendRequest(formular(bad), AFSEND_OPTS), AfsendInputError, `accepted ${JSON.stringify(bad)}`);
      }
    });

    it('refuses invalid input with a clear AfsendInputError', () => {
      const cases: Array<[(o: ReturnType<typeof journalpost>) => void, RegExp]> = [
        [(o) => (o.context.routing.receivingAuthorityCvr = '1234'), /RoutingMyndighed.*not valid/],
        [(o) => (o.context.routing.receivingSystemUuid = SYSTEM_UUID), /exactly one of kle or receivingSystemUuid/],
        [(o) => (o.context.routing.kle = '32.3.12'), /RoutingKLEEmne.*not valid/],
        [(o) => (o.journalpost!.noteText = ''), /Notat.*required/],
        [(o) => (o.registeredAt = 'yesterday'), /FraTidsPunkt.*not valid/],
        [(o) => ((o as { objektType: string }).objektType = 'BREV'), /objektType "BREV"/],
      ];
      for (const [mutate, re] of cases) {
        const o = journalpost();
        mutate(o);
        assert.throws(
          () => buildAfsendRequest(o, AFSEND_OPTS),
          (e: Error) => e instanceof AfsendInputError && re.test(e.message),
          String(re),
        );
      }
      const f = formular();
      f.formular!.pdfBase64 = 'not base64!';
      assert.throws(() => buildAfsendRequest(f, AFSEND_OPTS), /not valid base64/);
      assert.throws(() => buildAfsendRequest(journalpost(), { ...AFSEND_OPTS, senderCvr: 'x' }), /sender CVR/);
    });

    it('derives a stable object ID from the submission when none is given', () => {
      const a = one(buildAfsendRequest(journalpost(), AFSEND_OPTS), NS.v2, 'ID').textContent;
      const b = one(buildAfsendRequest(journalpost(), { ...AFSEND_OPTS, transactionId: SYSTEM_UUID }), NS.v2, 'ID').textContent;
      assert.strictEqual(a, b);
      assert.notStrictEqual(a, TX_ID);
    });
  });

  describe('round trips', () => {
    it('what the sender builds, the platform side reads back', () => {
      const xml = buildAfsendRequest(formular(), AFSEND_OPTS);
      const info = parseAfsendRequest(parseSoapBody(soapEnvelope(xml)));
      assert.strictEqual(info.authorityCvr, SENDER_CVR);
      assert.strictEqual(info.objektType, 'FORMULAR');
      assert.strictEqual(info.formularType, 'HelbredstillægAnsøgningFormular_1');
      assert.deepStrictEqual(info.context, { transactionId: TX_ID, senderCvr: SENDER_CVR, routingCvr: '14814833', kle: '32.03.12', handlingFacet: 'G01' });
    });

    it('an Afsend response validates and parses into both IDs and the receipt', () => {
      const env = buildAfsendResponse({
        receipt: { code: 'MODTAGET', type: 'Teknisk', errors: [] },
        context: { transactionId: TX_ID, distributionTransactionId: SYSTEM_UUID, senderCvr: SENDER_CVR, routingCvr: '14814833', kle: '32.03.12' },
      });
      assertValid(schema, new XMLSerializer().serializeToString(parseSoapBody(env)));
      const r = parseAfsendResponse(env);
      assert.strictEqual(r.distributionTransactionId, SYSTEM_UUID);
      assert.strictEqual(r.distributionContext.transactionId, TX_ID);
      assert.deepStrictEqual(r.receipt, { code: 'MODTAGET', type: 'Teknisk', reason: undefined, errors: [] });
    });

    it('parses a response written by someone else (other prefixes, default namespaces)', () => {
      const env =
        `<S:Envelope xmlns:S="${NS.soap11}"><S:Body><FordelingsobjektAfsendResponse xmlns="${NS.v3}">` +
        `<ForretningsKvittering><ForretningsValideringsKode xmlns="${NS.v2}">ACCEPTERET</ForretningsValideringsKode><Kvitteringstype xmlns="${NS.v2}">Forretning</Kvitteringstype></ForretningsKvittering>` +
        `<DistributionContext xmlns:x="${NS.v2}"><x:AnvenderTransaktionsID>${TX_ID}</x:AnvenderTransaktionsID><x:DistributionTransktionsID>${SYSTEM_UUID}</x:DistributionTransktionsID></DistributionContext>` +
        `</FordelingsobjektAfsendResponse></S:Body></S:Envelope>`;
      const r = parseAfsendResponse(env);
      assert.strictEqual(r.distributionTransactionId, SYSTEM_UUID);
      assert.strictEqual(r.receipt.code, 'ACCEPTERET');
    });

    it('wraps an expert anmodning and the result still validates', () => {
      const built = buildAfsendRequest(journalpost(), AFSEND_OPTS);
      const anmodning = new XMLSerializer().serializeToString(one(built, NS.v3, 'anmodning'));
      const xml = buildAfsendRequestFromAnmodning(anmodning, SENDER_CVR);
      assertValid(schema, xml);
      assert.throws(() => buildAfsendRequestFromAnmodning('<x/>', SENDER_CVR), /Expected an <anmodning>/);
    });
  });
});
