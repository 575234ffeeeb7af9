// Facts about node-soap (npm `soap`, devDependency, evaluated as a replacement SOAP layer) that the decision in
// docs/architecture.md rests on. No network: node-soap's HTTP client is replaced by one that records the request and
// answers with a canned response. See bench/soap.bench.ts for the speed comparison.
import * as assert from 'assert';
import * as path from 'path';
import * as soap from 'soap';
import type { Element } from '@xmldom/xmldom';
import { buildAfsendRequest, buildAfsendResponse, contextFor, formularXmlElement } from '../../../lib/sf2900/afsend';
import { NS, SOAP_ACTIONS } from '../../../lib/sf2900/namespaces';
import { buildSoapFault, soapEnvelope } from '../../../lib/sf2900/soap';
import { parseXmlSafely } from '../../../lib/xml/safe-xml';
import type { XsdSchema } from '../../../lib/xml/xsd';
import { AFSEND_OPTS, contractDir, journalpost, msgXsd, sp241Xml } from './fixtures';

interface Sent {
  url: string;
  body: string;
  headers: Record<string, string>;
}

/** node-soap's httpClient seam: records what would go on the wire, answers with `reply`. */
function fakeHttp(sent: Sent[], reply: () => { status: number; body: string }) {
  return {
    request(url: string, body: string, cb: (err: unknown, res?: unknown, body?: string) => void, headers: Record<string, string>) {
      sent.push({ url, body, headers });
      const r = reply();
      setImmediate(() => cb(null, { status: r.status, headers: { 'content-type': 'text/xml; charset=utf-8' }, data: r.body }, r.body));
    },
  };
}

const virkning = () => ({ FraTidspunkt: '2026-04-24T10:11:12+02:00', Aktoer: { UUID: AFSEND_OPTS.senderSystemUuid }, AktoerType: 'ItSystem' });

/** The journalpost() fixture as node-soap arguments (what buildAfsendRequest writes for it). */
function journalpostArgs(): Record<string, any> {
  return {
    AuthorityContext: { MunicipalityCVR: AFSEND_OPTS.senderCvr },
    anmodning: {
      DistributionContext: {
        AnvenderTransaktionsID: AFSEND_OPTS.transactionId,
        AfsendendeMyndighed: AFSEND_OPTS.senderCvr,
        RoutingMyndighed: '14814833',
        RoutingValg: { RoutingKLEEmneHandling: { RoutingKLEEmne: '32.03.12', RoutingHandlingFacet: 'G01' } },
      },
      DistributionObject: {
        ObjektType: 'JOURNALPOST',
        ObjektIndhold: {
          DistributionJournalPost: {
            ID: '1ea9b08f-3119-5649-97ca-65de9f2fe10a',
            KLEEmneForslag: '32.03.12',
            HandlingFacetForslag: 'G01',
            Registrering: {
              FraTidsPunkt: '2026-04-24T10:11:12+02:00',
              LivscyklusKode: 'Oprettet',
              RegistreringItSystem: { UUID: AFSEND_OPTS.senderSystemUuid },
              RelationListe: {
                JournalPost: {
                  Virkning: virkning(),
                  Rolle: 'Journalpost',
                  Indeks: '1',
                  JournalpostAttributter: { Dokumenttitel: 'Ansøgning' },
                  JournalnotatAttributter: { Titel: 'Ansøgning modtaget', Notat: 'Borger har søgt om helbredstillæg & tandbehandling <hastesag>' },
                },
              },
            },
          },
        },
      },
    },
  };
}

function reversedDeep(o: unknown): unknown {
  if (!o || typeof o !== 'object' || Array.isArray(o)) return o;
  return Object.fromEntries(
    Object.keys(o)
      .reverse()
      .map((k) => [k, reversedDeep((o as Record<string, unknown>)[k])]),
  );
}

/** Every element under the first `localName` in document order (namespace, name, leaf text). */
function elementList(xml: string, localName: string): string[] {
  const root = parseXmlSafely(xml).getElementsByTagNameNS('*', localName)[0] as unknown as Element;
  const out: string[] = [];
  const walk = (e: Element): void => {
    const kids = Array.from(e.childNodes as unknown as ArrayLike<Element>).filter((n) => n.nodeType === 1);
    out.push(`{${e.namespaceURI ?? ''}}${e.localName}${kids.length ? '' : `=${e.textContent}`}`);
    kids.forEach(walk);
  };
  walk(root);
  return out;
}

function bodyElement(envelope: string): string {
  const m = /<soap:Body>([\s\S]*)<\/soap:Body>/.exec(envelope);
  assert.ok(m, 'no soap:Body');
  return m![1];
}

const WSDL = () => path.join(contractDir(), 'contract', 'wsdl', 'context', 'DistributionService.wsdl');
const ENDPOINT = 'https://sp.invalid/service/SP/Distribution/3';

/** What a node-soap call rejected with (it need not be an Error). */
async function rejection(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.fail('no rejection');
}

describe('node-soap against the SF2900 contract (evaluation facts)', () => {
  let schema: XsdSchema;
  let sent: Sent[];
  let reply: { status: number; body: string };
  let client: soap.Client;

  before(async () => {
    schema = await msgXsd();
    sent = [];
    client = await soap.createClientAsync(WSDL(), { endpoint: ENDPOINT, httpClient: fakeHttp(sent, () => reply) as never });
  });

  beforeEach(() => {
    sent.length = 0;
    reply = {
      status: 200,
      body: buildAfsendResponse({
        receipt: { code: 'MODTAGET', type: 'Teknisk', errors: [] },
        context: { ...contextFor(journalpost(), AFSEND_OPTS), distributionTransactionId: '8b672109-a7f6-4b68-939b-68b6776f1598' },
      }),
    };
  });

  it('sends a SOAP 1.1 FordelingsobjektAfsend whose body validates and carries exactly what buildAfsendRequest writes', async () => {
    const [result] = await client.FordelingsobjektAfsendAsync(journalpostArgs());
    assert.strictEqual(sent.length, 1);
    const { body, headers, url } = sent[0];
    assert.strictEqual(url, ENDPOINT);
    assert.strictEqual(headers['Content-Type'], 'text/xml; charset=utf-8');
    assert.strictEqual(headers.SOAPAction, `"${SOAP_ACTIONS.afsend}"`);
    assert.ok(body.includes(`xmlns:soap="${NS.soap11}"`));
    const request = bodyElement(body);
    assert.ok(schema.validate(request).valid, JSON.stringify(schema.validate(request).errors));
    assert.deepStrictEqual(
      elementList(body, 'FordelingsobjektAfsendRequest'),
      elementList(buildAfsendRequest(journalpost(), AFSEND_OPTS), 'FordelingsobjektAfsendRequest'),
    );
    // The answer as a plain object: namespaces gone, values as strings.
    assert.strictEqual(result.DistributionContext.DistributionTransktionsID, '8b672109-a7f6-4b68-939b-68b6776f1598');
    assert.strictEqual(result.ForretningsKvittering.ForretningsValideringsKode, 'MODTAGET');
  });

  it('puts elements in schema order whatever the key order, and writes every Virkning inline (no multiRef)', () => {
    const xml = client.wsdl.objectToDocumentXML(
      'FordelingsobjektAfsendRequest',
      reversedDeep(journalpostArgs()),
      'types',
      NS.v3,
      'FordelingsobjektAfsendRequestType',
    );
    assert.ok(schema.validate(xml).valid);
    assert.ok(!/href=|multiRef/.test(xml));
  });

  it('checks nothing itself: an unknown key is serialised and the body no longer validates', () => {
    const args = journalpostArgs();
    args.anmodning.DistributionContext.Ukendt = 'x';
    const xml = client.wsdl.objectToDocumentXML('FordelingsobjektAfsendRequest', args, 'types', NS.v3, 'FordelingsobjektAfsendRequestType');
    assert.match(xml, /:Ukendt>x</);
    assert.strictEqual(schema.validate(xml).valid, false);
  });

  it('declares a default namespace on the request: raw FormularXML without xmlns="" silently moves into v3 (still schema-valid)', () => {
    const formArgs = (formXml: string) => {
      const a = journalpostArgs();
      a.anmodning.DistributionObject = {
        ObjektType: 'FORMULAR',
        ObjektIndhold: {
          DistributionFormular: {
            ID: '1ea9b08f-3119-5649-97ca-65de9f2fe10a',
            KLEEmneForslag: '32.03.12',
            Meddelelse: { FormularType: 'X', Formular: { TitelTekst: 't', FormatNavn: 'pdf', FormularIndhold: 'JVBERi0=', FormularXML: { $xml: formXml } } },
          },
        },
      };
      return a;
    };
    const rootNs = (xml: string): string | null => {
      const fx = parseXmlSafely(xml).getElementsByTagNameNS(NS.v2, 'FormularXML')[0] as unknown as Element;
      const root = Array.from(fx.childNodes as unknown as ArrayLike<Element>).find((n) => n.nodeType === 1)!;
      return root.namespaceURI;
    };
    const raw = client.wsdl.objectToDocumentXML(
      'FordelingsobjektAfsendRequest',
      formArgs(sp241Xml().replace(/^<\?xml[^>]*\?>\s*/, '')),
      'types',
      NS.v3,
      'FordelingsobjektAfsendRequestType',
    );
    assert.ok(schema.validate(raw).valid);
    assert.strictEqual(rootNs(raw), NS.v3);
    const ours = client.wsdl.objectToDocumentXML(
      'FordelingsobjektAfsendRequest',
      formArgs(formularXmlElement(sp241Xml())),
      'types',
      NS.v3,
      'FordelingsobjektAfsendRequestType',
    );
    assert.ok(schema.validate(ours).valid);
    assert.strictEqual(rootNs(ours), null);
  });

  it("turns the platform's fault into a generic Error: detail as namespace-less JSON, one Error an object, two an array", async () => {
    const fault = (n: number) =>
      buildSoapFault({
        faultCode: 'Client',
        faultString: 'Ikke autoriseret',
        platformErrors: Array.from({ length: n }, (_, i) => ({ code: `E${i}`, text: `fejl ${i}` })),
      });
    reply = { status: 500, body: fault(1) };
    const one = await rejection(client.FordelingsobjektAfsendAsync(journalpostArgs()));
    assert.strictEqual(one instanceof Error, true);
    assert.strictEqual(one.constructor, Error);
    assert.match(one.message, /^soapenv:Client: Ikke autoriseret: \{"ServiceplatformFault":/);
    assert.strictEqual(one.response.status, 500);
    assert.deepStrictEqual(one.root.Envelope.Body.Fault.detail.ServiceplatformFault.ErrorList.Error, { ErrorCode: 'E0', ErrorText: 'fejl 0' });
    reply = { status: 500, body: fault(2) };
    const two = await rejection(client.FordelingsobjektAfsendAsync(journalpostArgs()));
    assert.ok(Array.isArray(two.root.Envelope.Body.Fault.detail.ServiceplatformFault.ErrorList.Error));
  });

  it('rejects a non-XML answer (HTTP 503 text/plain) with a plain object, not an Error', async () => {
    reply = { status: 503, body: 'Service Unavailable\n' };
    const e = await rejection(client.FordelingsobjektAfsendAsync(journalpostArgs()));
    assert.ok(!(e instanceof Error));
    assert.strictEqual(e.Fault.faultstring, 'Invalid XML');
    assert.strictEqual(e.response.status, 503);
  });

  it('rejects a bare TransportKvittering FEJL (HTTP 200, no Fault) with an internal TypeError, and resolves an empty Body', async () => {
    reply = {
      status: 200,
      body: soapEnvelope(
        `<tk:TransportKvittering xmlns:tk="${NS.v3}"><tk:TransportValideringsKode>FEJL</tk:TransportValideringsKode></tk:TransportKvittering>`,
      ),
    };
    const e = await rejection(client.FordelingsobjektAfsendAsync(journalpostArgs()));
    assert.ok(e instanceof TypeError, String(e));
    reply = { status: 200, body: soapEnvelope('') };
    const [result] = await client.FordelingsobjektAfsendAsync(journalpostArgs());
    assert.strictEqual(result.ForretningsKvittering, undefined);
  });

  it('reads a SOAP 1.2 fault, but its code comes out as "<Value>: undefined" without a Subcode', () => {
    const f12 =
      `<env:Envelope xmlns:env="${NS.soap12}"><env:Body><env:Fault><env:Code><env:Value>env:Sender</env:Value></env:Code>` +
      `<env:Reason><env:Text xml:lang="en">Wrong version</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>`;
    assert.throws(() => client.wsdl.xmlToObject(f12), /^Error: env:Sender: undefined: Wrong version$/);
  });
});
