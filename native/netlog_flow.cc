// netlog's flow-table fast path for a replay's flow-table thread (src/replay/native-flow.ts).
//
// FlowTracker (src/flow/flow-tracker.ts) is the flow table and the reference: it creates and
// ends flows, sweeps idle ones, evicts, looks up identity and writes session rows. This file
// takes every packet that neither ends a flow nor needs the table to grow, evict or look an
// identity up, which is nearly every packet: it follows the packet's TCP state (handshake,
// data in sequence space, FIN, RST) or counts the UDP datagram, in FlowTracker's own typed
// arrays, exactly as FlowTracker.packet and packetRun would (the same arithmetic in the same
// order), and creates a new flow as FlowTracker.create would when the table has a free slot
// and the flow's identity is none or came with the packet (looked up ahead). It stops at a
// packet whose flow is idle past the timeout, that starts a new connection on a 4-tuple, that
// opens a flow it may not create, or that falls on an expiry sweep; FlowTracker handles that
// one, and the call after goes on from the next. The sessions of a replay are the same with
// and without it (test/native-flow.test.ts, field by field over the fixtures and the
// corpora). Why it exists: with the decoding addon the flow table's thread sets a replay's
// pace, and its per-packet JavaScript was most of that thread's time; and once the packets of
// known flows were here, the way back to JavaScript for each new flow (a quarter of a million
// in the bench capture) was most of what JavaScript still did per packet.
#include <napi.h>
#include "ring_layout.h"
#include "typed_array.h"
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace {

// decoded-ring.ts: a packet's words and meta fields (ring_layout.h).
using namespace netlog;

// flow-slots.ts and flow-tracker.ts.
constexpr uint32_t KEY_WORDS = 10;
constexpr int32_t NIL = -1;
constexpr int LIST_UDP = 0;
constexpr int LIST_TCP_ESTABLISHED = 1;
constexpr int LIST_TCP_TRANSIENT = 2;
constexpr int LIST_LINGER = 3;
constexpr uint8_t F_TCP = 1;
constexpr uint8_t F_ORIG_IS_HI = 2;
constexpr uint8_t F_SEQ_KNOWN_ORIG = 4;
constexpr uint8_t F_SEQ_KNOWN_RESP = 8;
constexpr uint8_t F_ENDED_FIN = 16;
constexpr uint8_t F_ENDED_RST = 32;
constexpr uint32_t HISTORY_MAX = 18;
// conn-state.ts Endpoint and History.
constexpr uint8_t EP_INACTIVE = 0;
constexpr uint8_t EP_SYN_SENT = 1;
constexpr uint8_t EP_SYN_ACK_SENT = 2;
constexpr uint8_t EP_PARTIAL = 3;
constexpr uint8_t EP_ESTABLISHED = 4;
constexpr uint8_t EP_CLOSED = 5;
constexpr uint8_t EP_RESET = 6;
constexpr int H_SYN = 0;
constexpr int H_SYN_ACK = 1;
constexpr int H_ACK = 2;
constexpr int H_DATA = 3;
constexpr int H_RETRANSMIT = 6;
constexpr int H_FIN = 4;
constexpr int H_RST = 5;
constexpr int H_GAP = 7;
constexpr int H_FLIPPED = 8;
// flow-identifier.ts PresetIdentity, in the meta word's two top bits.
constexpr uint32_t PRESET_IN_SCOPE = 1;
// packet-info.ts Fragment.LATER.
constexpr uint32_t FRAGMENT_LATER = 2;

// FlowTracker's clock and the table's counters, shared through a Float64Array
// (FlowTracker.saveClock / loadClock): the free slots' stack top and the flows open, how new
// flows get their identity (IdMode) and the generation of the look-ups ahead, the flows that
// took one.
enum Clock {
  C_NOW_US,
  C_NEXT_SWEEP_US,
  C_LAST_SLOT,
  C_TAKEN,
  C_FREE_TOP,
  C_COUNT,
  C_ID_MODE,
  C_AHEAD_GENERATION,
  C_IDENTIFIED_AHEAD,
  CLOCK_WORDS
};
// How a flow created here gets its identity (FlowTracker.create and identify): none (no
// identifier: generation -2); from the packet, looked up ahead for the generation in force
// (else FlowTracker creates the flow and looks it up); or never here (FlowTracker creates it).
enum IdMode { ID_NONE = 0, ID_AHEAD = 1, ID_TRACKER = 2 };
// FlowTracker.ids: four words a flow, generation, client, resource.
constexpr uint32_t ID_WORDS = 4;

/** FlowTracker's and FlowSlots' arrays, as registered after each growth of the table. */
struct Table {
  /** Slots allocated; 0 before the first flow (the arrays are empty then). */
  int32_t capacity;
  uint32_t* key;
  int32_t* hash;
  int32_t* chainNext;
  int32_t* buckets;
  int32_t bucketMask;
  int32_t* listPrev;
  int32_t* listNext;
  uint8_t* listOf;
  int32_t* listHead;
  int32_t* listTail;
  uint8_t* flags;
  double* lastUs;
  double* packets;
  double* bytes;
  double* missed;
  double* holeStart;
  double* holeEnd;
  uint32_t* seqBase;
  uint8_t* endpoint;
  uint32_t* historySeen;
  uint8_t* history;
  uint8_t* historyLength;
  double* firstUs;
  int32_t* ids;
  int32_t* freeStack;
  double maxFlows;
  double timeoutUs[4];
};

struct Packet {
  uint32_t src[4], dst[4];
  uint32_t srcPort, dstPort, seq, payload, tcpFlags, protocol, version, fragment;
};

// flow-tracker.ts hashKey, in Math.imul's 32-bit arithmetic.
inline int32_t hashKey(const uint32_t* p) {
  uint32_t h = (p[0] * 0x9e3779b1u) ^ (p[1] * 0x85ebca6bu) ^ (p[2] * 0xc2b2ae35u) ^ (p[3] * 0x27d4eb2fu) ^
               (p[4] * 0x165667b1u) ^ (p[5] * 0xd3a2646du) ^ (p[6] * 0xfd7046c5u) ^ (p[7] * 0xb55a4f09u) ^
               (p[8] * 0x7feb352du) ^ (p[9] * 0x846ca68bu);
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  return int32_t(h ^ (h >> 16));
}

inline bool holds(const Table& t, int32_t s, const uint32_t* p) {
  const uint32_t* k = t.key + size_t(s) * KEY_WORDS;
  for (uint32_t i = 0; i < KEY_WORDS; i++) {
    if (k[i] != p[i]) return false;
  }
  return true;
}

inline int32_t find(const Table& t, const uint32_t* p, int32_t h) {
  for (int32_t s = t.buckets[h & t.bucketMask]; s != NIL; s = t.chainNext[s]) {
    if (t.hash[s] == h && holds(t, s, p)) return s;
  }
  return NIL;
}

// flow-tracker.ts lessEndpoint.
inline bool lessEndpoint(const Packet& k) {
  for (int i = 0; i < 4; i++) {
    if (k.src[i] != k.dst[i]) return k.src[i] < k.dst[i];
  }
  return k.srcPort <= k.dstPort;
}

inline void addHistory(Table& t, int32_t s, int event, bool fromOrig) {
  const uint32_t code = uint32_t(event * 2 + (fromOrig ? 0 : 1));
  const uint32_t bit = 1u << code;
  if (t.historySeen[s] & bit) return;
  t.historySeen[s] |= bit;
  const uint8_t n = t.historyLength[s];
  t.history[size_t(s) * HISTORY_MAX + n] = uint8_t(code);
  t.historyLength[s] = uint8_t(n + 1);
}

// FlowTracker.sequenceSpace.
void sequenceSpace(Table& t, int32_t s, int32_t d, bool fromOrig, uint32_t seq, uint32_t len) {
  const double high = t.bytes[d];
  const uint32_t highSeq = uint32_t(uint64_t(double(t.seqBase[d]) + high));
  double start = high + double(int32_t(seq - highSeq));
  const double end = start + double(len);
  if (end <= 0) {
    addHistory(t, s, H_RETRANSMIT, fromOrig);
    return;
  }
  if (start < 0) start = 0;
  if (start > high) {
    t.missed[d] += start - high;
    t.holeStart[d] = high;
    t.holeEnd[d] = start;
    addHistory(t, s, H_GAP, fromOrig);
  } else if (end <= high) {
    const double hs = t.holeStart[d];
    const double he = t.holeEnd[d];
    const double fillStart = start > hs ? start : hs;
    const double fillEnd = end < he ? end : he;
    if (fillEnd > fillStart) {
      t.missed[d] -= fillEnd - fillStart;
      if (fillStart == hs) t.holeStart[d] = fillEnd;
      else t.holeEnd[d] = fillStart;  // fillEnd == he, or a middle piece: the lower part stays the hole
    } else {
      addHistory(t, s, H_RETRANSMIT, fromOrig);
    }
    return;
  }
  if (end > high) t.bytes[d] = end;
}

inline bool synSent(uint8_t e) { return e == EP_SYN_SENT || e == EP_SYN_ACK_SENT; }
inline bool isEstablished(uint8_t e) { return e == EP_ESTABLISHED || e == EP_PARTIAL; }

// FlowTracker.tcpPacket.
void tcpPacket(Table& t, int32_t s, int32_t d, bool fromOrig, const Packet& k) {
  const uint32_t flags = k.tcpFlags;
  const uint32_t len = k.payload;
  const uint8_t knownBit = fromOrig ? F_SEQ_KNOWN_ORIG : F_SEQ_KNOWN_RESP;
  uint8_t* e = t.endpoint;
  const int32_t peer = fromOrig ? d + 1 : d - 1;
  if (k.fragment == FRAGMENT_LATER) {
    // No TCP header: its bytes extend the segment its first fragment began.
    t.bytes[d] += len;
    return;
  }
  if (flags & TCP_SYN) {
    addHistory(t, s, flags & TCP_ACK ? H_SYN_ACK : H_SYN, fromOrig);
    if ((t.flags[s] & knownBit) == 0) {
      t.seqBase[d] = k.seq + 1;  // the SYN takes one sequence number
      t.flags[s] |= knownBit;
    }
    if (e[d] == EP_INACTIVE) e[d] = flags & TCP_ACK ? EP_SYN_ACK_SENT : EP_SYN_SENT;
  } else if ((t.flags[s] & knownBit) == 0) {
    t.seqBase[d] = k.seq;  // mid-stream: count from the first sequence number seen
    t.flags[s] |= knownBit;
  }
  if (len > 0 && (flags & TCP_RST) == 0) {
    addHistory(t, s, H_DATA, fromOrig);
    sequenceSpace(t, s, d, fromOrig, k.seq + (flags & TCP_SYN ? 1 : 0), len);
  }
  if (flags & TCP_RST) {
    addHistory(t, s, H_RST, fromOrig);
    e[d] = EP_RESET;
    t.flags[s] |= F_ENDED_RST;
    return;
  }
  if (flags & TCP_FIN) {
    addHistory(t, s, H_FIN, fromOrig);
    if (e[d] != EP_RESET) e[d] = EP_CLOSED;
    if (e[peer] == EP_CLOSED) t.flags[s] |= F_ENDED_FIN;
    return;
  }
  if ((flags & TCP_SYN) == 0) {
    if (len == 0 && (flags & TCP_ACK)) addHistory(t, s, H_ACK, fromOrig);
    const uint8_t st = e[d];
    if (synSent(st)) {
      e[d] = EP_ESTABLISHED;
      if (synSent(e[peer])) e[peer] = EP_ESTABLISHED;
    } else if (st == EP_INACTIVE) {
      e[d] = synSent(e[peer]) ? EP_ESTABLISHED : EP_PARTIAL;
    }
  }
}

// FlowTracker.startsNewConnection, for a SYN without ACK on a flow in the table.
bool startsNewConnection(const Table& t, int32_t s, const Packet& k, bool srcLow) {
  const uint8_t f = t.flags[s];
  if (f & (F_ENDED_FIN | F_ENDED_RST)) return true;
  const bool fromOrig = srcLow == ((f & F_ORIG_IS_HI) == 0);
  if (!fromOrig) return false;
  const uint8_t os = t.endpoint[2 * s];
  if (os == EP_CLOSED || os == EP_RESET) return true;
  return (f & F_SEQ_KNOWN_ORIG) != 0 && k.seq + 1 != t.seqBase[2 * s];
}

// FlowTracker.listFor.
inline int listFor(const Table& t, int32_t s) {
  const uint8_t f = t.flags[s];
  if ((f & F_TCP) == 0) return LIST_UDP;
  if (f & (F_ENDED_FIN | F_ENDED_RST)) return LIST_LINGER;
  return isEstablished(t.endpoint[2 * s]) && isEstablished(t.endpoint[2 * s + 1]) ? LIST_TCP_ESTABLISHED : LIST_TCP_TRANSIENT;
}

// FlowSlots.pushHead.
inline void pushHead(Table& t, int32_t s, int list) {
  const int32_t head = t.listHead[list];
  t.listPrev[s] = NIL;
  t.listNext[s] = head;
  if (head != NIL) t.listPrev[head] = s;
  else t.listTail[list] = s;
  t.listHead[list] = s;
}

// FlowSlots.touch and unlink.
void touch(Table& t, int32_t s, int list) {
  if (t.listHead[list] == s) return;
  const int old = t.listOf[s];
  const int32_t prev = t.listPrev[s];
  const int32_t next = t.listNext[s];
  if (prev != NIL) t.listNext[prev] = next;
  else t.listHead[old] = next;
  if (next != NIL) t.listPrev[next] = prev;
  else t.listTail[old] = prev;
  t.listOf[s] = uint8_t(list);
  pushHead(t, s, list);
}

// FlowTracker.create with FlowSlots.allocate, for a new flow that needs neither an eviction
// (the table full), nor a growth (no free slot), nor a look-up of its identity: the slot, or
// NIL when FlowTracker must create it. `w` is the packet's ring words (its preset identity).
int32_t create(Table& t, double* clock, const uint32_t* probe, int32_t h, const Packet& k, bool srcLow, double now, const uint32_t* w) {
  const double freeTop = clock[C_FREE_TOP];
  if (clock[C_COUNT] >= t.maxFlows || freeTop == 0) return NIL;
  const uint32_t preset = w[11] >> PRESET_SHIFT;
  const int mode = int(clock[C_ID_MODE]);
  if (mode == ID_TRACKER || (mode == ID_AHEAD && preset == 0)) return NIL;
  const int32_t s = t.freeStack[int32_t(freeTop) - 1];
  clock[C_FREE_TOP] = freeTop - 1;
  clock[C_COUNT] += 1;
  const bool tcp = k.protocol == IPPROTO_TCP;
  const int list = tcp ? LIST_TCP_TRANSIENT : LIST_UDP;
  uint32_t* key = t.key + size_t(s) * KEY_WORDS;
  for (uint32_t j = 0; j < KEY_WORDS; j++) key[j] = probe[j];
  t.hash[s] = h;
  const int32_t bucket = h & t.bucketMask;
  t.chainNext[s] = t.buckets[bucket];
  t.buckets[bucket] = s;
  t.listOf[s] = uint8_t(list);
  pushHead(t, s, list);
  const bool senderIsOrig = senderIsOriginator(k.protocol, k.tcpFlags, k.srcPort, k.dstPort);
  t.flags[s] = uint8_t((tcp ? F_TCP : 0) | (senderIsOrig == srcLow ? 0 : F_ORIG_IS_HI));
  t.firstUs[s] = now;
  t.lastUs[s] = now;
  for (int32_t d = 2 * s; d < 2 * s + 2; d++) {
    t.packets[d] = 0;
    t.bytes[d] = 0;
    t.missed[d] = 0;
    t.holeStart[d] = 0;
    t.holeEnd[d] = 0;
    t.seqBase[d] = 0;
    t.endpoint[d] = EP_INACTIVE;
  }
  t.historySeen[s] = 0;
  t.historyLength[s] = 0;
  if (!senderIsOrig) addHistory(t, s, H_FLIPPED, true);
  int32_t* ids = t.ids + size_t(s) * ID_WORDS;
  if (mode == ID_NONE) {
    ids[0] = -2;
  } else {
    clock[C_IDENTIFIED_AHEAD] += 1;
    ids[0] = preset == PRESET_IN_SCOPE ? int32_t(clock[C_AHEAD_GENERATION]) : -1;
    ids[1] = int32_t(w[PRESET_CLIENT]);
    ids[2] = int32_t(w[PRESET_RESOURCE]);
  }
  return s;
}

inline double packetUs(const double* ts, size_t p) { return ts[2 * p] * 1e6 + std::floor(ts[2 * p + 1] / 1000); }

/** The table's arrays, held with references so that they outlive the calls that use them. */
struct Registration {
  Table table;
  const double* ringTs;
  const uint32_t* ringWords;
  double* clock;
  std::vector<Napi::Reference<Napi::Value>> refs;
  /** False once unregistered: its arrays may be gone. */
  bool live = true;
};

// register({key, hash, chainNext, buckets, bucketMask, listPrev, ..., timeoutUs, ringTs,
// ringWords, clock}) -> handle: the table's arrays (FlowTracker.fastPathArrays), registered
// again after every growth of the table, the ring's views and the clock (Clock) shared with
// FlowTracker (saveClock / loadClock).
Napi::Value Register(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) {
    Napi::TypeError::New(env, "register: the table's arrays").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = info[0].As<Napi::Object>();
  auto* r = new Registration();
  const char* arrays[] = {"key", "hash", "chainNext", "buckets", "listPrev", "listNext", "listOf", "listHead", "listTail", "flags", "lastUs",
                          "packets", "bytes", "missed", "holeStart", "holeEnd", "seqBase", "endpoint", "historySeen", "history", "historyLength", "timeoutUs",
                          "firstUs", "ids", "freeStack", "ringTs", "ringWords", "clock"};
  for (const char* name : arrays) {
    Napi::Value v = o.Get(name);
    if (!v.IsTypedArray()) {
      delete r;
      Napi::TypeError::New(env, std::string("register: ") + name + " is not a typed array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    r->refs.emplace_back(Napi::Persistent(v));
  }
  Table& t = r->table;
  t.capacity = o.Get("capacity").As<Napi::Number>().Int32Value();
  t.key = Data<uint32_t>(o.Get("key"));
  t.hash = Data<int32_t>(o.Get("hash"));
  t.chainNext = Data<int32_t>(o.Get("chainNext"));
  t.buckets = Data<int32_t>(o.Get("buckets"));
  t.bucketMask = o.Get("bucketMask").As<Napi::Number>().Int32Value();
  t.listPrev = Data<int32_t>(o.Get("listPrev"));
  t.listNext = Data<int32_t>(o.Get("listNext"));
  t.listOf = Data<uint8_t>(o.Get("listOf"));
  t.listHead = Data<int32_t>(o.Get("listHead"));
  t.listTail = Data<int32_t>(o.Get("listTail"));
  t.flags = Data<uint8_t>(o.Get("flags"));
  t.lastUs = Data<double>(o.Get("lastUs"));
  t.packets = Data<double>(o.Get("packets"));
  t.bytes = Data<double>(o.Get("bytes"));
  t.missed = Data<double>(o.Get("missed"));
  t.holeStart = Data<double>(o.Get("holeStart"));
  t.holeEnd = Data<double>(o.Get("holeEnd"));
  t.seqBase = Data<uint32_t>(o.Get("seqBase"));
  t.endpoint = Data<uint8_t>(o.Get("endpoint"));
  t.historySeen = Data<uint32_t>(o.Get("historySeen"));
  t.history = Data<uint8_t>(o.Get("history"));
  t.historyLength = Data<uint8_t>(o.Get("historyLength"));
  t.firstUs = Data<double>(o.Get("firstUs"));
  t.ids = Data<int32_t>(o.Get("ids"));
  t.freeStack = Data<int32_t>(o.Get("freeStack"));
  t.maxFlows = o.Get("maxFlows").As<Napi::Number>().DoubleValue();
  const double* timeouts = Data<double>(o.Get("timeoutUs"));
  for (int i = 0; i < 4; i++) t.timeoutUs[i] = timeouts[i];
  r->ringTs = Data<double>(o.Get("ringTs"));
  r->ringWords = Data<uint32_t>(o.Get("ringWords"));
  r->clock = Data<double>(o.Get("clock"));
  return Napi::External<Registration>::New(env, r, [](Napi::Env, Registration* reg) { delete reg; });
}

// track(handle, slotBase, from, to) -> the index of the first packet of the slot not taken
// (`to` when all were): packets slotBase + from .. slotBase + to - 1 of the ring. The clock is
// read and written back, its C_TAKEN counting the packets taken here.
Napi::Value Track(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 4 || !info[0].IsExternal()) {
    Napi::TypeError::New(env, "track: handle, slotBase, from, to").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Registration* r = info[0].As<Napi::External<Registration>>().Data();
  if (!r->live) {
    Napi::Error::New(env, "track: the registration was released").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Table& t = r->table;
  const double* ts = r->ringTs;
  const uint32_t* words = r->ringWords;
  const size_t base = info[1].As<Napi::Number>().Uint32Value();
  uint32_t i = info[2].As<Napi::Number>().Uint32Value();
  const uint32_t to = info[3].As<Napi::Number>().Uint32Value();
  double* clock = r->clock;
  double nowUs = clock[C_NOW_US];
  const double nextSweepUs = clock[C_NEXT_SWEEP_US];
  int32_t lastSlot = int32_t(clock[C_LAST_SLOT]);
  double taken = 0;
  uint32_t probe[KEY_WORDS];
  Packet k;
  while (i < to) {
    const size_t p = base + i;
    const uint32_t* w = words + p * WORDS;
    const uint32_t meta = w[11];
    // A packet with its flow's identity looked up ahead (identity-ahead.ts) likely opens the
    // flow; its run words hold the identity, so it begins no run.
    const bool preset = (meta >> PRESET_SHIFT) != 0;
    k.tcpFlags = meta & 0x1ff;
    k.protocol = (meta >> PROTOCOL_SHIFT) & 0xff;
    k.version = (meta >> VERSION_SHIFT) & 0xf;
    k.fragment = (meta >> FRAGMENT_SHIFT) & 0x3;
    const bool tcp = k.protocol == IPPROTO_TCP;
    const double now = packetUs(ts, p);
    // FlowTracker.packet: the clock, then no sweep due (else it runs the sweep).
    if (now > nowUs) nowUs = now;
    if (nowUs >= nextSweepUs) break;
    for (int j = 0; j < 4; j++) {
      k.src[j] = w[j];
      k.dst[j] = w[4 + j];
    }
    k.srcPort = w[8] >> 16;
    k.dstPort = w[8] & 0xffff;
    k.seq = w[9];
    k.payload = w[10];
    const bool srcLow = lessEndpoint(k);
    const uint32_t* lo = srcLow ? k.src : k.dst;
    const uint32_t* hi = srcLow ? k.dst : k.src;
    for (int j = 0; j < 4; j++) {
      probe[j] = lo[j];
      probe[4 + j] = hi[j];
    }
    probe[8] = srcLow ? w[8] : (k.dstPort << 16) | k.srcPort;
    probe[9] = (k.version << 8) | k.protocol;
    if (t.capacity == 0) break;  // no flow yet
    int32_t s = lastSlot;
    bool created = false;
    if (s == NIL || !holds(t, s, probe)) {
      const int32_t h = hashKey(probe);
      s = find(t, probe, h);
      if (s == NIL) {
        // A new flow: created here unless FlowTracker must (see create).
        s = create(t, clock, probe, h, k, srcLow, now, w);
        if (s == NIL) break;
        created = true;
      }
    }
    // A flow idle past its timeout, or a new connection on its 4-tuple: FlowTracker ends it.
    if (!created && now - t.lastUs[s] > t.timeoutUs[t.listOf[s]]) break;
    if (!created && tcp && (k.tcpFlags & (TCP_SYN | TCP_ACK)) == TCP_SYN && startsNewConnection(t, s, k, srcLow)) break;
    lastSlot = s;
    const bool fromOrig = srcLow == ((t.flags[s] & F_ORIG_IS_HI) == 0);
    const int32_t d = 2 * s + (fromOrig ? 0 : 1);
    t.packets[d]++;
    if (now > t.lastUs[s]) t.lastUs[s] = now;
    if (tcp) tcpPacket(t, s, d, fromOrig, k);
    else t.bytes[d] += k.payload;
    touch(t, s, listFor(t, s));
    taken++;
    i++;
    // FlowTracker.packetRun for the run this packet begins, if any (trackSlot's order).
    const uint32_t run = preset ? 0 : w[RUN_COUNT];
    if (run == 0) continue;
    double latest = now;
    double longest = 0;
    for (uint32_t n = 1; n <= run; n++) {
      const double us = packetUs(ts, p + n);
      if (us > latest) {
        if (us - latest > longest) longest = us - latest;
        latest = us;
      }
    }
    if (latest >= nextSweepUs || longest > t.timeoutUs[t.listOf[s]]) continue;
    const double runBytes = w[RUN_BYTES];
    if (!tcp) t.bytes[d] += runBytes;
    else if (runBytes > 0) {
      const double high = t.bytes[d];
      if (k.seq + k.payload != uint32_t(uint64_t(double(t.seqBase[d]) + high))) continue;
      t.bytes[d] = high + runBytes;
    }
    t.packets[d] += run;
    if (latest > nowUs) nowUs = latest;
    if (latest > t.lastUs[s]) t.lastUs[s] = latest;
    taken += run;
    i += run;
  }
  clock[C_NOW_US] = nowUs;
  clock[C_LAST_SLOT] = lastSlot;
  clock[C_TAKEN] += taken;
  return Napi::Number::New(env, i);
}

// unregister(handle): lets go of the arrays at once, rather than when the handle is collected
// (a replay's end, a table that grew; a fuzz run makes thousands of tables a second, and the
// arrays a handle held waited for the collector, tens of GB of them).
Napi::Value Unregister(const Napi::CallbackInfo& info) {
  if (info.Length() == 1 && info[0].IsExternal()) {
    Registration* r = info[0].As<Napi::External<Registration>>().Data();
    r->live = false;
    r->refs.clear();
  }
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("register", Napi::Function::New(env, Register));
  exports.Set("unregister", Napi::Function::New(env, Unregister));
  exports.Set("track", Napi::Function::New(env, Track));
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("words", WORDS);
  layout.Set("keyWords", KEY_WORDS);
  layout.Set("historyMax", HISTORY_MAX);
  layout.Set("clockWords", uint32_t(CLOCK_WORDS));
  layout.Set("idWords", ID_WORDS);
  exports.Set("layout", layout);
  return exports;
}

}  // namespace

NODE_API_MODULE(netlog_flow, Init)
