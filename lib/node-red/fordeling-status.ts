/**
 * fordeling out's status dot, in one place: what is queued, sending, retrying, the breaker, failures and shipments an
 * operator should look at. Texts from the node's locale catalogue; CPR numbers in platform texts masked.
 */
import { maskCpr } from '../privacy/cpr';
import type { BreakerState } from '../resilience/breaker';
import type { RatedStatus } from './status-rate';
import type { StatusText } from './status-text';

const short = (text: string, max: number) => {
  const masked = maskCpr(text);
  return masked.length > max ? `${masked.slice(0, max - 1)}…` : masked;
};
const clock = (at: number | Date) => new Date(at).toISOString().slice(11, 19);

export class DeliveryStatus {
  private breakerShown = false;

  constructor(
    private readonly dot: Pick<RatedStatus, 'rated' | 'now'>,
    private readonly t: StatusText,
    private readonly waiting: () => number,
  ) {}

  notConfigured(): void {
    this.dot.now({ fill: 'red', shape: 'ring', text: this.t('notConfigured', {}, 'not configured') });
  }

  sending(n: number): void {
    this.dot.rated(() => ({ fill: 'blue', shape: 'dot', text: this.t('sending', { n }, `sending ${n}`) }));
  }

  sftp(i: number, n: number): void {
    this.dot.rated(() => ({ fill: 'blue', shape: 'dot', text: this.t('sftp', { i, n }, `SFTP file ${i}/${n}`) }));
  }

  /** Queued (with how many wait here) or, with none waiting, sent. */
  idle(): void {
    // read when shown, so the count is the one at that moment
    this.dot.rated(() => {
      const n = this.waiting();
      return n
        ? { fill: 'blue', shape: 'dot', text: this.t('queued', { n }, `queued ${n}`) }
        : { fill: 'green', shape: 'dot', text: this.t('sent', {}, 'sent') };
    });
  }

  retry(at: Date, error: string): void {
    if (this.breakerShown) return;
    const reason = short(error, 30);
    const time = clock(at);
    this.dot.rated(() => ({ fill: 'yellow', shape: 'ring', text: this.t('retry', { time, reason }, `retry ${time}: ${reason}`) }));
  }

  breaker(state: BreakerState, retryAt?: number): void {
    this.breakerShown = state !== 'closed';
    if (state === 'closed') return this.idle();
    if (state === 'half-open') return this.dot.now({ fill: 'yellow', shape: 'ring', text: this.t('halfOpen', {}, 'platform: probing (half-open)') });
    const time = retryAt ? clock(retryAt) : '?';
    this.dot.now({ fill: 'red', shape: 'ring', text: this.t('open', { time }, `platform unavailable (open), retry ${time}`) });
  }

  failed(reason: string): void {
    const r = short(reason, 40);
    this.dot.now({ fill: 'red', shape: 'ring', text: this.t('failed', { reason: r }, `failed: ${r}`) });
  }

  unconfirmed(transactionId: string): void {
    const id = transactionId.slice(0, 8);
    this.dot.now({ fill: 'yellow', shape: 'dot', text: this.t('unconfirmed', { id }, `unconfirmed ${id}…: refused as a duplicate, no receipt`) });
  }
}
