import * as fs from 'node:fs';

/**
 * A thread's scheduler times so far, in ms, from Linux's `schedstat` (`/proc/thread-self/schedstat`, or
 * `/proc/<pid>/task/<tid>/schedstat`): time on a CPU, and time ready to run but waiting for one. Undefined where the
 * kernel does not say (no /proc, or no scheduler statistics), so a bench can fall back or leave the figure out.
 */
export function schedstat(file = '/proc/thread-self/schedstat'): { onCpuMs: number; waitingMs: number } | undefined {
  try {
    const [onCpu, waiting] = fs.readFileSync(file, 'utf8').split(' ');
    const t = { onCpuMs: Number(onCpu) / 1e6, waitingMs: Number(waiting) / 1e6 };
    return Number.isFinite(t.onCpuMs) && Number.isFinite(t.waitingMs) ? t : undefined;
  } catch {
    return undefined;
  }
}
