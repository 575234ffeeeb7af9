import * as path from 'path';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { Request, Response } from 'express';
import { ConfigError, Mapper, type Evaluator, type FieldSpec, type MapConfig } from '../../lib/mapping/mapper';
import { configFromNodeDef, previewable, sampleMessage } from '../../lib/mapping/node-config';
import { loadXsd, type XsdSchema } from '../../lib/xml/xsd';

type MapNodeDef = NodeDef & Record<string, unknown> & { xsdPath?: string };

/** Evaluator for the Node-RED value types; JSONata expressions prepared once per setting. */
function makeEvaluator(RED: NodeAPI, node: Node, config: MapConfig): { evaluate: Evaluator; problems: string[] } {
  const prepared = new Map<FieldSpec, ReturnType<NodeAPI['util']['prepareJSONataExpression']>>();
  const problems: string[] = [];
  const specs: [string, FieldSpec][] = [
    ...(Object.entries(config.fields) as [string, FieldSpec][]),
    ...(config.objektType === 'FORMULAR' && config.xmlMode === 'table'
      ? (config.xmlTable ?? []).map((r, i) => [`xmlTable row ${i + 1}`, r] as [string, FieldSpec])
      : []),
  ];
  for (const [name, spec] of specs) {
    if (spec.type !== 'jsonata' || !spec.value) continue;
    try {
      prepared.set(spec, RED.util.prepareJSONataExpression(spec.value, node));
    } catch (err) {
      problems.push(`${name}: JSONata expression is invalid: ${(err as Error).message}`);
    }
  }
  const evaluate: Evaluator = (spec, msg) =>
    new Promise((resolve, reject) => {
      const cb = (err: Error | null, value: unknown) => (err ? reject(err) : resolve(value));
      try {
        if (spec.type === 'jsonata') {
          const expr = prepared.get(spec);
          if (!expr) return reject(new Error('JSONata expression was not prepared'));
          RED.util.evaluateJSONataExpression(expr, msg as NodeMessage, cb);
        } else if (spec.type === 'flow' || spec.type === 'global') {
          RED.util.evaluateNodeProperty(spec.value, spec.type, node, msg as NodeMessage, cb);
        } else {
          resolve(RED.util.evaluateNodeProperty(spec.value, spec.type, node, msg as NodeMessage));
        }
      } catch (err) {
        reject(err);
      }
    });
  return { evaluate, problems };
}

/** Form XML check against a loaded XSD: messages (with line numbers) for invalid XML. */
function xsdCheck(schema: XsdSchema): (xml: string) => string[] | undefined {
  return (xml) => {
    const r = schema.validate(xml);
    return r.valid ? undefined : r.errors.map((e) => (e.line ? `line ${e.line}: ${e.message}` : e.message));
  };
}

export = function (RED: NodeAPI) {
  /** Relative XSD paths are taken from Node-RED's user directory (as validate does). */
  function resolveFile(p: string): string {
    if (!p) return '';
    const userDir = (RED.settings as unknown as { userDir?: unknown }).userDir;
    return path.resolve(typeof userDir === 'string' ? userDir : process.cwd(), p);
  }
  function MapNode(this: Node, def: MapNodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = configFromNodeDef(def);
    const mapper = new Mapper(config);
    const { evaluate, problems: jsonataProblems } = makeEvaluator(RED, node, config);
    const problems = [...mapper.problems, ...jsonataProblems];
    let schema: Promise<XsdSchema> | undefined;
    const xsdPath = resolveFile(typeof def.xsdPath === 'string' ? def.xsdPath.trim() : '');
    if (xsdPath && config.objektType === 'FORMULAR') {
      schema = loadXsd(xsdPath);
      schema.catch((err: Error) => {
        node.status({ fill: 'red', shape: 'ring', text: 'XSD' });
        node.error(`${RED._('map.errors.xsd')}: ${err.message}`);
      });
    }
    if (problems.length) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('map.status.invalid') });
      node.error(`${RED._('map.errors.config')}: ${problems.join('; ')}`);
    } else {
      node.status({});
    }

    node.on('input', async (msg, send, done) => {
      try {
        if (problems.length) throw new ConfigError(problems);
        let validateXml: ((xml: string) => string[] | undefined) | undefined;
        if (schema) {
          validateXml = xsdCheck(await schema);
        }
        const result = await mapper.map(msg as unknown as Record<string, unknown>, evaluate, { validateXml });
        (msg as NodeMessage & { payload: unknown }).payload = result.object;
        send(msg);
        done();
      } catch (err) {
        done(err as Error);
      }
    });
  }

  RED.nodes.registerType('os2-map', MapNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);

  // Preview for the edit dialog: {config, sample} → {object, xml} | {error}.
  RED.httpAdmin.post('/os2-map/preview', RED.auth.needsPermission('os2-map.write'), async (req: Request, res: Response) => {
    try {
      const body = (req.body ?? {}) as { config?: Record<string, unknown>; sample?: unknown };
      if (!body.config || typeof body.config !== 'object') return void res.status(400).json({ error: 'config is missing' });
      const config = configFromNodeDef(body.config);
      const deployed = typeof body.config.id === 'string' ? (RED.nodes.getNode(body.config.id) as Node | null) : null;
      const stub =
        deployed ??
        ({
          id: 'preview',
          type: 'os2-map',
          name: 'preview',
          context: () => {
            const none = {
              get: (_k: string, _s?: unknown, cb?: (e: Error | null, v?: unknown) => void) => (cb ? cb(null, undefined) : undefined),
              set: () => undefined,
              keys: () => [],
            };
            return { flow: none, global: none, get: none.get, set: none.set, keys: none.keys };
          },
        } as unknown as Node);
      const mapper = new Mapper(config);
      const { evaluate, problems } = makeEvaluator(RED, stub, config);
      if (mapper.problems.length || problems.length) return void res.status(400).json({ error: [...mapper.problems, ...problems].join('; ') });
      let validateXml: ((xml: string) => string[] | undefined) | undefined;
      const xsdPath = resolveFile(typeof body.config.xsdPath === 'string' ? body.config.xsdPath.trim() : '');
      if (xsdPath && config.objektType === 'FORMULAR') {
        validateXml = xsdCheck(await loadXsd(xsdPath));
      }
      const result = await mapper.map(sampleMessage(body.sample), evaluate, { validateXml });
      res.json(previewable(result));
    } catch (err) {
      res.status(400).json({ error: (err as Error).message });
    }
  });
};
