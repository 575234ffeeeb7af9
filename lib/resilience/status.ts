/** Node status for a circuit breaker's state (the "status dot"): closed green, half-open yellow, open red. */
import type { BreakerState } from './breaker';

export interface StatusDot {
  fill: 'green' | 'yellow' | 'red';
  shape: 'dot' | 'ring';
  text: string;
}

export function breakerStatus(state: BreakerState, retryAt?: number, now: number = Date.now()): StatusDot {
  switch (state) {
    case 'closed':
      return { fill: 'green', shape: 'dot', text: 'connected' };
    case 'half-open':
      return { fill: 'yellow', shape: 'ring', text: 'probing' };
    case 'open': {
      const s = retryAt === undefined ? undefined : Math.max(0, Math.ceil((retryAt - now) / 1000));
      return { fill: 'red', shape: 'ring', text: s === undefined ? 'platform unavailable' : `platform unavailable, retry in ${s} s` };
    }
  }
}
