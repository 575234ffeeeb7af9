// The status dot at a bounded rate: what an editor user sees, and what is never computed.
import assert from 'node:assert/strict';
import type { NodeStatus } from 'node-red';
import { RatedStatus } from '../../../lib/node-red/status-rate';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('lib/node-red/status-rate', () => {
  it('shows the first change at once, then only the last of a burst when the interval ends; superseded texts are never made', async () => {
    const shown: NodeStatus[] = [];
    const dot = new RatedStatus((s) => shown.push(s), 60);
    let made = 0;
    const text = (t: string) => () => (made++, { fill: 'blue' as const, shape: 'dot' as const, text: t });
    dot.rated(text('sending 1'));
    for (let i = 2; i <= 50; i++) dot.rated(text(`sending ${i}`));
    assert.deepEqual(
      shown.map((s) => s.text),
      ['sending 1'],
    );
    await sleep(90);
    assert.deepEqual(
      shown.map((s) => s.text),
      ['sending 1', 'sending 50'],
    );
    assert.equal(made, 2, 'only the shown statuses were made');
    dot.close();
  });

  it('shows what must be seen at once and in order, dropping a routine change still waiting; the same dot is not re-sent', async () => {
    const shown: Array<string | undefined> = [];
    const dot = new RatedStatus((s) => shown.push(s.text as string), 60);
    dot.rated({ text: 'queued 3' });
    dot.rated({ text: 'queued 2' });
    dot.now({ fill: 'red', text: 'platform unavailable (open)' });
    dot.now({ fill: 'yellow', text: 'platform: probing (half-open)' });
    await sleep(90);
    assert.deepEqual(shown, ['queued 3', 'platform unavailable (open)', 'platform: probing (half-open)']);
    dot.rated({ text: 'sent' });
    await sleep(90);
    dot.rated({ text: 'sent' });
    await sleep(90);
    assert.deepEqual(shown.slice(3), ['sent']);
    dot.close();
  });
});
