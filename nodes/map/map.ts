import * as path from 'path';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { Request, Response } from 'express';
import { ConfigError, Mapper, type Evaluator, type FieldSpec, type MapConfig } from '../../lib/mapping/mapper';
import { configFromNodeDef, sampleMessage } from '../../lib/mapping/node-config';
import { preview } from '../../lib/mapping/preview';
import type { EndpointConfig } from '../../lib/delivery/deliver';
import type { ServiceplatformConfig } from '../../lib/delivery/serviceplatform';
import { getSample, listSamples } from '../../lib/node-red/samples';
import { maskCpr } from '../../lib/privacy/cpr';
import { sampleForDisplay, sampleForMapping } from '../../lib/webform/samples';
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

  /** A message of the API in the runtime's language (map.api.*), English when the catalog has none. */
  const say = (key: string, english: string) => {
    const text = RED._(`map.api.${key}`);
    return text && text !== `map.api.${key}` ? text : english;
  };
  const fail = (res: Response, err: unknown) => res.status(500).json({ error: maskCpr(String((err as Error)?.message ?? err).split('\n')[0]) });

  // Recent real submissions webform in kept (labels only, no personal data).
  RED.httpAdmin.get('/os2-map/samples', RED.auth.needsPermission('os2-map.read'), (_req: Request, res: Response) => {
    listSamples(RED, (err) => RED.log.warn(`map: samples of a ledger could not be read: ${err.message.split('\n')[0]}`)).then(
      (samples) => res.json({ samples }),
      (err) => fail(res, err),
    );
  });
  // One sample for the dialog: CPR numbers masked, file contents never stored.
  RED.httpAdmin.get('/os2-map/samples/:id', RED.auth.needsPermission('os2-map.write'), (req: Request, res: Response) => {
    getSample(RED, String(req.params.id)).then(
      (s) =>
        s
          ? res.json({ id: s.id, webformId: s.webformId, receivedAt: s.receivedAt, sample: sampleForDisplay(s) })
          : res.status(404).json({ error: say('sampleGone', 'No such sample (it may have expired: samples are kept 7 days)') }),
      (err) => fail(res, err),
    );
  });

  // Preview for the edit dialog: {config, sample? | sampleId?, serviceplatform?} → {object, xml, request, contract, errors}.
  RED.httpAdmin.post('/os2-map/preview', RED.auth.needsPermission('os2-map.write'), async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as { config?: Record<string, unknown>; sample?: unknown; sampleId?: unknown; serviceplatform?: unknown };
    if (!body.config || typeof body.config !== 'object' || Array.isArray(body.config)) return void res.status(400).json({ error: 'config is missing' });
    let msg: Record<string, unknown>;
    const notes: string[] = [];
    try {
      if (body.sampleId !== undefined && body.sampleId !== null && body.sampleId !== '') {
        const s = await getSample(RED, String(body.sampleId));
        if (!s) return void res.status(404).json({ error: say('sampleGone', 'No such sample (it may have expired: samples are kept 7 days)') });
        const submission = sampleForMapping(s);
        if (s.submission.files.some((f) => f.contentElided))
          notes.push(say('standIn', 'File contents are not kept with samples: a stand-in file takes their place in the object and the request'));
        msg = { payload: submission };
      } else msg = sampleMessage(body.sample);
    } catch (err) {
      return void res.status(400).json({ error: (err as Error).message });
    }
    try {
      const config = configFromNodeDef(body.config);
      const deployed = typeof body.config.id === 'string' ? (RED.nodes.getNode(body.config.id) as Node | null) : null;
      const mapper = new Mapper(config);
      const { evaluate, problems } = makeEvaluator(RED, deployed ?? previewStub(), config);
      let validateXml: ((xml: string) => string[] | undefined) | undefined;
      const xsdPath = resolveFile(typeof body.config.xsdPath === 'string' ? body.config.xsdPath.trim() : '');
      if (xsdPath && config.objektType === 'FORMULAR') validateXml = xsdCheck(await loadXsd(xsdPath));
      const sp = serviceplatformFor(body.serviceplatform);
      res.json(await preview({ mapper, evaluate, problems, msg, validateXml, endpoint: sp.endpoint, endpointNote: sp.note, notes }));
    } catch (err) {
      res.status(400).json({ error: maskCpr((err as Error).message) });
    }
  });

  /** The deployed serviceplatform's endpoint, or a note why there is none. */
  function serviceplatformFor(id: unknown): { endpoint?: EndpointConfig; note?: string } {
    if (id === undefined || id === null || id === '') return {};
    const node = RED.nodes.getNode(String(id)) as unknown as ServiceplatformConfig | null;
    if (!node || typeof node.endpoint !== 'function')
      return { note: say('notDeployed', 'The serviceplatform configuration is not deployed: deploy it, then preview again') };
    if (node.configError) return { note: node.configError };
    return { endpoint: node.endpoint() };
  }
};

/** A node-shaped stand-in for an undeployed map node (flow and global context are empty). */
function previewStub(): Node {
  const none = {
    get: (_k: string, _s?: unknown, cb?: (e: Error | null, v?: unknown) => void) => (cb ? cb(null, undefined) : undefined),
    set: () => undefined,
    keys: () => [],
  };
  return {
    id: 'preview',
    type: 'os2-map',
    name: 'preview',
    context: () => ({ flow: none, global: none, get: none.get, set: none.set, keys: none.keys }),
  } as unknown as Node;
}
