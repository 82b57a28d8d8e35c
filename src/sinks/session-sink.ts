import type { OutboxRows } from '../store/outbox.js';

/** Sessions on their way to a sink, each with its outbox sequence number. */
export interface SinkBatch extends OutboxRows {
  /** The sending store's id: with `seqs`, what names each row at the sink. */
  storeId: string;
}

/** The rows of a batch at these positions, in order. */
export function pickRows(batch: SinkBatch, positions: readonly number[]): SinkBatch {
  return {
    storeId: batch.storeId,
    seqs: positions.map((i) => batch.seqs[i]!),
    orgIds: positions.map((i) => batch.orgIds[i]!),
    siteIds: positions.map((i) => batch.siteIds[i]!),
    timestamps: positions.map((i) => batch.timestamps[i]!),
    json: positions.map((i) => batch.json[i]!),
  };
}

/**
 * An additional destination for sessions (DuckDB stays the store of record). Delivery is
 * at least once from the shipper's side; a sink makes it exactly once by telling which rows it
 * already holds before a batch is sent again after a failure or a restart.
 */
export interface SessionSink {
  readonly name: string;
  /** Stores the batch; resolves only when the sink has it durably. */
  send(batch: SinkBatch): Promise<void>;
  /** Which of the batch's sequence numbers the sink already holds. */
  present(batch: SinkBatch): Promise<Set<number>>;
}
