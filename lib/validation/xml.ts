/** XML text against a compiled XSD (lib/xml/xsd.ts), reported as validation errors in the node's language. */
import type { XsdSchema } from '../xml/xsd';
import type { Language, ValidationError } from './types';
import { checkXmlSize, type InputLimits } from './limits';

const TEXT = {
  en: {
    notText: 'must be XML text (a string or a Buffer)',
    line: (n: number) => `line ${n}: `,
  },
  da: {
    notText: 'skal være XML-tekst (en streng eller en Buffer)',
    line: (n: number) => `linje ${n}: `,
  },
};

/**
 * Validates XML text (a string or a UTF-8 Buffer). libxml2's own texts are English; the Danish variant prefixes the
 * line in Danish. `path` is the element's XPath when libxml2 names one.
 */
export function validateXml(schema: XsdSchema, value: unknown, lang: Language, limits: InputLimits): { valid: boolean; errors: ValidationError[] } {
  const t = TEXT[lang];
  if (typeof value !== 'string' && !Buffer.isBuffer(value)) {
    return { valid: false, errors: [{ path: '', pointer: '', message: t.notText, keyword: 'type' }] };
  }
  const over = checkXmlSize(value, limits, lang);
  if (over) return { valid: false, errors: [over] };
  const r = schema.validate(typeof value === 'string' ? value : value.toString('utf8'));
  return {
    valid: r.valid,
    errors: r.errors.map((e) => {
      const out: ValidationError = { path: e.path ?? '', message: (e.line ? t.line(e.line) : '') + e.message, keyword: 'xsd' };
      if (e.path) out.pointer = e.path;
      if (e.line) out.line = e.line;
      return out;
    }),
  };
}
