/** The map node's value evaluation and form-XML check, shared by the node and its dialog's preview (Node-RED util). */
import type { Node, NodeAPI, NodeMessage } from 'node-red';
import type { Evaluator, FieldSpec, MapConfig } from '../mapping/mapper';
import type { XsdSchema } from '../xml/xsd';

/** Evaluator for the Node-RED value types; JSONata expressions prepared once per setting. */
export function makeEvaluator(RED: NodeAPI, node: Node, config: MapConfig): { evaluate: Evaluator; problems: string[] } {
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
  const evaluate: Evaluator = (spec, msg) => {
    // msg, env, str: a plain value (no await per field); JSONata and context stores: a promise (they call back)
    if (spec.type !== 'jsonata' && spec.type !== 'flow' && spec.type !== 'global') {
      return RED.util.evaluateNodeProperty(spec.value, spec.type, node, msg as NodeMessage);
    }
    return new Promise((resolve, reject) => {
      const cb = (err: Error | null, value: unknown) => (err ? reject(err) : resolve(value));
      try {
        if (spec.type === 'jsonata') {
          const expr = prepared.get(spec);
          if (!expr) return reject(new Error('JSONata expression was not prepared'));
          RED.util.evaluateJSONataExpression(expr, msg as NodeMessage, cb);
        } else RED.util.evaluateNodeProperty(spec.value, spec.type, node, msg as NodeMessage, cb);
      } catch (err) {
        reject(err);
      }
    });
  };
  return { evaluate, problems };
}

/** Form XML check against a loaded XSD: messages (with line numbers) for invalid XML. */
export function xsdCheck(schema: XsdSchema): (xml: string) => string[] | undefined {
  return (xml) => {
    const r = schema.validate(xml);
    return r.valid ? undefined : r.errors.map((e) => (e.line ? `line ${e.line}: ${e.message}` : e.message));
  };
}
