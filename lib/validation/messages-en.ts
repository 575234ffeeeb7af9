/** English texts for ajv errors. Each text describes the problem at the error's path. */
import type { ErrorObject } from 'ajv';

const TYPES: Record<string, string> = {
  string: 'a text',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  null: 'empty (null)',
};

const FORMATS: Record<string, string> = {
  email: 'a valid e-mail address',
  date: 'a valid date (YYYY-MM-DD)',
  'date-time': 'a valid date and time (ISO 8601, e.g. 2026-04-24T10:00:00+02:00)',
  time: 'a valid time (hh:mm:ss)',
  duration: 'a valid duration (ISO 8601)',
  uri: 'a valid URI',
  'uri-reference': 'a valid URI reference',
  url: 'a valid URL',
  uuid: 'a valid UUID',
  ipv4: 'a valid IPv4 address',
  ipv6: 'a valid IPv6 address',
  hostname: 'a valid host name',
  regex: 'a valid regular expression',
  cpr: 'a valid CPR number (10 digits, DDMMYYXXXX)',
  cvr: 'a valid CVR number (8 digits)',
  kle: 'a valid KLE number (dd.dd.dd)',
};

export function listOf(values: unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

function typeText(t: unknown, table: Record<string, string>, or: string): string {
  const list = Array.isArray(t) ? t : String(t).split(',');
  return list.map((x) => table[String(x)] ?? String(x)).join(` ${or} `);
}

export function messageEn(e: ErrorObject): string {
  const p = e.params as Record<string, any>;
  switch (e.keyword) {
    case 'required':
      return 'is required';
    case 'dependentRequired':
    case 'dependencies':
      return `is required when ${JSON.stringify(p.property)} is filled in`;
    case 'type':
      return `must be ${typeText(p.type, TYPES, 'or')}`;
    case 'format':
      return FORMATS[p.format] ? `must be ${FORMATS[p.format]}` : `must match the format ${JSON.stringify(p.format)}`;
    case 'pattern':
      return `does not have the required form (pattern ${p.pattern})`;
    case 'minLength':
      return p.limit === 1 ? 'must not be empty' : `must be at least ${p.limit} characters long`;
    case 'maxLength':
      return `must be at most ${p.limit} characters long`;
    case 'minimum':
      return `must be at least ${p.limit}`;
    case 'maximum':
      return `must be at most ${p.limit}`;
    case 'exclusiveMinimum':
      return `must be greater than ${p.limit}`;
    case 'exclusiveMaximum':
      return `must be less than ${p.limit}`;
    case 'multipleOf':
      return `must be a multiple of ${p.multipleOf}`;
    case 'enum':
      return `must be one of the allowed values: ${listOf(p.allowedValues ?? [])}`;
    case 'const':
      return `must be ${JSON.stringify(p.allowedValue)}`;
    case 'additionalProperties':
    case 'unevaluatedProperties':
      return 'is not allowed here';
    case 'minItems':
      return `must have at least ${p.limit} item${p.limit === 1 ? '' : 's'}`;
    case 'maxItems':
    case 'additionalItems':
    case 'items':
    case 'unevaluatedItems':
      return `must have at most ${p.limit} item${p.limit === 1 ? '' : 's'}`;
    case 'uniqueItems':
      return `must not contain duplicates (items ${p.j} and ${p.i} are equal)`;
    case 'minProperties':
      return `must have at least ${p.limit} field${p.limit === 1 ? '' : 's'}`;
    case 'maxProperties':
      return `must have at most ${p.limit} field${p.limit === 1 ? '' : 's'}`;
    case 'contains':
      return p.maxContains !== undefined
        ? `must contain between ${p.minContains ?? 1} and ${p.maxContains} matching items`
        : `must contain at least ${p.minContains ?? 1} matching item${(p.minContains ?? 1) === 1 ? '' : 's'}`;
    case 'propertyNames':
      return `has a field with a name that is not allowed: ${JSON.stringify(p.propertyName)}`;
    case 'anyOf':
      return 'must match at least one of the allowed alternatives';
    case 'oneOf':
      return 'must match exactly one of the allowed alternatives';
    case 'not':
      return 'must not match the excluded schema';
    case 'if':
      return `must match the "${p.failingKeyword}" schema`;
    case 'false schema':
      return 'is not allowed';
    default:
      return e.message ? e.message : `is invalid (${e.keyword})`;
  }
}
