// Worker-thread side of the signing pool: parses the key once, then signs requests as they arrive.
import { parentPort, workerData } from 'worker_threads';
import { loadSigningKey, type KeyMaterial } from './keys';
import { signXml, type SignRequest } from './sign';

interface Job {
  id: number;
  req: SignRequest;
}

if (parentPort) {
  const port = parentPort;
  let key: ReturnType<typeof loadSigningKey> | undefined;
  let keyError: string | undefined;
  try {
    key = loadSigningKey(workerData.material as KeyMaterial);
  } catch (err) {
    keyError = (err as Error).message;
  }
  port.on('message', (job: Job) => {
    try {
      if (!key) throw new Error(keyError ?? 'no signing key');
      port.postMessage({ id: job.id, xml: signXml(job.req, key) });
    } catch (err) {
      port.postMessage({ id: job.id, error: (err as Error).message, name: (err as Error).name });
    }
  });
}
