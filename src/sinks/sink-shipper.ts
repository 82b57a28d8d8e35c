import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { confirmOutbox, outboxSize, readOutbox, storeId, type OutboxRows } from '../store/outbox.js';
import { pickRows, type SessionSink, type SinkBatch } from './session-sink.js';

export interface ShipperOptions {
  /** Rows per request (default 10,000). */
  batchRows?: number;
  /** Poll for new sessions this often while the outbox is empty, ms (default 500). */
  idleMs?: number;
  /** Backoff after a failure: from `minBackoffMs`, doubling to `maxBackoffMs`, with jitter. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  log?: (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * Moves sessions from the store's outbox to a sink, oldest first, on a connection of its own.
 * A batch leaves the outbox only once the sink has it. After a failure, and at start (the
 * previous process may have stopped between the sink's answer and the delete), the next batch
 * is first checked against the sink and only the rows it lacks are sent: every session
 * arrives once. While the sink is down the outbox grows on disk, not in memory, and nothing is
 * dropped; the shipper retries with exponential backoff and jitter.
 */
export class SinkShipper {
  shipped = 0;
  failures = 0;
  lastError: string | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly batchRows: number;
  private readonly idleMs: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;

  private constructor(
    private readonly c: DuckDBConnection,
    private readonly id: string,
    private readonly sink: SessionSink,
    private readonly o: ShipperOptions,
  ) {
    this.batchRows = o.batchRows ?? 10_000;
    this.idleMs = o.idleMs ?? 500;
    this.minBackoffMs = o.minBackoffMs ?? 500;
    this.maxBackoffMs = o.maxBackoffMs ?? 60_000;
  }

  static async start(instance: DuckDBInstance, sink: SessionSink, o: ShipperOptions = {}): Promise<SinkShipper> {
    const c = await instance.connect();
    const shipper = new SinkShipper(c, await storeId(c), sink, o);
    shipper.loop = shipper.run();
    return shipper;
  }

  /** Sessions still waiting for the sink. */
  pending(): Promise<number> {
    return outboxSize(this.c);
  }

  /** New sessions were committed: look now rather than at the next poll. */
  nudge(): void {
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private async run(): Promise<void> {
    let check = true;
    let backoff = this.minBackoffMs;
    while (!this.stopping) {
      let rows: OutboxRows;
      try {
        rows = await readOutbox(this.c, this.batchRows);
      } catch (e) {
        this.o.log?.('warn', 'cannot read the outbox', { error: (e as Error).message });
        await this.sleep(this.maxBackoffMs);
        continue;
      }
      if (rows.seqs.length === 0) {
        await this.sleep(this.idleMs);
        continue;
      }
      const batch: SinkBatch = { storeId: this.id, ...rows };
      try {
        let toSend = batch;
        if (check) {
          const have = await this.sink.present(batch);
          if (have.size > 0) {
            toSend = pickRows(batch, batch.seqs.map((s, i) => (have.has(s) ? -1 : i)).filter((i) => i >= 0));
            this.o.log?.('info', 'sink already had part of the batch; sending the rest', { sink: this.sink.name, had: have.size, sending: toSend.seqs.length });
          }
        }
        if (toSend.seqs.length > 0) await this.sink.send(toSend);
        await confirmOutbox(this.c, batch.seqs[0]!, batch.seqs[batch.seqs.length - 1]!);
        this.shipped += toSend.seqs.length;
        if (this.lastError !== null) this.o.log?.('info', 'sink reachable again', { sink: this.sink.name });
        this.lastError = null;
        check = false;
        backoff = this.minBackoffMs;
      } catch (e) {
        this.failures++;
        check = true;
        const message = (e as Error).message;
        if (message !== this.lastError) this.o.log?.('warn', 'sink failed; sessions wait in the outbox', { sink: this.sink.name, error: message });
        this.lastError = message;
        // Full jitter over the upper half: retries from many sites do not arrive together.
        await this.sleep(backoff * (0.5 + Math.random() * 0.5));
        backoff = Math.min(this.maxBackoffMs, backoff * 2);
      }
    }
  }

  /**
   * Waits until the outbox is empty or `timeoutMs` passes, then stops. What is left stays in
   * the outbox for the next run. Returns how many sessions are left.
   */
  async stop(timeoutMs = 0): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && (await this.pending()) > 0) {
      this.nudge();
      await new Promise((r) => setTimeout(r, 50));
    }
    this.stopping = true;
    this.nudge();
    await this.loop;
    const left = await this.pending();
    this.c.closeSync();
    return left;
  }
}
