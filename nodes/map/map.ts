import * as path from 'path';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { ConfigError, Mapper } from '../../lib/mapping/mapper';
import { configFromNodeDef } from '../../lib/mapping/node-config';
import { makeEvaluator, xsdCheck } from '../../lib/node-red/map-evaluator';
import { loadXsd, type XsdSchema } from '../../lib/xml/xsd';
import { registerMapAdmin } from './preview-admin';

type MapNodeDef = NodeDef & Record<string, unknown> & { xsdPath?: string };

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

  registerMapAdmin(RED, resolveFile);
};
