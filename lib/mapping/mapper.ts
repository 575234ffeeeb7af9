/**
 * The mapping from a normalised submission (msg.payload) to a FordelingsObject, driven by the `map` node's
 * settings. No Node-RED dependency: the node passes an evaluator for the Node-RED value types
 * (str, msg, flow, global, env, jsonata); the `template` type is rendered here.
 */
import type { DokumentContent, FileRef, FordelingsObject, ObjektType, Submission, SubmissionFile } from '../sf2900/model';
import {
  cvrUrn,
  DIRECTIONS,
  DOCUMENT_TYPES,
  FormatError,
  formatDate,
  formatDateTime,
  normaliseCvr,
  normaliseHandlingFacet,
  normaliseKle,
  normaliseUuid,
  oneOf,
  PROGRESS_STATES,
  toDate,
  toInstant,
  truncate,
} from './formats';
import { revisionKey } from '../sf2900/transaction-id';
import { sftpFileName } from './sftp-name';
import { checkXmlTemplate, Template, TemplateError, toFormXml } from './template';
import { buildXmlFromTable, checkXmlPath } from './xml-table';

/** One TypedInput setting: its text and its type (str, msg, flow, global, env, template, jsonata, and for `pdf` also `element`). */
export interface FieldSpec {
  value: string;
  type: string;
}

export const FIELD_NAMES = [
  'routingCvr',
  'kle',
  'handlingFacet',
  'receivingSystemUuid',
  'senderCvr',
  'senderSystemUuid',
  'title',
  'description',
  'userKey',
  'caseProposal',
  'noteTitle',
  'noteText',
  'documentType',
  'direction',
  'letterDate',
  'progress',
  'variantType',
  'partText',
  'formType',
  'fileSpecification',
  'pdf',
] as const;
export type FieldName = (typeof FIELD_NAMES)[number];

export interface FileRule {
  element: string;
  role?: string;
  fileSpecification?: string;
}
export interface TableRow {
  path: string;
  value: string;
  type: string;
}

export interface MapConfig {
  objektType: ObjektType;
  routingMode: 'kle' | 'system';
  fields: Partial<Record<FieldName, FieldSpec>>;
  files: FileRule[];
  xmlMode: 'template' | 'table';
  xmlTemplate?: string;
  xmlTable?: TableRow[];
  /** A template placeholder without a value is an error (default true). */
  strict?: boolean;
}

export const VALUE_TYPES = ['str', 'msg', 'flow', 'global', 'env', 'template', 'jsonata'] as const;

/** ITK's defaults for DOKUMENT. */
export const DOKUMENT_DEFAULTS = { documentType: 'Anden', direction: 'Udgaaende', progress: 'Endeligt', variantType: 'PDF', partText: 'Hele dokumentet' };

export class MappingError extends Error {
  override name = 'MappingError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

/**
 * Evaluates a field's setting against a message: the value, or a promise of it (JSONata, flow and global context).
 * Returning plain values where it can spares the mapping an await per field (bench/map.bench.ts).
 */
export type Evaluator = (spec: FieldSpec, msg: Record<string, unknown>) => unknown;

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return !!v && typeof (v as { then?: unknown }).then === 'function';
}

/** The evaluated fields of one message: each value, or the error its evaluation threw (raised where it is used). */
type Evaluated = Map<FieldName, { value?: unknown; error?: Error }>;

export interface MapResult {
  object: FordelingsObject;
  xml?: string;
}

export interface MapOptions {
  now?: Date;
  /** Validates the form XML (e.g. against the form's XSD); return messages for invalid XML. */
  validateXml?: (xml: string) => string[] | undefined;
}

type Kind = 'cvr' | 'kle' | 'facet' | 'uuid' | 'date' | 'documentType' | 'direction' | 'progress' | 'text';
const KIND: Record<FieldName, Kind> = {
  routingCvr: 'cvr',
  senderCvr: 'cvr',
  kle: 'kle',
  handlingFacet: 'facet',
  receivingSystemUuid: 'uuid',
  senderSystemUuid: 'uuid',
  caseProposal: 'uuid',
  letterDate: 'date',
  documentType: 'documentType',
  direction: 'direction',
  progress: 'progress',
  title: 'text',
  description: 'text',
  userKey: 'text',
  noteTitle: 'text',
  noteText: 'text',
  variantType: 'text',
  partText: 'text',
  formType: 'text',
  fileSpecification: 'text',
  pdf: 'text',
};

/** Normalises a field's value into its contract form; throws FormatError. */
export function normaliseField(field: FieldName, v: unknown): string {
  switch (KIND[field]) {
    case 'cvr':
      return normaliseCvr(v);
    case 'kle':
      return normaliseKle(v);
    case 'facet':
      return normaliseHandlingFacet(v);
    case 'uuid':
      return normaliseUuid(v);
    case 'date':
      return toDate(v);
    case 'documentType':
      return oneOf(v, DOCUMENT_TYPES, 'document type');
    case 'direction':
      return oneOf(v, DIRECTIONS, 'direction');
    case 'progress':
      return oneOf(v, PROGRESS_STATES, 'progress');
    default:
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      if (v instanceof Date) return formatDateTime(v);
      if (typeof v !== 'string') throw new FormatError(`must be text, got ${Array.isArray(v) ? 'a list' : typeof v}`);
      return v.trim();
  }
}

function isSet(spec: FieldSpec | undefined): spec is FieldSpec {
  return !!spec && !(spec.type === 'str' && String(spec.value ?? '').trim() === '') && String(spec.value ?? '') !== '';
}

function isEmptyValue(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

export class Mapper {
  readonly problems: string[] = [];
  private readonly templates = new Map<FieldSpec, Template>();
  private readonly xmlTemplate?: Template;
  /** Constant values of `str` fields, normalised once. */
  private readonly constants = new Map<FieldName, string>();
  /** Fields the evaluator reads per message (not constant, not templates, not the PDF's file element). */
  private readonly evaluated: FieldName[] = [];

  constructor(readonly config: MapConfig) {
    const c = config;
    const p = this.problems;
    if (!['JOURNALPOST', 'DOKUMENT', 'FORMULAR'].includes(c.objektType)) p.push(`objektType must be JOURNALPOST, DOKUMENT or FORMULAR`);
    for (const name of FIELD_NAMES) {
      const spec = c.fields[name];
      if (!isSet(spec)) continue;
      if (![...VALUE_TYPES, ...(name === 'pdf' ? ['element'] : [])].includes(spec.type)) {
        p.push(`${name}: unknown value type "${spec.type}"`);
        continue;
      }
      if (spec.type === 'template') {
        try {
          this.templates.set(spec, new Template(spec.value));
        } catch (err) {
          p.push(`${name}: ${(err as Error).message}`);
        }
      } else if (spec.type === 'str' && name !== 'pdf') {
        try {
          this.constants.set(name, normaliseField(name, spec.value));
        } catch (err) {
          p.push(`${name}: ${(err as Error).message}`);
        }
      } else if (name !== 'pdf') this.evaluated.push(name);
    }
    if (!isSet(c.fields.routingCvr)) p.push('routingCvr: no receiving authority (routing CVR) is set');
    if (c.routingMode === 'system') {
      if (!isSet(c.fields.receivingSystemUuid)) p.push('receivingSystemUuid: routing to an IT-system needs its UUID');
      // The contract requires KLEEmneForslag in every object, also when routing to an IT-system.
      if (!isSet(c.fields.kle)) p.push('kle: a KLE subject (dd.dd.dd) is needed for KLEEmneForslag, also when routing to an IT-system');
    } else if (c.routingMode === 'kle') {
      if (!isSet(c.fields.kle)) p.push('kle: routing by KLE needs a KLE subject (dd.dd.dd)');
    } else p.push('routingMode must be kle or system');
    if (c.objektType === 'JOURNALPOST' && !isSet(c.fields.noteText)) p.push('noteText: a JOURNALPOST needs a note text');
    if (c.objektType === 'FORMULAR') {
      if (!isSet(c.fields.formType)) p.push('formType: a FORMULAR needs a form type');
      if (!isSet(c.fields.pdf)) p.push('pdf: a FORMULAR needs the PDF rendering (a file element)');
      if (c.xmlMode === 'table') {
        const rows = c.xmlTable ?? [];
        if (rows.length === 0) p.push('xmlTable: the mapping table is empty');
        rows.forEach((r, i) => {
          const problem = checkXmlPath(r.path);
          if (problem) p.push(`xmlTable row ${i + 1}: ${problem}`);
          if (r.type === 'template') {
            try {
              this.templates.set(r, new Template(r.value));
            } catch (err) {
              p.push(`xmlTable row ${i + 1}: ${(err as Error).message}`);
            }
          }
        });
      } else {
        if (!c.xmlTemplate || !c.xmlTemplate.trim()) p.push('xmlTemplate: a FORMULAR needs an XML template');
        else {
          try {
            this.xmlTemplate = checkXmlTemplate(c.xmlTemplate);
          } catch (err) {
            p.push(`xmlTemplate: ${(err as Error).message}`);
          }
        }
      }
    }
    (c.files ?? []).forEach((r, i) => {
      if (!r.element || !String(r.element).trim()) p.push(`files row ${i + 1}: no element`);
    });
  }

  /** Maps one message. Throws MappingError naming the field that could not be mapped. */
  async map(msg: Record<string, unknown>, evaluate: Evaluator, options: MapOptions = {}): Promise<MapResult> {
    if (this.problems.length) throw new ConfigError(this.problems);
    const c = this.config;
    const now = options.now ?? new Date();
    const sub = checkSubmission(msg.payload);
    const uuid = normaliseUuid(sub.submission.uuid, 'submission uuid');
    const revision = Number(sub.submission.revision) > 0 ? Math.floor(Number(sub.submission.revision)) : undefined;
    const fileKey = revisionKey(uuid, revision); // a later revision sends its files under names of its own
    const strict = c.strict !== false;

    // Files first: templates can refer to them (with their SFTP names).
    const taken = new Set<SubmissionFile>();
    const files: FileRef[] = [];
    const pdfElement = c.fields.pdf?.type === 'element' ? c.fields.pdf.value.trim() : undefined;
    const toRef = (f: SubmissionFile, rule?: FileRule): FileRef => {
      const ref: FileRef = { element: f.element, name: baseName(f.name), sftpName: sftpFileName(fileKey, files.length, f.name) };
      if (f.mime) ref.mime = f.mime;
      if (f.size !== undefined) ref.size = f.size;
      if (f.content) ref.content = f.content;
      if (f.url) ref.url = f.url;
      if (rule?.role) ref.role = rule.role.trim();
      if (rule?.fileSpecification) ref.fileSpecification = rule.fileSpecification.trim();
      return ref;
    };
    for (const rule of c.files ?? []) {
      const el = rule.element.trim();
      for (const f of sub.files) {
        if (taken.has(f)) continue;
        if (el === '*' ? c.objektType === 'FORMULAR' && f.element === pdfElement : f.element !== el) continue;
        taken.add(f);
        files.push(toRef(f, rule));
      }
    }

    const filesByRole: Record<string, FileRef[]> = {};
    const filesByElement: Record<string, FileRef[]> = {};
    const nowText = formatDateTime(now);
    const ctx: Record<string, unknown> = { ...sub, msg, files, filesByRole, filesByElement, now: nowText };
    const refreshFileIndex = () => {
      for (const k of Object.keys(filesByRole)) delete filesByRole[k];
      for (const k of Object.keys(filesByElement)) delete filesByElement[k];
      for (const f of files) {
        (filesByRole[f.role ?? ''] ??= []).push(f);
        (filesByElement[f.element ?? ''] ??= []).push(f);
      }
    };
    refreshFileIndex();

    const raw = async (name: FieldName | string, spec: FieldSpec | undefined, against = msg): Promise<unknown> => {
      if (!isSet(spec)) return undefined;
      try {
        if (spec.type === 'template') return this.templates.get(spec)!.render(ctx, { strict, escape: false });
        return await evaluate(spec, against);
      } catch (err) {
        throw new MappingError(name, (err as Error).message);
      }
    };
    // The fields' values, all at once: only real promises are awaited, and the rest of the mapping runs without
    // awaits (an await per field was most of mapping a JOURNALPOST). An evaluation's error is raised where the field
    // is used, so a setting the object type does not use still cannot fail the message.
    const evaluated: Evaluated = new Map();
    const waits: Promise<unknown>[] = [];
    for (const name of this.evaluated) {
      try {
        const v = evaluate(c.fields[name]!, msg);
        if (!isThenable(v)) evaluated.set(name, { value: v });
        else
          waits.push(
            Promise.resolve(v).then(
              (value) => evaluated.set(name, { value }),
              (error: Error) => evaluated.set(name, { error }),
            ),
          );
      } catch (error) {
        evaluated.set(name, { error: error as Error });
      }
    }
    if (waits.length) await Promise.all(waits);
    const get = (name: FieldName, fallback?: string): string | undefined => {
      const constant = this.constants.get(name);
      if (constant !== undefined) return constant;
      const spec = c.fields[name];
      if (!isSet(spec)) return fallback;
      let v: unknown;
      if (spec.type === 'template') {
        try {
          v = this.templates.get(spec)!.render(ctx, { strict, escape: false });
        } catch (err) {
          throw new MappingError(name, (err as Error).message);
        }
      } else {
        const e = evaluated.get(name);
        if (e?.error) throw new MappingError(name, e.error.message);
        v = e?.value;
      }
      if (isEmptyValue(v)) return fallback;
      try {
        return normaliseField(name, v);
      } catch (err) {
        throw new MappingError(name, (err as Error).message);
      }
    };
    const need = (name: FieldName, fallback?: string): string => {
      const v = get(name, fallback);
      if (v === undefined || v === '') throw new MappingError(name, 'has no value for this message');
      return v;
    };

    const routingCvr = need('routingCvr');
    const kle = get('kle');
    const handlingFacet = get('handlingFacet');
    const obj: FordelingsObject = {
      objektType: c.objektType,
      submissionId: uuid,
      webformId: sub.webform.id,
      ...(revision ? { revision } : {}),
      context: { routing: { receivingAuthorityCvr: routingCvr } },
      registeredAt: nowText,
      files,
    };
    if (!kle) throw new MappingError('kle', 'has no value for this message');
    if (c.routingMode === 'system') {
      obj.context.routing.receivingSystemUuid = need('receivingSystemUuid');
    } else {
      obj.context.routing.kle = kle;
      if (handlingFacet) obj.context.routing.handlingFacet = handlingFacet;
    }
    obj.kleProposal = kle;
    if (handlingFacet) obj.handlingFacetProposal = handlingFacet;
    const senderCvr = get('senderCvr');
    if (senderCvr) obj.context.senderAuthorityCvr = senderCvr;
    const senderSystemUuid = get('senderSystemUuid');
    if (senderSystemUuid) obj.context.senderSystemUuid = senderSystemUuid;
    const fileSpecification = get('fileSpecification');
    if (fileSpecification) obj.fileSpecification = fileSpecification;
    const title = get('title');
    const caseProposal = get('caseProposal');

    if (c.objektType === 'JOURNALPOST') {
      obj.journalpost = { noteText: need('noteText') };
      const noteTitle = get('noteTitle');
      if (noteTitle) obj.journalpost.noteTitle = noteTitle;
      if (title) obj.journalpost.documentTitle = title;
      if (caseProposal) obj.journalpost.caseProposal = caseProposal;
    } else if (c.objektType === 'DOKUMENT') {
      let file: FileRef | undefined;
      if (isSet(c.fields.pdf)) {
        const pdf = await this.pdfFile(sub, msg, evaluate, raw);
        file = files.find((f) => f.element === pdf.element && f.name === pdf.name);
        if (!file) {
          file = { ...pdf, sftpName: '' };
          files.unshift(file);
          files.forEach((f, i) => {
            f.sftpName = sftpFileName(fileKey, i, f.name);
          });
          refreshFileIndex();
        }
      } else file = files[0];
      if (!file) throw new MappingError('files', 'a DOKUMENT needs a file, but the message has none that the settings select');
      const docTitle = title ?? file.name;
      const dok: DokumentContent = {
        userKey: need('userKey', uuid),
        title: docTitle,
        description: get('description') ?? docTitle,
        documentType: need('documentType', DOKUMENT_DEFAULTS.documentType),
        direction: need('direction', DOKUMENT_DEFAULTS.direction),
        letterDate: need('letterDate', formatDate(now)),
        progress: need('progress', DOKUMENT_DEFAULTS.progress),
        variantType: need('variantType', DOKUMENT_DEFAULTS.variantType),
        partText: need('partText', DOKUMENT_DEFAULTS.partText),
        file,
      };
      if (caseProposal) dok.caseProposal = caseProposal;
      obj.dokument = dok;
    }

    let xml: string | undefined;
    if (c.objektType === 'FORMULAR') {
      const pdf = await this.pdfFile(sub, msg, evaluate, raw);
      const dot = pdf.name.lastIndexOf('.');
      const formType = need('formType');
      const header = {
        cvr: routingCvr,
        cvrUrn: cvrUrn(routingCvr),
        kle: kle ?? '',
        handlingFacet: handlingFacet ?? '',
        receivingSystemUuid: obj.context.routing.receivingSystemUuid ?? '',
        receivedDate: toDate(sub.submission.completed ?? sub.submission.created ?? now),
        formType,
      };
      const xctx = { ...ctx, header, object: obj };
      try {
        if (c.xmlMode === 'table') {
          // Table rows (msg, JSONata) also see the mapped files and header as msg.map.
          const tableMsg = { ...msg, map: { files, filesByRole, filesByElement, header } };
          const rows = [];
          for (const [i, r] of (c.xmlTable ?? []).entries()) {
            const value =
              r.type === 'template'
                ? this.templates.get(r)!.render(xctx, { strict, escape: false })
                : await raw(`xmlTable row ${i + 1} (${r.path})`, r, tableMsg);
            rows.push({ path: r.path, value });
          }
          xml = buildXmlFromTable(rows);
        } else {
          xml = toFormXml(this.xmlTemplate!.render(xctx, { strict }));
        }
      } catch (err) {
        if (err instanceof MappingError) throw err;
        throw new MappingError(c.xmlMode === 'table' ? 'xmlTable' : 'xmlTemplate', (err as Error).message);
      }
      const invalid = options.validateXml?.(xml);
      if (invalid && invalid.length) throw new MappingError('formXml', `does not match the form schema: ${invalid.slice(0, 5).join('; ')}`);
      obj.formular = {
        formType,
        title: title ?? pdf.name,
        formatName: dot > 0 ? pdf.name.slice(dot + 1).toLowerCase() : 'pdf',
        pdfBase64: pdf.content!.toString('base64'),
        formXml: xml,
      };
    }
    return { object: obj, xml };
  }

  /** The PDF rendering (FORMULAR) or the document's file (DOKUMENT) named by the `pdf` setting. */
  private async pdfFile(
    sub: Submission,
    _msg: Record<string, unknown>,
    _evaluate: Evaluator,
    raw: (n: string, s: FieldSpec | undefined) => Promise<unknown>,
  ): Promise<FileRef> {
    const spec = this.config.fields.pdf!;
    const isFormular = this.config.objektType === 'FORMULAR';
    let file: FileRef;
    if (spec.type === 'element') {
      const f = sub.files.find((x) => x.element === spec.value.trim());
      if (!f) throw new MappingError('pdf', `the submission has no file in element "${truncate(spec.value, 60)}"`);
      file = { element: f.element, name: baseName(f.name), mime: f.mime, size: f.size, content: f.content, url: f.url };
    } else {
      const v = await raw('pdf', spec);
      const defaultName = isFormular ? 'formular.pdf' : 'dokument.pdf';
      if (Buffer.isBuffer(v)) file = { name: defaultName, mime: 'application/pdf', content: v, size: v.length };
      else if (typeof v === 'string' && /^[A-Za-z0-9+/\s]+={0,2}\s*$/.test(v)) {
        const content = Buffer.from(v, 'base64');
        file = { name: defaultName, mime: 'application/pdf', content, size: content.length };
      } else if (v && typeof v === 'object' && typeof (v as FileRef).name === 'string') {
        const o = v as FileRef & { data?: string };
        const content = o.content ?? (typeof o.data === 'string' ? Buffer.from(o.data, 'base64') : undefined);
        file = { ...o, content };
        delete (file as { data?: string }).data;
      } else throw new MappingError('pdf', 'is neither a file, a Buffer nor base64 text');
    }
    if (!isFormular) return file;
    if (file.mime && file.mime.toLowerCase() !== 'application/pdf') throw new MappingError('pdf', `must be application/pdf, got ${truncate(file.mime, 60)}`);
    if (!file.content) throw new MappingError('pdf', 'has no content in the message (only a URL); let webform in include file data');
    if (file.content.subarray(0, 5).toString('latin1') !== '%PDF-') throw new MappingError('pdf', 'is not a PDF (does not start with %PDF-)');
    return file;
  }
}

/** The citizen's file name without any directory part (FileRef.name is data, never a path). */
function baseName(name: string): string {
  return String(name).split(/[\\/]/).pop() || 'file';
}

/** Checks that msg.payload is a normalised submission (as `webform in` emits). */
export function checkSubmission(p: unknown): Submission {
  const bad = (m: string) => new MappingError('payload', m);
  if (!p || typeof p !== 'object' || Array.isArray(p)) throw bad('msg.payload is not a submission object');
  const s = p as Partial<Submission>;
  if (!s.submission || typeof s.submission !== 'object' || typeof s.submission.uuid !== 'string') throw bad('has no submission.uuid');
  if (!s.webform || typeof s.webform.id !== 'string') throw bad('has no webform.id');
  if (!s.data || typeof s.data !== 'object') throw bad('has no data object');
  if (s.files !== undefined && !Array.isArray(s.files)) throw bad('files is not a list');
  const files = (s.files ?? []).map((f, i) => {
    if (!f || typeof f !== 'object' || typeof f.element !== 'string' || typeof f.name !== 'string')
      throw new MappingError(`payload.files[${i}]`, 'needs element and name');
    // JSON-built submissions (inject, tests) may carry base64 text instead of a Buffer.
    if (typeof f.content === 'string') {
      const content = Buffer.from(f.content as string, 'base64');
      return { ...f, content, size: f.size ?? content.length };
    }
    if (f.content !== undefined && !Buffer.isBuffer(f.content)) throw new MappingError(`payload.files[${i}]`, 'content is neither a Buffer nor base64 text');
    return f;
  });
  return { ...(s as Submission), files };
}

export { TemplateError, toInstant };
