/** One problem found in a message, as put on `msg.validationErrors`. */
export interface ValidationError {
  /** Where: a dotted path relative to the validated value (`data.fornavn`, `files[0].name`; '' = the value itself). */
  path: string;
  /** The same place as a JSON pointer (`/data/fornavn`); for XML the element's XPath when libxml2 reports one. */
  pointer?: string;
  /** Readable text in the node's language. */
  message: string;
  /** The JSON Schema keyword that failed, `xsd` for XML schema errors, `limit` for input refused as too large. */
  keyword: string;
  /** XML line number (XSD errors only). */
  line?: number;
}

export type Language = 'da' | 'en';

export function isLanguage(v: unknown): v is Language {
  return v === 'da' || v === 'en';
}
