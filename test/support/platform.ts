/** The serviceplatform configuration node of a test flow, pointing at the simulator with its test certificates. */
import { createSimulator, type Simulator, type SimulatorOptions } from '../../simulator';
import { testCerts, type SimulatorCerts } from './certs';

/** The sending IT-system every test flow uses. */
export const SYSTEM = 'a0b1c2d3-0000-4000-8000-000000000001';

/** An `os2-serviceplatform` node (id `sp`, certificate node `c1`, timeout 5 s) against `sim`; `over` changes any setting. */
export function serviceplatformNode(
  sim: Pick<Simulator, 'url'>,
  certs: SimulatorCerts,
  over: Record<string, unknown> = {},
): { id: string; type: string } & Record<string, unknown> {
  return {
    id: 'sp',
    type: 'os2-serviceplatform',
    environment: 'custom',
    baseUrl: sim.url,
    certificate: 'c1',
    senderCvr: certs.client.cvr,
    senderSystemUuid: SYSTEM,
    timeout: '5',
    ...over,
  };
}

/**
 * Registers the suite's hooks for a simulator with test certificates: made once before the suite (`opts` as for
 * createSimulator), closed after it, and — unless `keepState` — its fault switches and duplicate policy reset before
 * each test. `use` receives both once they exist.
 */
export function useSimulator(
  use: (p: { certs: SimulatorCerts; sim: Simulator }) => void,
  opts: Partial<SimulatorOptions> & { keepState?: boolean } = {},
): void {
  let sim: Simulator | undefined;
  const { keepState, ...simOpts } = opts;
  before(async function () {
    this.timeout(60_000);
    const certs = await testCerts();
    sim = await createSimulator({ certs, ...simOpts });
    use({ certs, sim });
  });
  after(() => sim?.close());
  if (!keepState) {
    beforeEach(() => {
      if (!sim) return;
      sim.faults = {};
      sim.duplicatePolicy = 'accept';
    });
  }
}
