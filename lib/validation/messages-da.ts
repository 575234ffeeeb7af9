/**
 * Danish texts for ajv errors (ajv-i18n has no Danish locale). Each text describes the problem at the error's path,
 * e.g. path `data.fornavn`, message `skal udfyldes`.
 */
import type { ErrorObject } from 'ajv';
import { listOf } from './messages-en';

const TYPES: Record<string, string> = {
  string: 'en tekst',
  number: 'et tal',
  integer: 'et helt tal',
  boolean: 'sand eller falsk',
  object: 'et objekt',
  array: 'en liste',
  null: 'tom (null)',
};

const FORMATS: Record<string, string> = {
  email: 'en gyldig e-mailadresse',
  date: 'en gyldig dato (ÅÅÅÅ-MM-DD)',
  'date-time': 'et gyldigt tidspunkt med dato (ISO 8601, fx 2026-04-24T10:00:00+02:00)',
  time: 'et gyldigt klokkeslæt (tt:mm:ss)',
  duration: 'en gyldig varighed (ISO 8601)',
  uri: 'en gyldig URI',
  'uri-reference': 'en gyldig URI-reference',
  url: 'en gyldig URL',
  uuid: 'et gyldigt UUID',
  ipv4: 'en gyldig IPv4-adresse',
  ipv6: 'en gyldig IPv6-adresse',
  hostname: 'et gyldigt værtsnavn',
  regex: 'et gyldigt regulært udtryk',
  cpr: 'et gyldigt CPR-nummer (10 cifre, DDMMÅÅXXXX)',
  cvr: 'et gyldigt CVR-nummer (8 cifre)',
  kle: 'et gyldigt KLE-nummer (dd.dd.dd)',
};

function typeText(t: unknown): string {
  const list = Array.isArray(t) ? t : String(t).split(',');
  return list.map((x) => TYPES[String(x)] ?? String(x)).join(' eller ');
}

function elementer(n: number): string {
  return n === 1 ? '1 element' : `${n} elementer`;
}

function felter(n: number): string {
  return n === 1 ? '1 felt' : `${n} felter`;
}

export function messageDa(e: ErrorObject): string {
  const p = e.params as Record<string, any>;
  switch (e.keyword) {
    case 'required':
      return 'skal udfyldes';
    case 'dependentRequired':
    case 'dependencies':
      return `skal udfyldes, når ${JSON.stringify(p.property)} er udfyldt`;
    case 'type':
      return `skal være ${typeText(p.type)}`;
    case 'format':
      return FORMATS[p.format] ? `skal være ${FORMATS[p.format]}` : `skal have formatet ${JSON.stringify(p.format)}`;
    case 'pattern':
      return `har ikke den krævede form (mønster ${p.pattern})`;
    case 'minLength':
      return p.limit === 1 ? 'må ikke være tom' : `skal være på mindst ${p.limit} tegn`;
    case 'maxLength':
      return `må højst være på ${p.limit} tegn`;
    case 'minimum':
      return `skal være mindst ${p.limit}`;
    case 'maximum':
      return `må højst være ${p.limit}`;
    case 'exclusiveMinimum':
      return `skal være større end ${p.limit}`;
    case 'exclusiveMaximum':
      return `skal være mindre end ${p.limit}`;
    case 'multipleOf':
      return `skal være et multiplum af ${p.multipleOf}`;
    case 'enum':
      return `skal være en af de tilladte værdier: ${listOf(p.allowedValues ?? [])}`;
    case 'const':
      return `skal være ${JSON.stringify(p.allowedValue)}`;
    case 'additionalProperties':
    case 'unevaluatedProperties':
      return 'er ikke tilladt her';
    case 'minItems':
      return `skal have mindst ${elementer(p.limit)}`;
    case 'maxItems':
    case 'additionalItems':
    case 'items':
    case 'unevaluatedItems':
      return `må højst have ${elementer(p.limit)}`;
    case 'uniqueItems':
      return `må ikke indeholde dubletter (element ${p.j} og ${p.i} er ens)`;
    case 'minProperties':
      return `skal have mindst ${felter(p.limit)}`;
    case 'maxProperties':
      return `må højst have ${felter(p.limit)}`;
    case 'contains':
      return p.maxContains !== undefined
        ? `skal indeholde mellem ${p.minContains ?? 1} og ${p.maxContains} passende elementer`
        : `skal indeholde mindst ${(p.minContains ?? 1) === 1 ? 'ét passende element' : `${p.minContains} passende elementer`}`;
    case 'propertyNames':
      return `har et felt med et navn, der ikke er tilladt: ${JSON.stringify(p.propertyName)}`;
    case 'anyOf':
      return 'skal passe til mindst ét af de tilladte alternativer';
    case 'oneOf':
      return 'skal passe til præcis ét af de tilladte alternativer';
    case 'not':
      return 'må ikke passe til det udelukkede skema';
    case 'if':
      return `skal overholde "${p.failingKeyword}"-skemaet`;
    case 'false schema':
      return 'er ikke tilladt';
    default:
      return `er ugyldig (${e.keyword}${e.message ? ': ' + e.message : ''})`;
  }
}
