// os2_breaker_state: each platform endpoint's circuit breaker, as an operator reads it on a dashboard.
import assert from 'node:assert/strict';
import { registry, watchBreakers } from '../../../lib/ops/metrics';
import { BreakerRegistry } from '../../../lib/resilience/breaker';
import { FakeClock } from '../resilience/fake-clock';

const URL_A = 'https://exttest.serviceplatformen.dk/service/Fordeling/FordelingsobjektAfsend/1';
const URL_B = 'https://sp.example/service/Fordeling/FordelingsobjektAfsend/1';

async function breakerValues(): Promise<Record<string, number>> {
  const m = await registry.getSingleMetric('os2_breaker_state')?.get();
  return Object.fromEntries((m?.values ?? []).map((v) => [String(v.labels.endpoint), v.value]));
}

describe('lib/ops/metrics: os2_breaker_state', () => {
  it('reports each endpoint 0 closed, 2 open, 1 half-open, labelled by URL only; gone once no node watches it', async () => {
    const clock = new FakeClock();
    const breakers = new BreakerRegistry({ consecutiveFailures: 2, openMs: 1000, clock, failureRate: 0 });
    const a = breakers.get(`sp-node-1|${URL_A}`);
    breakers.get(`sp-node-1|${URL_B}`);
    const unwatch1 = watchBreakers(breakers);
    const unwatch2 = watchBreakers(breakers); // a second fordeling out on the same serviceplatform
    assert.deepEqual(await breakerValues(), { [URL_A]: 0, [URL_B]: 0 });

    for (let i = 0; i < 2; i++) await a.execute(() => Promise.reject(Object.assign(new Error('HTTP 503'), { statusCode: 503 }))).catch(() => undefined);
    assert.equal(a.state, 'open');
    assert.deepEqual(await breakerValues(), { [URL_A]: 2, [URL_B]: 0 });
    await clock.advance(1000);
    assert.equal(a.state, 'half-open');
    assert.equal((await breakerValues())[URL_A], 1);
    assert.ok(!(await registry.metrics()).includes('sp-node-1'), 'the config node id is not a label');

    unwatch1();
    unwatch1(); // twice is once
    assert.equal((await breakerValues())[URL_A], 1, 'still watched by the other node');
    unwatch2();
    assert.deepEqual(await breakerValues(), {});
  });
});
