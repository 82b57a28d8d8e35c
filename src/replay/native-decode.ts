import type { PacketBatch } from '../capture/packet-batch.js';
import type { Decoder } from '../decode/decoder.js';
import { Skip } from '../decode/packet-info.js';
import { loadAddon } from '../native-addon.js';
import { RingWriter, SLOT_PACKETS, WORDS, WRITER_STATE_WORDS } from './decoded-ring.js';
import type { IdentityAhead } from './identity-ahead.js';

interface DecodeBinding {
  decodeToRing(
    buf: Uint8Array,
    dataOffset: Int32Array,
    capturedLength: Int32Array,
    originalLength: Float64Array,
    tsSec: Float64Array,
    tsNsec: Int32Array,
    linkType: Int32Array,
    from: number,
    to: number,
    ringTs: Float64Array,
    ringWords: Uint32Array,
    state: Uint32Array,
    counts: Float64Array,
    udpSeen: Int32Array | null,
    matcher: Int32Array | null,
  ): number;
  layout: { slotPackets: number; words: number; stateWords: number };
}

let binding: DecodeBinding | null | undefined;

/** The decoding addon (native/netlog_decode.cc), if built and laid out as this ring is. */
function decodeBinding(): DecodeBinding | null {
  if (binding !== undefined) return binding;
  const b = loadAddon<DecodeBinding>('netlog_decode');
  const fits = b !== null && b.layout.slotPackets === SLOT_PACKETS && b.layout.words === WORDS && b.layout.stateWords === WRITER_STATE_WORDS;
  binding = fits ? b : null;
  return binding;
}

/**
 * A replay's decoding thread with its fast path in C++ (native/netlog_decode.cc): a batch of
 * packets goes to the addon, which decodes the common shapes straight into the ring exactly as
 * Decoder and RingWriter.push would, and with an org map looks up the flows they likely open
 * as IdentityAhead.mark would (its matcher flattened: flat-matcher.ts); every packet it
 * leaves (a fragment, an IPv6 extension chain, an IP length cut to the frame) is decoded here
 * by the TypeScript Decoder, marked and pushed, in its place, and the addon goes on after it.
 * The ring, the decoder's counters and the look-ups ahead come out the same as without the
 * addon (test/native-decode.test.ts, over the whole corpus).
 */
export class NativeRingDecoder {
  private readonly state = new Uint32Array(WRITER_STATE_WORDS);
  /** Packets the addon left to the TypeScript decoder. */
  deferred = 0;
  private readonly ts: Float64Array;
  private readonly words: Uint32Array;

  private constructor(
    private readonly binding: DecodeBinding,
    private readonly writer: RingWriter,
    private readonly decoder: Decoder,
  ) {
    ({ ts: this.ts, words: this.words } = writer.views());
  }

  /** Null when the addon is not built (the TypeScript decoder then does it all). */
  static create(writer: RingWriter, decoder: Decoder): NativeRingDecoder | null {
    const b = decodeBinding();
    return b && new NativeRingDecoder(b, writer, decoder);
  }

  /** Every packet of `batch` into the ring, in order; `ahead` marks new flows' identity. */
  decodeBatch(batch: PacketBatch, ahead: IdentityAhead | null): void {
    const { binding, writer, decoder, state } = this;
    const info = decoder.info;
    const udpSeen = ahead ? ahead.udpSeen : null;
    const matcher = ahead ? ahead.flattened : null;
    const n = batch.count;
    for (let i = 0; i < n; ) {
      writer.ready();
      writer.saveState(state);
      // prettier-ignore
      i = binding.decodeToRing(batch.buf, batch.dataOffset, batch.capturedLength, batch.originalLength, batch.tsSec,
        batch.tsNsec, batch.linkType, i, n, this.ts, this.words, state, decoder.counts, udpSeen, matcher);
      writer.loadState(state);
      if (writer.publishIfFull() || i === n) continue;
      // A packet the addon left to the TypeScript decoder.
      this.deferred++;
      if (decoder.decodeAt(batch, i) === Skip.NONE) {
        ahead?.mark(info);
        writer.push(info, batch.tsSec[i]!, batch.tsNsec[i]!);
      }
      i++;
    }
  }
}
