/**
 * A batch of captured packets that share one buffer. Packet i's bytes are
 * `buf[dataOffset[i] .. dataOffset[i] + capturedLength[i])`. A batch is valid until the source
 * produces the next one: the source reuses both the buffer and these arrays, so nothing is
 * allocated per packet.
 */
export class PacketBatch {
  /** Shared bytes; the source may replace it with a larger one between batches. */
  buf: Buffer = Buffer.alloc(0);
  /** Number of valid entries. */
  count = 0;
  readonly capacity: number;
  readonly dataOffset: Int32Array;
  readonly capturedLength: Int32Array;
  /** Length on the wire (pcap orig_len), which may exceed the captured length. */
  readonly originalLength: Float64Array;
  /** Whole unix seconds of the packet timestamp. */
  readonly tsSec: Float64Array;
  /** Nanoseconds within the second (0..999,999,999). */
  readonly tsNsec: Int32Array;
  /** Link type of the interface the packet came from (pcapng files mix them). */
  readonly linkType: Int32Array;
  /** Interface index within the capture (0 for classic pcap and live capture). */
  readonly interfaceId: Int32Array;

  constructor(capacity = 4096) {
    this.capacity = capacity;
    this.dataOffset = new Int32Array(capacity);
    this.capturedLength = new Int32Array(capacity);
    this.originalLength = new Float64Array(capacity);
    this.tsSec = new Float64Array(capacity);
    this.tsNsec = new Int32Array(capacity);
    this.linkType = new Int32Array(capacity);
    this.interfaceId = new Int32Array(capacity);
  }

  push(
    dataOffset: number,
    capturedLength: number,
    originalLength: number,
    tsSec: number,
    tsNsec: number,
    linkType: number,
    interfaceId: number,
  ): void {
    const i = this.count++;
    this.dataOffset[i] = dataOffset;
    this.capturedLength[i] = capturedLength;
    this.originalLength[i] = originalLength;
    this.tsSec[i] = tsSec;
    this.tsNsec[i] = tsNsec;
    this.linkType[i] = linkType;
    this.interfaceId[i] = interfaceId;
  }
}
