/**
 * The simulator in a process of its own, for benches that measure only the client's side: this process's CPU is then
 * the client's alone, and the simulator's checks (4–5 ms of verification per token-model request) do not compete
 * with the client's threads inside one process. argv[2]: the certificate folder; answers the URLs over IPC. A message
 * { latencyMs } holds each answer back that long (the simulator's latency switch) and is acknowledged; any other
 * message stops it.
 */
import { createSimulator } from '../../simulator';
import { generateCerts } from '../../simulator/certs';

void (async () => {
  const certs = await generateCerts(process.argv[2]!, { reuse: true });
  const sim = await createSimulator({ certs });
  process.send!({ url: sim.url, tokenUrl: sim.tokenUrl, tokenServiceUrl: sim.tokenServiceUrl, stsUrl: sim.stsUrl, stsCert: sim.stsCert, ca: sim.ca });
  process.on('message', async (m: { latencyMs?: number }) => {
    if (typeof m?.latencyMs === 'number') {
      sim.faults.latencyMs = m.latencyMs;
      process.send!('ok');
      return;
    }
    await sim.close();
    process.exit(0);
  });
})();
