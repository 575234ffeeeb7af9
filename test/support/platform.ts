/** The serviceplatform configuration node of a test flow, pointing at the simulator with its test certificates. */
import type { Simulator } from '../../simulator';
import type { SimulatorCerts } from './certs';

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
