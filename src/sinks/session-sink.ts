import type { SessionRecord } from '../flow/session-record.js';

/** Sessions on their way to a sink, each with its outbox sequence number. */
export interface SinkBatch {
  /** The sending store's id: with `seqs`, what names each row at the sink. */
  storeId: string;
  seqs: number[];
  records: SessionRecord[];
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
