/**
 * The simulator in a worker thread, for benches that measure only the client's side: the main thread's active time
 * (performance.eventLoopUtilization) then excludes the simulator's work. workerData: { certDir }; answers the URLs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createSimulator } from '../../simulator';
import { generateCerts } from '../../simulator/certs';

void (async () => {
  const certs = await generateCerts(workerData.certDir, { reuse: true });
  const sim = await createSimulator({ certs });
  parentPort!.postMessage({ url: sim.url, tokenUrl: sim.tokenUrl, tokenServiceUrl: sim.tokenServiceUrl, stsUrl: sim.stsUrl, stsCert: sim.stsCert, ca: sim.ca });
  parentPort!.on('message', async (m) => {
    if (m === 'reset') return void (sim.reset(), parentPort!.postMessage('reset'));
    await sim.close();
    parentPort!.close();
  });
})();
