/**
 * The map dialog's admin endpoints: recent real submissions (samples) and the preview of the object, the form XML and
 * the exact request, checked against the contract (lib/mapping/preview.ts).
 */
import type { Node, NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import { Mapper } from '../../lib/mapping/mapper';
import { configFromNodeDef, sampleMessage } from '../../lib/mapping/node-config';
import { preview } from '../../lib/mapping/preview';
import type { EndpointConfig } from '../../lib/delivery/deliver';
import type { ServiceplatformConfig } from '../../lib/delivery/serviceplatform';
import { makeEvaluator, xsdCheck } from '../../lib/node-red/map-evaluator';
import { getSample, listSamples } from '../../lib/node-red/samples';
import { maskCpr } from '../../lib/privacy/cpr';
import { sampleForDisplay, sampleForMapping } from '../../lib/webform/samples';
import { loadXsd } from '../../lib/xml/xsd';

export function registerMapAdmin(RED: NodeAPI, resolveFile: (p: string) => string): void {
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
}

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
