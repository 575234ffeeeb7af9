/**
 * `os2-validate`: checks a message property against a JSON Schema (ajv 8 + ajv-formats) and/or an XML property against
 * an XSD (libxml2-wasm). Output 1: valid. Output 2: invalid, with `msg.validationErrors = [{path, message, keyword}]`.
 *
 * Invalid data is not an error. A schema that cannot be used is: shown at deploy (node.error + red status) and
 * reported per message with done(err), so a Catch node sees it.
 */
import { RatedStatus } from '../../lib/node-red/status-rate';
import { validations } from '../../lib/ops/metrics';
import * as fs from 'fs';
import * as path from 'path';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { compileSchema, SchemaCache, SchemaError, validateValue, type CompiledSchema } from '../../lib/validation/json-schema';
import { checkLimits, resolveLimits, type InputLimits } from '../../lib/validation/limits';
import { isLanguage, type Language, type ValidationError } from '../../lib/validation/types';
import { validateXml } from '../../lib/validation/xml';
import { loadXsd, type XsdSchema } from '../../lib/xml/xsd';

type SchemaSource = 'none' | 'node' | 'file' | 'msg';

interface ValidateDef extends NodeDef {
  property?: string;
  propertyType?: string;
  schemaSource?: SchemaSource;
  schema?: string;
  schemaFile?: string;
  xsdFile?: string;
  xmlProperty?: string;
  xmlPropertyType?: string;
  language?: string;
}

/** How many different msg.schema objects one node keeps compiled. */
const MSG_SCHEMA_CACHE_SIZE = 50;

type Msg = NodeMessage & Record<string, unknown>;
type Done = (err?: Error) => void;
type Send = (msg: Array<NodeMessage | null>) => void;

export = function (RED: NodeAPI) {
  const settings = RED.settings as unknown as Record<string, unknown>;

  /** Absolute path: relative paths are taken from Node-RED's user directory. */
  function resolveFile(p: string): string {
    const base = typeof settings.userDir === 'string' ? settings.userDir : process.cwd();
    return path.resolve(base, p);
  }

  function ValidateNode(this: Node, config: ValidateDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const lang: Language = isLanguage(config.language) ? config.language : 'da';
    const limits: InputLimits = resolveLimits(settings.os2ValidateLimits as Record<string, unknown> | undefined);
    const property = (config.property ?? '').trim() || 'payload';
    const source: SchemaSource = (['none', 'node', 'file', 'msg'] as const).find((s) => s === config.schemaSource) ?? 'node';
    const xsdFile = (config.xsdFile ?? '').trim();
    const xmlProperty = (config.xmlProperty ?? '').trim() || 'payload';

    /** Why this node cannot validate (a broken schema); reported per message as done(err). */
    let setupError: Error | undefined;
    let fixed: CompiledSchema | undefined;
    const msgSchemas = new SchemaCache(MSG_SCHEMA_CACHE_SIZE);
    let xsd: Promise<XsdSchema> | undefined;
    let xsdReady: XsdSchema | undefined;
    let closed = false;

    const fail = (err: Error) => {
      setupError = err;
      node.status({ fill: 'red', shape: 'ring', text: RED._('validate.status.broken') });
      node.error(err.message);
    };

    try {
      if (source === 'node') {
        fixed = compileSchema(config.schema ?? '');
      } else if (source === 'file') {
        const file = (config.schemaFile ?? '').trim();
        if (!file) throw new SchemaError('No JSON Schema file configured');
        let text: string;
        try {
          text = fs.readFileSync(resolveFile(file), 'utf8');
        } catch (err) {
          throw new SchemaError(`JSON Schema file ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
        fixed = compileSchema(text);
      }
      if (fixed?.warnings.length) node.warn(`JSON Schema strict mode: ${fixed.warnings.join('; ')}`);
      if (source === 'none' && !xsdFile) throw new SchemaError('Nothing to validate: choose a JSON Schema or an XSD file');
    } catch (err) {
      fail(err as Error);
    }

    if (xsdFile && !setupError) {
      xsd = loadXsd(resolveFile(xsdFile));
      node.status({ fill: 'grey', shape: 'ring', text: RED._('validate.status.loading') });
      xsd.then(
        (s) => {
          xsdReady = s;
          if (!closed) node.status({});
        },
        (err: Error) => {
          if (!closed) fail(err);
        },
      );
    }

    function getProperty(msg: Msg, prop: string): unknown {
      return RED.util.getMessageProperty(msg, prop);
    }

    async function check(msg: Msg): Promise<ValidationError[]> {
      const errors: ValidationError[] = [];
      let compiled = fixed;
      if (source === 'msg') {
        if (msg.schema === undefined || msg.schema === null) throw new SchemaError('msg.schema is missing');
        const over = checkLimits(msg.schema, limits, 'en');
        if (over) throw new SchemaError(`msg.schema ${over.path ? `at ${over.path} ` : ''}${over.message}`);
        compiled = msgSchemas.get(msg.schema);
      }
      if (compiled) errors.push(...validateValue(compiled, getProperty(msg, property), lang, limits).errors);
      if (xsd) {
        const schema = xsdReady ?? (await xsd);
        errors.push(...validateXml(schema, getProperty(msg, xmlProperty), lang, limits).errors);
      }
      return errors;
    }

    let validCount = 0;
    let invalidCount = 0;
    // per message, so at a bounded rate and translated only when shown (lib/node-red/status-rate.ts)
    const dot = new RatedStatus((s) => node.status(s));
    const showCounts = () =>
      dot.rated(() => ({
        fill: invalidCount ? 'yellow' : 'green',
        shape: 'dot',
        text: RED._('validate.status.counts', { valid: validCount, invalid: invalidCount }),
      }));

    node.on('input', (msg: Msg, send: Send, done: Done) => {
      if (setupError) {
        done(setupError);
        return;
      }
      check(msg).then(
        (errors) => {
          if (errors.length === 0) {
            validCount++;
            validations.inc({ result: 'valid' });
            delete msg.validationErrors;
            send([msg, null]);
          } else {
            invalidCount++;
            validations.inc({ result: 'invalid' });
            msg.validationErrors = errors;
            send([null, msg]);
          }
          showCounts();
          done();
        },
        (err: Error) => done(err),
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      dot.close();
      msgSchemas.clear();
      done();
    });
  }

  // The editor's "Check" button: compiles the schema exactly as a deployed node would (strict mode, formats).
  RED.httpAdmin.post('/os2-validate/check-schema', RED.auth.needsPermission('os2-validate.write'), (req, res) => {
    const schema = (req.body as { schema?: unknown } | undefined)?.schema;
    try {
      if (typeof schema !== 'string' && (schema === null || typeof schema !== 'object')) throw new SchemaError('No JSON Schema given');
      const { warnings } = compileSchema(schema);
      res.json({ valid: true, warnings });
    } catch (err) {
      res.json({ valid: false, error: (err as Error).message });
    }
  });

  // settings.js may hold `os2ValidateLimits` (read directly; not exported to the editor, so not registered).
  RED.nodes.registerType('os2-validate', ValidateNode);
};
