/**
 * The `map` node's settings (as stored in the flow, or posted by the preview dialog) → MapConfig, and the
 * JSON shapes of the preview. No Node-RED dependency.
 */
import type { FordelingsObject } from '../sf2900/model';
import { FIELD_NAMES, type FileRule, type MapConfig, type MapResult, type TableRow } from './mapper';

/** Node settings (from the flow or the preview dialog) → MapConfig. */
export function configFromNodeDef(n: Record<string, unknown>): MapConfig {
  const fields: MapConfig['fields'] = {};
  for (const name of FIELD_NAMES) {
    const value = n[name];
    if (value === undefined || value === null) continue;
    let type = String(n[`${name}Type`] ?? (name === 'pdf' ? 'element' : 'str'));
    if (name === 'pdf' && type === 'str') type = 'element'; // a literal PDF setting names the file element
    fields[name] = { value: String(value), type };
  }
  const rows = (v: unknown) => (Array.isArray(v) ? v.filter((r) => r && typeof r === 'object') : []);
  return {
    objektType: String(n.objektType ?? 'FORMULAR') as MapConfig['objektType'],
    routingMode: (n.routingMode === 'system'
      ? 'system'
      : n.routingMode === undefined || n.routingMode === 'kle'
        ? 'kle'
        : String(n.routingMode)) as MapConfig['routingMode'],
    fields,
    files: rows(n.files).map((r: FileRule) => ({
      element: String(r.element ?? ''),
      role: r.role ? String(r.role) : undefined,
      fileSpecification: r.fileSpecification ? String(r.fileSpecification) : undefined,
    })),
    xmlMode: n.xmlMode === 'table' ? 'table' : 'template',
    xmlTemplate: typeof n.xmlTemplate === 'string' ? n.xmlTemplate : '',
    xmlTable: rows(n.xmlTable).map((r: TableRow) => ({ path: String(r.path ?? ''), value: String(r.value ?? ''), type: String(r.type ?? 'str') })),
    strict: n.strict !== false,
  };
}

/** The object and XML as JSON for the preview: Buffers summarised, the PDF shortened. */
export function previewable(result: MapResult): { object: unknown; xml?: string } {
  const object = JSON.parse(
    JSON.stringify(result.object, (k, v) => {
      if (v && typeof v === 'object' && v.type === 'Buffer' && Array.isArray(v.data)) return `<${v.data.length} bytes>`;
      if (k === 'pdfBase64' && typeof v === 'string' && v.length > 48) return `${v.slice(0, 24)}… (${v.length} characters)`;
      return v;
    }),
  ) as FordelingsObject;
  return { object, xml: result.xml };
}

/** Turns base64 `content`/`data` of pasted sample files into Buffers, as webform in would deliver them. */
export function sampleMessage(sample: unknown): Record<string, unknown> {
  if (!sample || typeof sample !== 'object' || Array.isArray(sample)) throw new Error('sample must be a JSON object (a submission or a message with payload)');
  const s = sample as Record<string, unknown>;
  const msg: Record<string, unknown> = 'payload' in s && !('webform' in s) ? { ...s } : { payload: s };
  const p = msg.payload as Record<string, unknown> | undefined;
  if (p && Array.isArray(p.files)) {
    p.files = p.files.map((f: Record<string, unknown>) => {
      if (!f || typeof f !== 'object') return f;
      const data = typeof f.content === 'string' ? f.content : typeof f.data === 'string' ? f.data : undefined;
      if (data === undefined) return f;
      const { data: _d, ...rest } = f;
      return { ...rest, content: Buffer.from(data, 'base64') };
    });
  }
  return msg;
}
