/**
 * Status texts from a node's locale catalogue (en-US, da), falling back to the English text given in code when no
 * catalogue is loaded (e.g. under the test helper, where RED._ answers with the key itself).
 */
export type StatusText = (key: string, vars: Record<string, string | number>, english: string) => string;

export function statusText(RED: unknown, prefix: string): StatusText {
  const translate = (RED as { _?: (k: string, v: object) => unknown })._;
  return (key, vars, english) => {
    const id = `${prefix}.status.${key}`;
    const text = typeof translate === 'function' ? translate(id, vars) : undefined;
    return typeof text === 'string' && text !== id && !text.endsWith(id) ? text : english;
  };
}
