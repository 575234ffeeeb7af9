/**
 * node-soap (npm `soap` 1.13) against the hand-written SOAP layer, in the same run:
 *  - envelope build and response parse without network (JOURNALPOST; FORMULAR with a 1 MB PDF),
 *  - FordelingsobjektAfsend and FordelingsmodtagerList over mutual TLS to the simulator, one at a time and 16 in flight.
 * node-soap gets a client made from the contract's WSDL (wsdl/context/DistributionService.wsdl) and the same keep-alive
 * https.Agent settings as SoapTransport (maxSockets 16). Both sides build every request from a FordelingsObject.
 * Before timing, each node-soap request is checked to carry the same elements and text as ours and to be accepted by a
 * simulator that validates against DistributionServiceMsg.xsd. The timed simulator does not validate (that cost is the
 * platform's, not ours). Three repetitions, the implementations alternating which goes first; medians; ratio = node-soap / ours.
 * Run: node --import tsx bench/soap.bench.ts
 */
import * as fs from 'fs';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import * as soap from 'soap';
import type { Element } from '@xmldom/xmldom';
import { listReceivers, sendAfsend, serviceUrl, type EndpointConfig } from '../lib/delivery/deliver';
import { SoapTransport } from '../lib/delivery/soap-transport';
import { buildAfsendRequest, buildAfsendResponse, contextFor, formularXmlElement, parseAfsendResponse, type AfsendOptions } from '../lib/sf2900/afsend';
import type { FordelingsObject } from '../lib/sf2900/model';
import { NS } from '../lib/sf2900/namespaces';
import { soapEnvelope } from '../lib/sf2900/soap';
import { objectIdFor, transactionIdFor } from '../lib/sf2900/transaction-id';
import { parseXmlSafely } from '../lib/xml/safe-xml';
import { createSimulator } from '../simulator';
import { generateCerts } from '../simulator/certs';
import { AFSEND_OPTS, formular, journalpost, SENDER_CVR, SYSTEM_UUID } from '../test/lib/sf2900/fixtures';

process.env.SF2900_CONTRACT_DIR ??= path.resolve(__dirname, '..', '..', 'shared', 'sf2900');
const WSDL = path.join(process.env.SF2900_CONTRACT_DIR, 'contract', 'wsdl', 'context', 'DistributionService.wsdl');
const RUNS = 3;
const N_SEQ = 300;
const N_PAR = 800;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ---- node-soap: the FordelingsObject as the argument object node-soap serialises (what adopting it would need) ----

type Args = Record<string, unknown>;
const opt = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);
const virkning = (from: string, system: string): Args => ({ FraTidspunkt: from, Aktoer: { UUID: system }, AktoerType: 'ItSystem' });

/** JOURNALPOST and FORMULAR as node-soap arguments (no input checks beyond contextFor: a lower bound on the work). */
export function nodeSoapArgs(obj: FordelingsObject, opts: AfsendOptions): Args {
  const ctx = contextFor(obj, opts);
  const from = obj.registeredAt ?? (opts.now ?? new Date()).toISOString();
  const system = (obj.context.senderSystemUuid || opts.senderSystemUuid).toLowerCase();
  const id = obj.id ? obj.id.toLowerCase() : objectIdFor(obj.submissionId, obj.webformId);
  const kle = obj.kleProposal || obj.context.routing.kle;
  const facet = opt(obj.handlingFacetProposal || obj.context.routing.handlingFacet);
  const routing = ctx.kle
    ? { RoutingKLEEmneHandling: { RoutingKLEEmne: ctx.kle, ...(ctx.handlingFacet ? { RoutingHandlingFacet: ctx.handlingFacet } : {}) } }
    : { RoutingModtagerAktoer: ctx.receivingSystemUuid };
  let content: Args;
  if (obj.objektType === 'JOURNALPOST') {
    const j = obj.journalpost!;
    content = {
      DistributionJournalPost: {
        ID: id,
        KLEEmneForslag: kle,
        ...(facet ? { HandlingFacetForslag: facet } : {}),
        Registrering: {
          FraTidsPunkt: from,
          LivscyklusKode: 'Oprettet',
          RegistreringItSystem: { UUID: system },
          RelationListe: {
            JournalPost: {
              Virkning: virkning(from, system),
              Rolle: 'Journalpost',
              Indeks: '1',
              ...(j.documentTitle ? { JournalpostAttributter: { Dokumenttitel: j.documentTitle } } : {}),
              JournalnotatAttributter: { ...(j.noteTitle ? { Titel: j.noteTitle } : {}), Notat: j.noteText },
            },
          },
        },
      },
    };
  } else if (obj.objektType === 'FORMULAR') {
    const f = obj.formular!;
    content = {
      DistributionFormular: {
        ID: id,
        KLEEmneForslag: kle,
        ...(facet ? { HandlingFacetForslag: facet } : {}),
        Meddelelse: {
          FormularType: f.formType,
          // FormularXML is xsd:any: raw XML via $xml. Our formularXmlElement adds xmlns="" (see the conformance test).
          Formular: { TitelTekst: f.title, FormatNavn: f.formatName, FormularIndhold: f.pdfBase64, FormularXML: { $xml: formularXmlElement(f.formXml) } },
        },
      },
    };
  } else throw new Error(`bench: ${obj.objektType} not mapped`);
  return {
    AuthorityContext: { MunicipalityCVR: opts.senderCvr },
    anmodning: {
      DistributionContext: {
        AnvenderTransaktionsID: ctx.transactionId,
        AfsendendeMyndighed: ctx.senderCvr,
        RoutingMyndighed: ctx.routingCvr,
        RoutingValg: routing,
      },
      DistributionObject: { ObjektType: obj.objektType, ObjektIndhold: content },
    },
  };
}

/** Every element (namespace, local name, text of leaves) in document order: equal lists = same content on the wire. */
export function elementList(xml: string, rootLocalName: string): string[] {
  const doc = parseXmlSafely(xml);
  const root = doc.getElementsByTagNameNS('*', rootLocalName)[0] as unknown as Element;
  const out: string[] = [];
  const walk = (e: Element): void => {
    const kids = Array.from(e.childNodes as unknown as ArrayLike<Element>).filter((n) => n.nodeType === 1);
    out.push(`{${e.namespaceURI ?? ''}}${e.localName}${kids.length ? '' : `=${e.textContent ?? ''}`}`);
    for (const k of kids) walk(k);
  };
  walk(root);
  return out;
}

const T_NS = NS.v3;
function soapBuild(client: soap.Client, args: Args): string {
  // What Client._invoke does for a document/literal operation, minus the HTTP call.
  const body = client.wsdl.objectToDocumentXML('FordelingsobjektAfsendRequest', args, 'types', T_NS, 'FordelingsobjektAfsendRequestType');
  return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${NS.soap11}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ${client.wsdl.xmlnsInEnvelope}><soap:Body>${body}</soap:Body></soap:Envelope>`;
}

function perOp(n: number, fn: (i: number) => void): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return Number(process.hrtime.bigint() - t) / 1e3 / n; // µs
}

/** RUNS alternating repetitions of two functions; returns the medians [ours, nodeSoap]. */
async function compare(ours: (run: number) => Promise<number> | number, theirs: (run: number) => Promise<number> | number): Promise<[number, number]> {
  const a: number[] = [];
  const b: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    if (run % 2 === 0) {
      a.push(await ours(run));
      b.push(await theirs(run));
    } else {
      b.push(await theirs(run));
      a.push(await ours(run));
    }
  }
  return [median(a), median(b)];
}

function obj(i: number, tag: string): FordelingsObject {
  const o = journalpost();
  o.submissionId = `be0c0000-0000-4000-8000-${tag}${String(i).padStart(12 - tag.length, '0')}`;
  return o;
}

async function rate(n: number, conc: number, one: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next < n) await one(next++);
    }),
  );
  return n / (Number(process.hrtime.bigint() - t) / 1e9);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-soap-bench-'));
  const rows: string[] = ['| what | hand-written | node-soap | node-soap / hand-written |', '|---|---|---|---|'];
  const row = (what: string, ours: number, theirs: number, unit: string, higherIsBetter: boolean): void => {
    const ratio = theirs / ours;
    const f = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
    rows.push(`| ${what} | ${f(ours)} ${unit} | ${f(theirs)} ${unit} | ${ratio.toFixed(2)}${higherIsBetter ? ' (throughput)' : ' (time)'} |`);
  };
  try {
    const certs = await generateCerts(dir);
    let t = process.hrtime.bigint();
    const client = await soap.createClientAsync(WSDL);
    const createMs = Number(process.hrtime.bigint() - t) / 1e6;

    // ---- no network: build and parse ----
    const jp = journalpost();
    const big = formular();
    big.formular!.pdfBase64 = Buffer.alloc(1024 * 1024, 7).toString('base64');
    for (const [name, o] of [
      ['JOURNALPOST', jp],
      ['FORMULAR', big],
    ] as const) {
      const mine = elementList(buildAfsendRequest(o, AFSEND_OPTS), 'FordelingsobjektAfsendRequest');
      const theirs = elementList(soapBuild(client, nodeSoapArgs(o, AFSEND_OPTS)), 'FordelingsobjektAfsendRequest');
      if (JSON.stringify(mine) !== JSON.stringify(theirs)) throw new Error(`bench: node-soap's ${name} request differs from ours`);
    }
    const [bj, sj] = await compare(
      () => perOp(3000, () => soapEnvelope(buildAfsendRequest(jp, AFSEND_OPTS))),
      () => perOp(3000, () => soapBuild(client, nodeSoapArgs(jp, AFSEND_OPTS))),
    );
    row('build JOURNALPOST envelope (µs/op)', bj, sj, 'µs', false);
    const [bf, sf] = await compare(
      () => perOp(20, () => soapEnvelope(buildAfsendRequest(big, AFSEND_OPTS))),
      () => perOp(20, () => soapBuild(client, nodeSoapArgs(big, AFSEND_OPTS))),
    );
    row('build FORMULAR envelope, 1 MB PDF (µs/op)', bf, sf, 'µs', false);
    const response = buildAfsendResponse({
      receipt: { code: 'MODTAGET', type: 'Teknisk', errors: [] },
      context: { ...contextFor(jp, AFSEND_OPTS), distributionTransactionId: '8b672109-a7f6-4b68-939b-68b6776f1598' },
    });
    const [pj, qj] = await compare(
      () => perOp(5000, () => parseAfsendResponse(response)),
      () => perOp(5000, () => client.wsdl.xmlToObject(response)),
    );
    row('parse FordelingsobjektAfsendResponse (µs/op)', pj, qj, 'µs', false);

    // ---- network: the simulator over mutual TLS ----
    const endpoint: EndpointConfig = { baseUrl: '', senderCvr: SENDER_CVR, senderSystemUuid: SYSTEM_UUID, timeoutMs: 10_000 };
    for (const validate of [true, false]) {
      const sim = await createSimulator({ certs, validate });
      endpoint.baseUrl = sim.url;
      const transport = new SoapTransport({ keyPem: certs.client.key, certPem: certs.client.cert, ca: [certs.ca.cert], timeoutMs: 10_000 });
      const agent = new https.Agent({ keepAlive: true, maxSockets: 16, key: certs.client.key, cert: certs.client.cert, ca: [certs.ca.cert] });
      const callOpts = { httpsAgent: agent, timeout: 10_000 };
      client.setEndpoint(serviceUrl(sim.url));
      const ctx = { endpoint, transport };
      const optsFor = (o: FordelingsObject): AfsendOptions => ({
        transactionId: transactionIdFor(o.submissionId, o.webformId),
        senderCvr: SENDER_CVR,
        senderSystemUuid: SYSTEM_UUID,
      });
      const ourAfsend = async (o: FordelingsObject): Promise<string> => {
        const r = await sendAfsend(buildAfsendRequest(o, optsFor(o)), ctx);
        return r.distributionTransactionId!;
      };
      const theirAfsend = async (o: FordelingsObject): Promise<string> => {
        const [result] = await client.FordelingsobjektAfsendAsync(nodeSoapArgs(o, optsFor(o)), callOpts);
        const code = result?.ForretningsKvittering?.ForretningsValideringsKode;
        if (code === 'AFVIST' || code === 'FEJLET') throw new Error(`rejected: ${code}`);
        return result?.DistributionContext?.DistributionTransktionsID;
      };
      const ourList = async (): Promise<number> => (await listReceivers({ routingCvr: '14814833', kle: '32.03.12', handlingFacet: 'G01' }, ctx)).length;
      const theirList = async (): Promise<number> => {
        const [result] = await client.FordelingsmodtagerListAsync(
          {
            AuthorityContext: { MunicipalityCVR: SENDER_CVR },
            Routing: { AfsendendeMyndighed: SENDER_CVR, RoutingMyndighed: '14814833', RoutingKLEEmne: '32.03.12', RoutingHandlingFacet: 'G01' },
          },
          callOpts,
        );
        const s = result?.Systemer?.System;
        return Array.isArray(s) ? s.length : s ? 1 : 0;
      };
      try {
        if (validate) {
          // Correctness first: both accepted by a simulator that validates against the contract, same answers.
          const a = await ourAfsend(obj(1, 'c1'));
          const b = await theirAfsend(obj(2, 'c2'));
          if (!a || !b) throw new Error('bench: an Afsend returned no DistributionTransktionsID');
          if ((await ourList()) !== (await theirList())) throw new Error('bench: FordelingsmodtagerList answers differ');
          if (!/SOAPAction/i.test(JSON.stringify(client.lastRequestHeaders))) throw new Error('bench: node-soap sent no SOAPAction');
          continue;
        }
        for (const [n, conc] of [
          [N_SEQ, 1],
          [N_PAR, 16],
        ] as const) {
          const [ra, rb] = await compare(
            (run) => rate(n, conc, async (i) => void (await ourAfsend(obj(i, `a${conc}${run}`)))),
            (run) => rate(n, conc, async (i) => void (await theirAfsend(obj(i, `b${conc}${run}`)))),
          );
          sim.reset();
          row(`FordelingsobjektAfsend JOURNALPOST, ${conc} in flight (${n} calls, req/s)`, ra, rb, '/s', true);
        }
        for (const [n, conc] of [
          [N_SEQ, 1],
          [N_PAR, 16],
        ] as const) {
          const [ra, rb] = await compare(
            () => rate(n, conc, async () => void (await ourList())),
            () => rate(n, conc, async () => void (await theirList())),
          );
          row(`FordelingsmodtagerList, ${conc} in flight (${n} calls, req/s)`, ra, rb, '/s', true);
        }
      } finally {
        transport.close();
        agent.destroy();
        await sim.close();
      }
    }
    t = process.hrtime.bigint();
    await soap.createClientAsync(WSDL);
    const warmMs = Number(process.hrtime.bigint() - t) / 1e6;
    rows.push(`| node-soap createClientAsync(WSDL + XSDs) | – | ${createMs.toFixed(0)} ms cold, ${warmMs.toFixed(0)} ms again | once per process |`);
    console.log(rows.join('\n'));
    console.log(
      `\nload: ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')} (${os.cpus().length} CPUs); ${RUNS} runs, medians`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
