// netlog's decoding fast path for a replay's decoding thread (src/replay/native-decode.ts).
//
// The TypeScript decoder (src/decode/) is the reference and handles every packet this file
// does not: this file takes only the common shapes (every link type netlog walks; IPv4 without
// fragments; IPv6 without extension headers; TCP and UDP), decodes them exactly as the
// TypeScript does, and writes them into the replay's ring (src/replay/decoded-ring.ts) with the
// same words and the same runs as RingWriter.push. With an org map it also looks up the flows
// those packets likely open, as identity-ahead.ts does (Matcher below). Any other packet (a
// fragment, an IPv6 extension chain, an IP length beyond the frame)
// stops the call at its index, so TypeScript decodes it and the call resumes after it: the
// ring gets the same packets in the same order either way (test/native-decode.test.ts compares
// the two over the whole corpus). Why it exists: on real traffic the decoding thread sets the
// replay's pace, and its work in TypeScript (walking headers, filling a PacketInfo, copying it
// into the ring) took about 0.4 s of the 0.6 s it spends on bench:peers' 5.58M packets.
#include <napi.h>
#include "ring_layout.h"
#include "typed_array.h"
#include <cstdint>
#include <string>
#include <utility>
#include <cmath>

namespace {

// The ring's layout (ring_layout.h: decoded-ring.ts checks `layout` when it loads this).
using namespace netlog;

// RingWriter's state words (RingWriter.saveState / loadState).
enum StateWord : uint32_t {
  ST_SLOT,
  ST_COUNT,
  ST_RUN_BASE,  // first word of the open run's first packet, plus one (0: no run open)
  ST_RUN_COUNT,
  ST_RUN_BYTES,
  ST_RUN_META,
  ST_RUN_PORTS,
  ST_RUN_SRC,  // four words
  ST_RUN_DST = ST_RUN_SRC + 4,
  ST_RUN_HAS_PAYLOAD = ST_RUN_DST + 4,
  ST_RUN_NEXT_SEQ,
  STATE_WORDS,
};

// packet-info.ts Skip.
enum Skip : int {
  NONE = 0,
  LINKTYPE_UNSUPPORTED = 1,
  LINK_TRUNCATED = 2,
  NOT_IP = 3,
  IP_TRUNCATED = 4,
  IP_VERSION_BAD = 5,
  IP_HEADER_BAD = 6,
  OTHER_TRANSPORT = 8,
  TRANSPORT_TRUNCATED = 9,
  TCP_HEADER_BAD = 10,
  UDP_HEADER_BAD = 11,
  /** Not a reason: the packet is for the TypeScript decoder. */
  DEFER = -1,
};

constexpr uint32_t RUN_TCP_FLAGS_ACK = 0x10;
constexpr uint32_t RUN_TCP_FLAGS_ACK_PSH = 0x18;

/** identity-ahead.ts UDP_SEEN_BITS. */
constexpr int UDP_SEEN_BITS = 16;

struct Packet {
  uint32_t version, protocol;
  uint32_t src[4], dst[4];
  uint32_t srcPort, dstPort, flags, seq, payload;
};

inline uint32_t be16(const uint8_t* b, int64_t p) { return (uint32_t(b[p]) << 8) | b[p + 1]; }
inline uint32_t be32(const uint8_t* b, int64_t p) {
  return (uint32_t(b[p]) << 24) | (uint32_t(b[p + 1]) << 16) | (uint32_t(b[p + 2]) << 8) | b[p + 3];
}

inline bool etherTypeIsIp(uint32_t type) { return type == 0x0800 || type == 0x86dd; }

// link.ts networkOffset: the IP header's offset, or the negated Skip reason.
int64_t networkOffset(const uint8_t* b, int64_t off, int64_t capLen, int32_t linkType) {
  const int64_t end = off + capLen;
  switch (linkType) {
    case 101:  // RAW
    case 12:   // RAW as DLT 12
    case 14:   // RAW as DLT 14
    case 228:  // IPV4
    case 229:  // IPV6
      return off;
    case 1: {  // ETHERNET, with any number of 802.1Q / 802.1ad / QinQ tags
      int64_t p = off + 12;
      if (p + 2 > end) return -LINK_TRUNCATED;
      uint32_t type = be16(b, p);
      while (type == 0x8100 || type == 0x88a8 || type == 0x9100 || type == 0x9200) {
        p += 4;
        if (p + 2 > end) return -LINK_TRUNCATED;
        type = be16(b, p);
      }
      return etherTypeIsIp(type) ? p + 2 : -NOT_IP;
    }
    case 113:  // LINUX_SLL
      if (off + 16 > end) return -LINK_TRUNCATED;
      return etherTypeIsIp(be16(b, off + 14)) ? off + 16 : -NOT_IP;
    case 276:  // LINUX_SLL2
      if (off + 20 > end) return -LINK_TRUNCATED;
      return etherTypeIsIp(be16(b, off)) ? off + 20 : -NOT_IP;
    case 0:      // NULL
    case 108: {  // LOOP
      if (off + 4 > end) return -LINK_TRUNCATED;
      const uint32_t family = b[off] != 0 ? b[off] : b[off + 3];
      return family == 2 || family == 10 || family == 24 || family == 28 || family == 30 ? off + 4 : -NOT_IP;
    }
    default:
      return -LINKTYPE_UNSUPPORTED;
  }
}

// decoder.ts walk, ipv4.ts, ipv6.ts, tcp.ts and udp.ts for the shapes this file takes.
int decode(const uint8_t* b, int64_t off, int64_t capLen, double origLen, int32_t linkType, Packet& k) {
  const int64_t l3 = networkOffset(b, off, capLen, linkType);
  if (l3 < 0) return int(-l3);
  const int64_t end = off + capLen;
  const int64_t wireEnd = off + (origLen > double(capLen) ? int64_t(origLen) : capLen);
  if (l3 >= end) return IP_TRUNCATED;
  const uint32_t version = b[l3] >> 4;
  const int64_t o = l3;
  int64_t l4, l4Length;
  if (version == 4) {
    if (o + 20 > end) return IP_TRUNCATED;
    const int64_t ihl = (b[o] & 0x0f) * 4;
    if (ihl < 20) return IP_HEADER_BAD;
    if (o + ihl > end) return IP_TRUNCATED;
    int64_t totalLength = be16(b, o + 2);
    if (totalLength == 0) totalLength = wireEnd - o;
    if (totalLength < ihl) return IP_HEADER_BAD;
    if (o + totalLength > wireEnd) return DEFER;  // cut to the frame: counted in TypeScript
    if ((be16(b, o + 6) & 0x3fff) != 0) return DEFER;  // a fragment
    k.version = 4;
    k.protocol = b[o + 9];
    k.src[0] = be32(b, o + 12);
    k.dst[0] = be32(b, o + 16);
    k.src[1] = k.src[2] = k.src[3] = 0;
    k.dst[1] = k.dst[2] = k.dst[3] = 0;
    l4 = o + ihl;
    l4Length = totalLength - ihl;
  } else if (version == 6) {
    if (o + 40 > end) return IP_TRUNCATED;
    const int64_t payloadLength = be16(b, o + 4);
    const uint32_t next = b[o + 6];
    if (payloadLength == 0) return DEFER;  // a jumbogram or a GSO super-packet
    if (o + 40 + payloadLength > wireEnd) return DEFER;
    if (next == 0 || next == 43 || next == 44 || next == 51 || next == 60 || next == 135) return DEFER;
    k.version = 6;
    k.protocol = next;
    for (int i = 0; i < 4; i++) {
      k.src[i] = be32(b, o + 8 + 4 * i);
      k.dst[i] = be32(b, o + 24 + 4 * i);
    }
    l4 = o + 40;
    l4Length = payloadLength;
  } else {
    return IP_VERSION_BAD;
  }
  const int64_t p = l4;
  if (k.protocol == IPPROTO_TCP) {
    if (p + 20 > end) return TRANSPORT_TRUNCATED;
    const int64_t dataOffset = (b[p + 12] >> 4) * 4;
    if (dataOffset < 20 || dataOffset > l4Length) return TCP_HEADER_BAD;
    k.srcPort = be16(b, p);
    k.dstPort = be16(b, p + 2);
    k.seq = be32(b, p + 4);
    k.flags = (uint32_t(b[p + 12] & 0x01) << 8) | b[p + 13];
    k.payload = uint32_t(l4Length - dataOffset);
    return NONE;
  }
  if (k.protocol == IPPROTO_UDP) {
    if (p + 8 > end) return TRANSPORT_TRUNCATED;
    if (l4Length < 8) return UDP_HEADER_BAD;
    const int64_t udpLength = be16(b, p + 4);
    k.srcPort = be16(b, p);
    k.dstPort = be16(b, p + 2);
    k.flags = 0;
    k.seq = 0;
    if (udpLength == 0 && k.version == 6) {
      k.payload = uint32_t(l4Length - 8);
      return NONE;
    }
    if (udpLength < 8 || udpLength > l4Length) return UDP_HEADER_BAD;
    k.payload = uint32_t(udpLength - 8);
    return NONE;
  }
  return OTHER_TRANSPORT;
}

// hash-mix.ts fmix, in the same 32-bit arithmetic as Math.imul.
inline uint32_t fmix(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  return h ^ (h >> 16);
}

inline uint32_t endpointHash(const uint32_t* w, uint32_t port) {
  return fmix(w[0] ^ (w[1] * 0x85ebca6bu) ^ (w[2] * 0xc2b2ae35u) ^ (w[3] * 0x27d4eb2fu) ^ ((port + 1) * 0x9e3779b1u));
}

// identity-ahead.ts IdentityAhead.mark's choice: whether a look-up ahead is due for this packet
// (a SYN, or a UDP 5-tuple not seen lately). With `remember` a UDP 5-tuple looked up is put in
// the table, as IdentityAhead.seenUdp does; without, the packet goes to TypeScript, which does.
bool wantsLookUp(const Packet& k, int32_t* udpSeen, bool remember) {
  if (k.protocol == IPPROTO_TCP) return (k.flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
  const uint32_t h = fmix(endpointHash(k.src, k.srcPort) + endpointHash(k.dst, k.dstPort));
  int32_t& slot = udpSeen[h >> (32 - UDP_SEEN_BITS)];
  if (uint32_t(slot) == (h | 1u)) return false;
  if (remember) slot = int32_t(h | 1u);
  return true;
}

// A prefetch the compiler keeps (GCC drops a __builtin_prefetch whose loop has no other effect).
inline void prefetch(const void* p) {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

// An org map's look-ups, flattened by src/identity/flat-matcher.ts flattenMatcher: offsets are indices
// into the same int32 words. Each function below is its TypeScript namesake's arithmetic.
struct Matcher {
  const int32_t* m;
  // Words of a length table's description (src/identity/flat-matcher.ts flattenMatcher): its cells,
  // slot mask, shift, stride and four mask words.
  static constexpr int32_t TABLE_WORDS = 8;

  // prefix-table.ts LengthTable's first slot for a key: `t` is a length table's description.
  static uint32_t firstSlot(const int32_t* t, uint32_t k0, uint32_t k1, uint32_t k2, uint32_t k3) {
    uint32_t h = k0 * 0x9e3779b1u;
    if (t[3] == 5) {
      h = (h ^ k1 ^ (h >> 15)) * 0x85ebca6bu;
      h = (h ^ k2 ^ (h >> 13)) * 0xc2b2ae35u;
      h = (h ^ k3 ^ (h >> 16)) * 0x9e3779b1u;
    }
    return h >> t[2];
  }

  // prefix-table.ts LengthTable.get: `t` is a length table's description.
  int32_t tableGet(const int32_t* t, uint32_t k0, uint32_t k1, uint32_t k2, uint32_t k3) const {
    const int32_t* cells = m + t[0];
    const uint32_t slotMask = uint32_t(t[1]);
    const int stride = t[3];
    // Tables are at most three quarters full (LengthTable.set), so an empty slot ends the probe.
    for (uint32_t s = firstSlot(t, k0, k1, k2, k3);; s = (s + 1) & slotMask) {
      const int32_t* c = cells + size_t(s) * stride;
      const int32_t v = c[stride - 1];
      if (v == 0) return -1;
      if (uint32_t(c[0]) == k0 && (stride == 2 || (uint32_t(c[1]) == k1 && uint32_t(c[2]) == k2 && uint32_t(c[3]) == k3))) return v - 1;
    }
  }

  // port-segments.ts PortSegments.match: `p` is the segments' description.
  int32_t portsMatch(const int32_t* p, int32_t group, int32_t port) const {
    const int32_t* groupStart = m + p[0];
    const int32_t* seg = m + p[1];
    int32_t lo = groupStart[group];
    int32_t hi = groupStart[group + 1] - 1;
    if (hi < lo || port < seg[2 * lo]) return -1;
    while (lo < hi) {
      const int32_t mid = (lo + hi + 1) >> 1;
      if (seg[2 * mid] <= port) lo = mid;
      else hi = mid - 1;
    }
    return seg[2 * lo + 1];
  }

  // Asks for the cell that find() probes first in the table at `table` for address `w` (its
  // longest prefix: a host's, where a map's clients and host resources are).
  void prefetchFirst(int32_t table, uint32_t version, const uint32_t* w) const {
    const int32_t* p = m + table;
    const int32_t v4 = p[0];
    if ((version == 4 ? v4 : p[1]) == 0) return;
    const int32_t* t = p + 3 + (version == 4 ? 0 : v4 * TABLE_WORDS);
    const uint32_t slot = firstSlot(t, w[0] & uint32_t(t[4]), w[1] & uint32_t(t[5]), w[2] & uint32_t(t[6]), w[3] & uint32_t(t[7]));
    prefetch(m + t[0] + size_t(slot) * t[3]);
  }

  // The cells match() probes first for a packet's originator and responder.
  void prefetchMatch(uint32_t version, const uint32_t* origin, const uint32_t* responder) const {
    prefetchFirst(m[1], version, origin);
    prefetchFirst(m[3], version, responder);
  }

  // prefix-table.ts PrefixTable.find: the table at `table`; `ports` 0 for none.
  int32_t find(int32_t table, uint32_t version, const uint32_t* w, int32_t ports, int32_t protocol, int32_t port) const {
    const int32_t* p = m + table;
    const int32_t v4 = p[0];
    const int32_t* firsts = m + p[2];
    const int32_t n = version == 4 ? v4 : p[1];
    const int32_t* t = p + 3 + (version == 4 ? 0 : v4 * TABLE_WORDS);
    for (int32_t i = 0; i < n; i++, t += TABLE_WORDS) {
      const int32_t at = tableGet(t, w[0] & uint32_t(t[4]), w[1] & uint32_t(t[5]), w[2] & uint32_t(t[6]), w[3] & uint32_t(t[7]));
      if (at < 0) continue;
      if (ports == 0) return firsts[at];
      const int32_t r = portsMatch(m + ports, 2 * at + protocol, port);
      if (r >= 0) return r;
    }
    return -1;
  }

  // identity-matcher.ts IdentityMatcher.match: the preset identity (1 in scope, 2 out of it)
  // and the client's and resource's positions (-1: none).
  uint32_t match(uint32_t version, const uint32_t* origin, const uint32_t* responder, int32_t protocol, int32_t responderPort,
                 int32_t& client, int32_t& resource) const {
    const int32_t scope = m[0];
    client = find(m[1], version, origin, 0, 0, 0);
    const bool fromClient = client >= 0 || find(m[2], version, origin, 0, 0, 0) >= 0;
    resource = -1;
    if (fromClient || scope == SCOPE_ALL) {
      resource = find(m[3], version, responder, m[5], protocol, responderPort);
      if (resource < 0) resource = find(m[4], version, responder, m[6], protocol, responderPort);
    }
    const bool inScope = scope == SCOPE_RESOURCES ? fromClient && resource >= 0 : scope == SCOPE_CLIENTS ? fromClient : true;
    return inScope ? PRESET_IN_SCOPE : PRESET_OUT_OF_SCOPE;
  }

  static constexpr int32_t SCOPE_RESOURCES = 0;
  static constexpr int32_t SCOPE_CLIENTS = 1;
  static constexpr int32_t SCOPE_ALL = 2;
  static constexpr uint32_t PRESET_IN_SCOPE = 1;
  static constexpr uint32_t PRESET_OUT_OF_SCOPE = 2;
};

// flow-origin.ts senderIsOriginator (ring_layout.h), for a packet Matcher looks up (a SYN
// without ACK, or UDP).
inline bool senderIsOriginator(const Packet& k) { return netlog::senderIsOriginator(k.protocol, k.flags, k.srcPort, k.dstPort); }

struct Ring {
  double* ts;
  uint32_t* words;
  uint32_t* st;
};

// decoded-ring.ts RingWriter.closeRun.
inline void closeRun(Ring& r) {
  const uint32_t base = r.st[ST_RUN_BASE];
  if (base == 0) return;
  r.st[ST_RUN_BASE] = 0;
  if (r.st[ST_RUN_COUNT] == 0) return;
  r.words[base - 1 + RUN_COUNT] = r.st[ST_RUN_COUNT];
  r.words[base - 1 + RUN_BYTES] = r.st[ST_RUN_BYTES];
}

// The next packet's place in the ring, its time and its first twelve words (RingWriter.push's).
inline uint32_t* pushWords(Ring& r, const Packet& k, double tsSec, double tsNsec, uint32_t meta) {
  const uint32_t p = r.st[ST_SLOT] * SLOT_PACKETS + r.st[ST_COUNT]++;
  r.ts[2 * p] = tsSec;
  r.ts[2 * p + 1] = tsNsec;
  uint32_t* w = r.words + size_t(p) * WORDS;
  for (int i = 0; i < 4; i++) {
    w[i] = k.src[i];
    w[4 + i] = k.dst[i];
  }
  w[8] = (k.srcPort << 16) | k.dstPort;
  w[9] = k.seq;
  w[10] = k.payload;
  w[11] = meta;
  return w;
}

// decoded-ring.ts RingWriter.push for a packet without a preset identity or a fragment.
inline void push(Ring& r, const Packet& k, double tsSec, double tsNsec) {
  uint32_t* st = r.st;
  const uint32_t ports = (k.srcPort << 16) | k.dstPort;
  const uint32_t meta = k.flags | (k.protocol << PROTOCOL_SHIFT) | (k.version << VERSION_SHIFT);
  uint32_t* w = pushWords(r, k, tsSec, tsNsec, meta);
  w[RUN_COUNT] = 0;
  if (st[ST_RUN_BASE] != 0 && meta == st[ST_RUN_META] && ports == st[ST_RUN_PORTS] && k.src[0] == st[ST_RUN_SRC] &&
      k.dst[0] == st[ST_RUN_DST] && k.src[1] == st[ST_RUN_SRC + 1] && k.src[2] == st[ST_RUN_SRC + 2] &&
      k.src[3] == st[ST_RUN_SRC + 3] && k.dst[1] == st[ST_RUN_DST + 1] && k.dst[2] == st[ST_RUN_DST + 2] &&
      k.dst[3] == st[ST_RUN_DST + 3] &&
      (k.protocol == IPPROTO_UDP || (k.seq == st[ST_RUN_NEXT_SEQ] && (k.payload > 0) == (st[ST_RUN_HAS_PAYLOAD] != 0)))) {
    st[ST_RUN_NEXT_SEQ] = k.seq + k.payload;
    st[ST_RUN_COUNT]++;
    st[ST_RUN_BYTES] += k.payload;
    return;
  }
  // startRun
  closeRun(r);
  if (k.protocol != IPPROTO_UDP && (k.protocol != IPPROTO_TCP || (k.flags != RUN_TCP_FLAGS_ACK && k.flags != RUN_TCP_FLAGS_ACK_PSH))) {
    return;
  }
  st[ST_RUN_BASE] = uint32_t(w - r.words) + 1;
  st[ST_RUN_COUNT] = 0;
  st[ST_RUN_BYTES] = 0;
  st[ST_RUN_META] = meta;
  st[ST_RUN_PORTS] = ports;
  for (int i = 0; i < 4; i++) {
    st[ST_RUN_SRC + i] = k.src[i];
    st[ST_RUN_DST + i] = k.dst[i];
  }
  st[ST_RUN_HAS_PAYLOAD] = k.payload > 0 ? 1 : 0;
  st[ST_RUN_NEXT_SEQ] = k.seq + k.payload;
}

// Packets written to the ring whose look-up (identity-ahead.ts IdentityAhead.mark) is still to
// be done: a new flow's look-up is a few cache misses in the map's tables, and done at once it
// held up the decoding thread, which a replay with a 100k map then made the flow table wait
// for. Each packet's first cells are asked for when it is written, and looked up LOOK_UPS_AHEAD
// look-ups later, or before decodeToRing returns (its slot is not published before then).
struct PendingLookUps {
  static constexpr int LOOK_UPS_AHEAD = 8;
  uint32_t* words[LOOK_UPS_AHEAD];
  int count = 0;
};

// The look-up of a packet already in the ring (its words `w`): as decoded-ring.ts
// RingWriter.push writes a packet with a preset identity, its preset in the meta word and the
// client's and resource's positions where a run's count and bytes would be.
void lookUp(uint32_t* w, const Matcher& matcher) {
  Packet k;
  for (int j = 0; j < 4; j++) {
    k.src[j] = w[j];
    k.dst[j] = w[4 + j];
  }
  k.srcPort = w[8] >> 16;
  k.dstPort = w[8] & 0xffff;
  k.flags = w[11] & 0x1ff;
  k.protocol = (w[11] >> PROTOCOL_SHIFT) & 0xff;
  k.version = (w[11] >> VERSION_SHIFT) & 0xf;
  const bool senderIsOrig = senderIsOriginator(k);
  int32_t client, resource;
  const uint32_t preset = matcher.match(k.version, senderIsOrig ? k.src : k.dst, senderIsOrig ? k.dst : k.src,
                                        k.protocol == IPPROTO_TCP ? 0 : 1, int32_t(senderIsOrig ? k.dstPort : k.srcPort), client, resource);
  w[11] |= preset << PRESET_SHIFT;
  w[PRESET_CLIENT] = uint32_t(client);
  w[PRESET_RESOURCE] = uint32_t(resource);
}

void lookUpAll(PendingLookUps& pending, const Matcher& matcher) {
  for (int j = 0; j < pending.count; j++) lookUp(pending.words[j], matcher);
  pending.count = 0;
}

// identity-ahead.ts IdentityAhead.mark for a packet it looks up, then the ring: written now,
// in no run, and looked up later (PendingLookUps, lookUp).
inline void pushLookedUp(Ring& r, const Packet& k, double tsSec, double tsNsec, const Matcher& matcher, PendingLookUps& pending) {
  if (pending.count == PendingLookUps::LOOK_UPS_AHEAD) lookUpAll(pending, matcher);
  const bool senderIsOrig = senderIsOriginator(k);
  matcher.prefetchMatch(k.version, senderIsOrig ? k.src : k.dst, senderIsOrig ? k.dst : k.src);
  pending.words[pending.count++] = pushWords(r, k, tsSec, tsNsec, k.flags | (k.protocol << PROTOCOL_SHIFT) | (k.version << VERSION_SHIFT));
  closeRun(r);
}

// decodeToRing(buf, dataOffset, capturedLength, originalLength, tsSec, tsNsec, linkType, from,
//   to, ringTs, ringWords, state, counts, udpSeen | null, matcher | null) -> the index of the first packet not
// taken: `to`; or where the slot filled (state's count is SLOT_PACKETS: publish it, then call
// again); or a packet for the TypeScript decoder. The arrays are a PacketBatch's, the ring's
// views, RingWriter's state (saveState) and the Decoder's counts, which it adds to; with an org
// map, IdentityAhead's table of UDP 5-tuples and, to look up here rather than leave the
// packets to TypeScript, its matcher flattened (src/identity/flat-matcher.ts).
Napi::Value DecodeToRing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 15 || !info[7].IsNumber() || !info[8].IsNumber()) {
    Napi::TypeError::New(env, "decodeToRing: 15 arguments, from and to numbers").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  for (size_t a = 0; a < 15; a++) {
    if (a == 7 || a == 8 || (a >= 13 && info[a].IsNull())) continue;
    if (!info[a].IsTypedArray()) {
      Napi::TypeError::New(env, "decodeToRing: argument " + std::to_string(a) + " is not a typed array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  const uint8_t* buf = Data<uint8_t>(info[0]);
  const int32_t* dataOffset = Data<int32_t>(info[1]);
  const int32_t* capturedLength = Data<int32_t>(info[2]);
  const double* originalLength = Data<double>(info[3]);
  const double* tsSec = Data<double>(info[4]);
  const int32_t* tsNsec = Data<int32_t>(info[5]);
  const int32_t* linkType = Data<int32_t>(info[6]);
  uint32_t i = info[7].As<Napi::Number>().Uint32Value();
  const uint32_t to = info[8].As<Napi::Number>().Uint32Value();
  Ring r{Data<double>(info[9]), Data<uint32_t>(info[10]), Data<uint32_t>(info[11])};
  double* counts = Data<double>(info[12]);
  int32_t* udpSeen = info[13].IsNull() ? nullptr : Data<int32_t>(info[13]);
  const Matcher matcher{info[14].IsNull() ? nullptr : Data<int32_t>(info[14])};
  const bool lookUpHere = matcher.m != nullptr;
  PendingLookUps pending;
  Packet k;
  for (; i < to && r.st[ST_COUNT] < SLOT_PACKETS; i++) {
    const int reason = decode(buf, dataOffset[i], capturedLength[i], originalLength[i], linkType[i], k);
    if (reason == DEFER) break;
    if (reason != NONE) {
      counts[reason]++;
      continue;
    }
    if (udpSeen != nullptr && wantsLookUp(k, udpSeen, lookUpHere)) {
      if (!lookUpHere) break;
      counts[NONE]++;
      pushLookedUp(r, k, tsSec[i], tsNsec[i], matcher, pending);
      continue;
    }
    counts[NONE]++;
    push(r, k, tsSec[i], tsNsec[i]);
  }
  lookUpAll(pending, matcher);
  return Napi::Number::New(env, i);
}

// Outcomes of parsePcapRecords (out[2]).
constexpr double RECORDS_BATCH_FULL = 0;
constexpr double RECORDS_NEED_BYTES = 1;
constexpr double RECORDS_FOR_TYPESCRIPT = 2;

inline uint32_t u32(const uint8_t* b, size_t p, bool le) {
  return le ? uint32_t(b[p]) | (uint32_t(b[p + 1]) << 8) | (uint32_t(b[p + 2]) << 16) | (uint32_t(b[p + 3]) << 24)
            : (uint32_t(b[p]) << 24) | (uint32_t(b[p + 1]) << 16) | (uint32_t(b[p + 2]) << 8) | b[p + 3];
}

// parsePcapRecords(buf, pos, end, recordHeader, le, swappedLengths, unitsPerSecond, nsecPerUnit,
//   linkType, maxLength, dataOffset, capturedLength, originalLength, tsSec, tsNsec, linkTypes,
//   interfaceId, count, capacity, out) -> nothing: pcap-format.ts PcapFormat.parse's record loop,
// appending to a PacketBatch's arrays from `count` on, exactly as it does. out[0] is the
// position reached, out[1] the batch's count, out[2] why it stopped (the batch is full; a
// record needs out[3] bytes from out[0]; the record at out[0] is TypeScript's: its length is
// past maxLength, an error TypeScript words).
Napi::Value ParsePcapRecords(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 20) {
    Napi::TypeError::New(env, "parsePcapRecords: 20 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  for (size_t a : {0, 10, 11, 12, 13, 14, 15, 16, 19}) {
    if (!info[a].IsTypedArray()) {
      Napi::TypeError::New(env, "parsePcapRecords: argument " + std::to_string(a) + " is not a typed array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  const uint8_t* b = Data<uint8_t>(info[0]);
  size_t p = info[1].As<Napi::Number>().Uint32Value();
  const size_t end = info[2].As<Napi::Number>().Uint32Value();
  const size_t hl = info[3].As<Napi::Number>().Uint32Value();
  const bool le = info[4].As<Napi::Boolean>().Value();
  const bool swapped = info[5].As<Napi::Boolean>().Value();
  const double unitsPerSecond = info[6].As<Napi::Number>().DoubleValue();
  const double nsecPerUnit = info[7].As<Napi::Number>().DoubleValue();
  const int32_t linkType = info[8].As<Napi::Number>().Int32Value();
  const uint32_t maxLength = info[9].As<Napi::Number>().Uint32Value();
  int32_t* dataOffset = Data<int32_t>(info[10]);
  int32_t* capturedLength = Data<int32_t>(info[11]);
  double* originalLength = Data<double>(info[12]);
  double* tsSec = Data<double>(info[13]);
  int32_t* tsNsec = Data<int32_t>(info[14]);
  int32_t* linkTypes = Data<int32_t>(info[15]);
  int32_t* interfaceId = Data<int32_t>(info[16]);
  uint32_t count = info[17].As<Napi::Number>().Uint32Value();
  const uint32_t capacity = info[18].As<Napi::Number>().Uint32Value();
  double* out = Data<double>(info[19]);
  out[2] = RECORDS_BATCH_FULL;
  while (count < capacity) {
    if (end - p < hl) {
      out[2] = RECORDS_NEED_BYTES;
      out[3] = double(hl);
      break;
    }
    double sec = u32(b, p, le);
    double frac = u32(b, p + 4, le);
    uint32_t capLen = u32(b, p + 8, le);
    uint32_t origLen = u32(b, p + 12, le);
    if (swapped && capLen > origLen) std::swap(capLen, origLen);
    if (capLen > maxLength) {
      out[2] = RECORDS_FOR_TYPESCRIPT;
      break;
    }
    if (end - p - hl < capLen) {
      out[2] = RECORDS_NEED_BYTES;
      out[3] = double(hl + capLen);
      break;
    }
    if (frac >= unitsPerSecond) {
      // Out-of-range fraction: carry whole seconds, as pcap-format.ts does.
      sec += std::floor(frac / unitsPerSecond);
      frac = std::fmod(frac, unitsPerSecond);
    }
    dataOffset[count] = int32_t(p + hl);
    capturedLength[count] = int32_t(capLen);
    originalLength[count] = origLen;
    tsSec[count] = sec;
    tsNsec[count] = int32_t(frac * nsecPerUnit);
    linkTypes[count] = linkType;
    interfaceId[count] = 0;
    count++;
    p += hl + capLen;
  }
  out[0] = double(p);
  out[1] = count;
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("decodeToRing", Napi::Function::New(env, DecodeToRing));
  exports.Set("parsePcapRecords", Napi::Function::New(env, ParsePcapRecords));
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("slotPackets", SLOT_PACKETS);
  layout.Set("words", WORDS);
  layout.Set("stateWords", uint32_t(STATE_WORDS));
  exports.Set("layout", layout);
  return exports;
}

}  // namespace

NODE_API_MODULE(netlog_decode, Init)
