/**
 * JSON Schema validation with ajv 8 + ajv-formats.
 *
 * - ajv's strict mode (its default: unknown keywords and formats, ignored "additionalItems" etc. are schema errors;
 *   type/tuple hints are collected as warnings), `$data` never enabled, no remote `$ref` loading.
 * - `allErrors` is on so a user sees every problem at once. This is safe only because `checkLimits` bounds the
 *   input before ajv runs (see limits.ts).
 * - Each compiled schema gets its own Ajv instance: schemas never clash on `$id`, and dropping a schema from the
 *   cache frees everything ajv kept for it.
 * - Dialects: draft-07 by default; 2019-09 and 2020-12 when the schema's `$schema` names them.
 * - Extra formats for Danish data: `cpr`, `cvr`, `kle`.
 */
import { createHash } from 'crypto';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import Ajv2019 from 'ajv/dist/2019';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Language, ValidationError } from './types';
import { checkLimits, type InputLimits } from './limits';
import { pathText, pointerSegments } from './paths';
import { messageDa } from './messages-da';
import { messageEn } from './messages-en';

/** Most errors reported for one value (ajv with allErrors could otherwise list thousands). */
export const MAX_REPORTED_ERRORS = 100;
/** Largest schema (as JSON text) that is compiled; protects against a huge msg.schema. */
export const MAX_SCHEMA_CHARS = 1_000_000;

export class SchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaError';
  }
}

export interface CompiledSchema {
  validate: ValidateFunction;
  /** strict-mode hints ajv logged while compiling (e.g. "missing type object for keyword properties"). */
  warnings: string[];
}

let compiles = 0;
/** How many schemas this process has compiled (lets tests and benchmarks prove caching works). */
export function compileCount(): number {
  return compiles;
}

function cprDate(s: string): boolean {
  const m = /^([0-9]{2})([0-9]{2})([0-9]{2})-?[0-9]{4}$/.exec(s);
  if (!m) return false;
  const day = Number(m[1]);
  const month = Number(m[2]);
  return day >= 1 && day <= 31 && month >= 1 && month <= 12;
}

/** The ajv class for the schema's dialect: draft-07 by default, 2019-09 and 2020-12 when `$schema` says so. */
function ajvClassFor(schema: unknown): typeof Ajv {
  const dialect = schema && typeof schema === 'object' ? String((schema as { $schema?: unknown }).$schema ?? '') : '';
  if (dialect.includes('2020-12')) return Ajv2020 as unknown as typeof Ajv;
  if (dialect.includes('2019-09')) return Ajv2019 as unknown as typeof Ajv;
  return Ajv;
}

function newAjv(schema: unknown, warnings: string[]): Ajv {
  const AjvClass = ajvClassFor(schema);
  const ajv = new AjvClass({
    // ajv's default strict mode: strictSchema and strictNumbers throw; strictTypes/strictTuples hints are logged
    // (collected as warnings below); strictRequired stays off so `required` may name properties not described.
    strictSchema: true,
    strictNumbers: true,
    strictTypes: 'log',
    strictTuples: 'log',
    allErrors: true,
    $data: false,
    verbose: false,
    logger: {
      log: () => undefined,
      warn: (...args: unknown[]) => void warnings.push(args.map(String).join(' ')),
      error: (...args: unknown[]) => void warnings.push(args.map(String).join(' ')),
    },
  });
  addFormats(ajv);
  ajv.addFormat('cpr', { type: 'string', validate: cprDate });
  ajv.addFormat('cvr', /^[0-9]{8}$/);
  ajv.addFormat('kle', /^[0-9]{2}\.[0-9]{2}\.[0-9]{2}$/);
  return ajv;
}

/** Compiles a JSON Schema given as an object or as JSON text. Throws SchemaError with a readable reason. */
export function compileSchema(schema: unknown): CompiledSchema {
  let obj = schema;
  if (typeof schema === 'string') {
    if (schema.length > MAX_SCHEMA_CHARS) throw new SchemaError(`JSON Schema is larger than ${MAX_SCHEMA_CHARS} characters`);
    try {
      obj = JSON.parse(schema);
    } catch (err) {
      throw new SchemaError(`JSON Schema is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (typeof obj !== 'boolean' && (obj === null || typeof obj !== 'object' || Array.isArray(obj))) {
    throw new SchemaError('JSON Schema must be an object');
  }
  const warnings: string[] = [];
  const ajv = newAjv(obj, warnings);
  try {
    compiles++;
    return { validate: ajv.compile(obj as object), warnings };
  } catch (err) {
    throw new SchemaError(`JSON Schema is invalid: ${(err as Error).message}`);
  }
}

/** Stable key of a schema object: SHA-256 of its JSON text (throws SchemaError when it cannot be serialised). */
export function schemaKey(schema: unknown): string {
  let text: string | undefined;
  try {
    text = typeof schema === 'string' ? schema : JSON.stringify(schema);
  } catch (err) {
    throw new SchemaError(`JSON Schema cannot be serialised: ${(err as Error).message}`);
  }
  if (text === undefined) throw new SchemaError('JSON Schema is missing');
  if (text.length > MAX_SCHEMA_CHARS) throw new SchemaError(`JSON Schema is larger than ${MAX_SCHEMA_CHARS} characters`);
  return createHash('sha256').update(text).digest('hex');
}

/** A bounded LRU of compiled schemas keyed by the hash of their JSON (for schemas that arrive in messages). */
export class SchemaCache {
  private readonly entries = new Map<string, CompiledSchema>();
  constructor(readonly maxEntries = 50) {}

  get size(): number {
    return this.entries.size;
  }

  get(schema: unknown): CompiledSchema {
    const key = schemaKey(schema);
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key); // re-insert: Map order = recency
      this.entries.set(key, hit);
      return hit;
    }
    const compiled = compileSchema(schema);
    this.entries.set(key, compiled);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return compiled;
  }

  clear(): void {
    this.entries.clear();
  }
}

/** Where an ajv error points, extended to the property it is about (missing, extra, misnamed). */
function errorSegments(e: ErrorObject): Array<string | number> {
  const segs = pointerSegments(e.instancePath);
  const p = e.params as Record<string, unknown>;
  if ((e.keyword === 'required' || e.keyword === 'dependentRequired' || e.keyword === 'dependencies') && typeof p.missingProperty === 'string') {
    segs.push(p.missingProperty);
  } else if ((e.keyword === 'additionalProperties' || e.keyword === 'unevaluatedProperties') && typeof p.additionalProperty === 'string') {
    segs.push(p.additionalProperty);
  } else if (e.keyword === 'unevaluatedProperties' && typeof p.unevaluatedProperty === 'string') {
    segs.push(p.unevaluatedProperty);
  }
  return segs;
}

/** ajv errors → `[{path, pointer, message, keyword}]` in the chosen language, de-duplicated and capped. */
export function toValidationErrors(errors: ErrorObject[] | null | undefined, lang: Language): ValidationError[] {
  const out: ValidationError[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    // propertyNames reports the offending name itself as a separate error; the parent error says it all.
    if (e.propertyName !== undefined) continue;
    const { path, pointer } = pathText(errorSegments(e));
    const message = lang === 'da' ? messageDa(e) : messageEn(e);
    const key = `${pointer}\u0000${e.keyword}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, pointer, message, keyword: e.keyword });
    if (out.length >= MAX_REPORTED_ERRORS) break;
  }
  return out;
}

/** Checks the limits, then the schema. */
export function validateValue(compiled: CompiledSchema, value: unknown, lang: Language, limits: InputLimits): { valid: boolean; errors: ValidationError[] } {
  const over = checkLimits(value, limits, lang);
  if (over) return { valid: false, errors: [over] };
  if (compiled.validate(value)) return { valid: true, errors: [] };
  return { valid: false, errors: toValidationErrors(compiled.validate.errors, lang) };
}
