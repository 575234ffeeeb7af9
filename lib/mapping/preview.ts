/**
 * What the map dialog shows before anything is sent: the FordelingsObject a submission maps to, the form XML, the
 * exact FordelingsobjektAfsendRequest fordeling out would send for it (the same serialiser: lib/delivery/deliver.ts
 * prepareAfsend), that request checked against the official contract XSD, and every problem tied to the dialog's field
 * that produced it. Every string of the answer has CPR numbers masked; file contents are left out of the request
 * shown (the contract sees them). No Node-RED dependency.
 */
import * as fs from 'fs';
import * as path from 'path';
import { prepareAfsend, type EndpointConfig } from '../delivery/deliver';
import { shipmentKeyOf } from '../delivery/plan';
import { maskCprDeep } from '../privacy/cpr';
import { PREVIEW_MARK, withoutFileContents } from '../sf2900/file-contents';
import type { FordelingsObject } from '../sf2900/model';
import { loadXsd, type XsdSchema } from '../xml/xsd';
import { ConfigError, type Evaluator, FIELD_NAMES, type MapConfig, type Mapper, MappingError, type MapResult } from './mapper';
import { previewable } from './node-config';

export interface PreviewError {
  /** The dialog's field (a MapConfig field name, or files, xmlTemplate, xmlTable, sample, serviceplatform). */
  field?: string;
  /** The contract element (local name) the problem is about. */
  element?: string;
  /** Line in the request shown. */
  line?: number;
  message: string;
}

export type ContractState = 'checked' | 'unavailable' | 'skipped';

export interface PreviewAnswer {
  object?: unknown;
  xml?: string;
  request?: string;
  contract: ContractState;
  contractNote?: string;
  errors: PreviewError[];
  notes?: string[];
}

/** The contract XSD: $SF2900_CONTRACT_DIR/contract/DistributionServiceMsg.xsd, else ../shared/sf2900 from the working directory. */
export function contractXsdPath(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const dir = env.SF2900_CONTRACT_DIR || path.resolve(cwd, '..', 'shared', 'sf2900');
  return path.join(dir, 'contract', 'DistributionServiceMsg.xsd');
}

/** The compiled contract (loadXsd caches it per file), or why it is unavailable. */
export async function loadContract(file = contractXsdPath()): Promise<{ schema?: XsdSchema; note?: string }> {
  const how = "set SF2900_CONTRACT_DIR to the folder of KOMBIT's SF2900 contract package (it holds contract/DistributionServiceMsg.xsd) and restart Node-RED";
  if (!fs.existsSync(file)) return { note: `The SF2900 contract was not found at ${file}: ${how}` };
  try {
    return { schema: await loadXsd(file) };
  } catch (err) {
    return { note: `The SF2900 contract at ${file} could not be loaded (${(err as Error).message.split('\n')[0]}): ${how}` };
  }
}

/** Contract elements (local names) → the dialog's field that fills them, per object type where it differs. */
const ELEMENT_FIELDS: Record<string, string> = {
  RoutingKLEEmne: 'kle',
  KLEEmneForslag: 'kle',
  RoutingHandlingFacet: 'handlingFacet',
  HandlingFacetForslag: 'handlingFacet',
  RoutingMyndighed: 'routingCvr',
  RoutingModtagerAktoer: 'receivingSystemUuid',
  AfsendendeMyndighed: 'senderCvr',
  MunicipalityCVR: 'serviceplatform',
  RegistreringItSystem: 'senderSystemUuid',
  Aktoer: 'senderSystemUuid',
  SagForslag: 'caseProposal',
  Dokumenttitel: 'title',
  TitelTekst: 'title',
  Titel: 'noteTitle',
  Notat: 'noteText',
  BrugervendtNoegleTekst: 'userKey',
  BeskrivelseTekst: 'description',
  Dokumenttype: 'documentType',
  Retning: 'direction',
  Brevdato: 'letterDate',
  Fremdrift: 'progress',
  VariantType: 'variantType',
  DelTekst: 'partText',
  FormularType: 'formType',
  FormatNavn: 'pdf',
  FormularIndhold: 'pdf',
  Filstoerrelse: 'pdf',
  MimeType: 'pdf',
  DokumentFilNavn: 'pdf',
};

/** The dialog's field behind a contract element. */
export function fieldOfElement(localName: string | undefined, config: FieldContext): string | undefined {
  if (!localName) return undefined;
  if (localName === 'FormularXML') return config.xmlMode === 'table' ? 'xmlTable' : 'xmlTemplate';
  const field = ELEMENT_FIELDS[localName];
  // a DOKUMENT without the pdf setting takes its file from the file rules
  return field === 'pdf' && !config.fields?.pdf ? 'files' : field;
}

/** What ties an element or message to a field: the XML mode and which fields are set. */
type FieldContext = Pick<MapConfig, 'xmlMode'> & Partial<Pick<MapConfig, 'fields'>>;

/** The dialog's field named at the start of a mapper message ("kle: …", "xmlTable row 2: …", "files row 1: …"). */
function fieldOfName(name: string, config: FieldContext): string | undefined {
  const n = name.trim();
  if ((FIELD_NAMES as readonly string[]).includes(n) || ['files', 'xmlTemplate', 'xmlTable'].includes(n)) return n;
  if (/^xmlTable row/.test(n)) return 'xmlTable';
  if (/^files row/.test(n)) return 'files';
  if (n === 'formXml') return config.xmlMode === 'table' ? 'xmlTable' : 'xmlTemplate';
  if (/^payload/.test(n)) return 'sample';
  return undefined;
}

/** Settings problems ("field: message") as errors tied to their fields. */
export function configErrors(problems: string[], config: FieldContext): PreviewError[] {
  return problems.map((p) => {
    const m = /^([^:]+):\s/.exec(p);
    const field = m ? fieldOfName(m[1], config) : undefined;
    return { ...(field ? { field } : {}), message: p };
  });
}

/** A mapping failure (MappingError, ConfigError or anything thrown) as errors. */
export function mappingErrors(err: unknown, config: FieldContext): PreviewError[] {
  if (err instanceof ConfigError) return configErrors(err.problems, config);
  const message = (err as Error)?.message ?? String(err);
  if (err instanceof MappingError) {
    const field = fieldOfName(err.field, config);
    return [{ ...(field ? { field } : {}), message }];
  }
  return [{ message }];
}

/**
 * XML indented for reading: elements holding only elements get one child per line; text-only elements, comments and
 * the form XML inside FormularXML stay as they are (their text is data).
 */
export function prettyXml(xml: string): string {
  const tokens = xml.replace(/^\s*<\?xml[^>]*\?>\s*/, '').match(/<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<[^>]+>|[^<]+/g) ?? [];
  const out: string[] = [];
  let depth = 0;
  let line = '';
  const pad = () => '  '.repeat(depth);
  const flush = () => {
    if (line) out.push(line);
    line = '';
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (/^<\//.test(t)) {
      depth--;
      if (line) line += t;
      else line = pad() + t;
      flush();
    } else if (/^<[^!?]/.test(t)) {
      flush();
      const selfClosing = /\/>$/.test(t);
      const local = /^<(?:[\w.-]+:)?([\w.-]+)/.exec(t)?.[1];
      if (local === 'FormularXML' && !selfClosing) {
        // the form XML verbatim, up to the matching end tag
        const end = tokens.findIndex((x, j) => j > i && /^<\/(?:[\w.-]+:)?FormularXML\s*>$/.test(x));
        const stop = end < 0 ? tokens.length : end;
        out.push(pad() + t + tokens.slice(i + 1, stop).join('') + (end < 0 ? '' : tokens[end]));
        i = stop;
        continue;
      }
      const next = tokens[i + 1];
      const close = tokens[i + 2];
      if (!selfClosing && next !== undefined && !next.startsWith('<') && close?.startsWith('</')) {
        out.push(pad() + t + next + close); // text-only element on one line
        i += 2;
        continue;
      }
      if (!selfClosing && next?.startsWith('</')) {
        out.push(pad() + t + next);
        i += 1;
        continue;
      }
      line = pad() + t;
      if (selfClosing) flush();
      else {
        flush();
        depth++;
      }
    } else if (!/^\s+$/.test(t)) {
      // text or a comment between elements (whitespace between elements is dropped)
      flush();
      out.push(pad() + t.trim());
    }
  }
  flush();
  return out.join('\n');
}

/** The local name of the element a libxml2 message is about ("Element '{ns}Name': …" or "Element 'p:Name': …"). */
export function elementOfMessage(message: string, xpath?: string): string | undefined {
  const m = /Element '(?:\{[^}]*\})?(?:[\w.-]+:)?([\w.-]+)'/.exec(message);
  if (m) return m[1];
  const last = xpath?.split('/').pop();
  return last ? last.replace(/\[\d+\]$/, '').replace(/^[\w.-]+:/, '') : undefined;
}

/** The element named in a serialiser message, e.g. "formular.title (TitelTekst) is required". */
function elementOfSerialiserMessage(message: string): string | undefined {
  return /\(([A-Z][A-Za-z]+)\)/.exec(message)?.[1];
}

export interface RequestPreview {
  /** Pretty-printed, file contents left out. */
  request?: string;
  contract: ContractState;
  contractNote?: string;
  errors: PreviewError[];
}

/**
 * The request fordeling out (default shipment key: by target) would send for `object` with this serviceplatform
 * endpoint, and its check against the contract (with the file contents in it).
 */
export async function previewRequest(
  object: FordelingsObject,
  config: FieldContext,
  endpoint: EndpointConfig,
  contract: () => Promise<{ schema?: XsdSchema; note?: string }>,
  now?: () => Date,
): Promise<RequestPreview> {
  let request: string;
  try {
    ({ request } = await prepareAfsend(object, { endpoint, now }, shipmentKeyOf(object, { keyMode: 'target', keyText: '' })));
  } catch (err) {
    const message = (err as { reason?: string }).reason ?? (err as Error).message;
    const element = elementOfSerialiserMessage(message);
    const field = fieldOfElement(element, config);
    return {
      contract: 'skipped',
      contractNote: 'The request could not be built, so it was not checked',
      errors: [{ ...(field ? { field } : {}), ...(element ? { element } : {}), message }],
    };
  }
  const pretty = prettyXml(request);
  const shown = withoutFileContents(pretty, PREVIEW_MARK) ?? pretty;
  const { schema, note } = await contract();
  if (!schema) return { request: shown, contract: 'unavailable', contractNote: note, errors: [] };
  const result = schema.validate(pretty);
  const errors = result.errors.map((e) => {
    const element = elementOfMessage(e.message, e.path);
    const field = fieldOfElement(element, config);
    return { ...(field ? { field } : {}), ...(element ? { element } : {}), ...(e.line ? { line: e.line } : {}), message: e.message.trim() };
  });
  return { request: shown, contract: 'checked', errors };
}

export interface PreviewInput {
  mapper: Mapper;
  evaluate: Evaluator;
  /** Settings problems found outside the mapper (JSONata expressions). */
  problems?: string[];
  msg: Record<string, unknown>;
  validateXml?: (xml: string) => string[] | undefined;
  /** The serviceplatform's endpoint; without it the request is not built (`contract: 'skipped'`). */
  endpoint?: EndpointConfig;
  /** Why there is no endpoint (shown as the contract note). */
  endpointNote?: string;
  contract?: () => Promise<{ schema?: XsdSchema; note?: string }>;
  notes?: string[];
  now?: () => Date;
}

/** The whole preview answer: mapping (a failure is errors, no object), then request and contract; CPR numbers masked. */
export async function preview(p: PreviewInput): Promise<PreviewAnswer> {
  const config = p.mapper.config;
  const notes = p.notes?.length ? { notes: p.notes } : {};
  const problems = [...p.mapper.problems, ...(p.problems ?? [])];
  if (problems.length)
    return maskCprDeep({
      contract: 'skipped',
      contractNote: 'The settings have problems, so nothing was mapped',
      errors: configErrors(problems, config),
      ...notes,
    });
  let result: MapResult;
  try {
    result = await p.mapper.map(p.msg, p.evaluate, { validateXml: p.validateXml, now: p.now?.() });
  } catch (err) {
    return maskCprDeep({
      contract: 'skipped',
      contractNote: 'The submission could not be mapped, so no request was built',
      errors: mappingErrors(err, config),
      ...notes,
    });
  }
  const shown = previewable(result);
  if (!p.endpoint) {
    const contractNote =
      p.endpointNote ?? 'Choose a serviceplatform configuration to see the request fordeling out would send and check it against the contract';
    return maskCprDeep({ ...shown, contract: 'skipped', contractNote, errors: [], ...notes });
  }
  const r = await previewRequest(result.object, config, p.endpoint, p.contract ?? (() => loadContract()), p.now);
  return maskCprDeep({ ...shown, ...r, ...notes });
}
