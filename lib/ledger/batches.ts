/**
 * Retention's deletes in batches sized by what a batch costs: halved while one takes over `slowMs` (shipments with 1 MB
 * bodies, a busy server), doubled back up to `max` while under a quarter of it, so a purge of 100,000 shipments never holds the
 * writers up for long, whatever the rows weigh. Shared by both engines. `min`: a floor for PostgreSQL, where a
 * statement's time includes waiting for a busy server: without it, batches shrank to one row and a purge of 10,000
 * shipments beside a steady writer took minutes.
 */
export async function deleteInBatches(run: (limit: number) => Promise<{ changes: number; ms: number }>, max: number, min = 1, slowMs = 40): Promise<number> {
  let total = 0;
  let batch = Math.max(min, Math.min(max, 50));
  for (;;) {
    const { changes, ms } = await run(batch);
    total += changes;
    if (changes < batch) return total;
    batch = ms > slowMs ? Math.max(min, Math.floor(batch / 2)) : ms < slowMs / 4 ? Math.min(max, batch * 2) : batch;
  }
}
