// Session rows as JSON lines, for src/format/session-json.ts: the bytes JsonLineEncoder writes
// (JSON.stringify's for each record), made here for the rows the flow table fills, which hold
// numbers only. Any row this code cannot write exactly (text held as JavaScript strings, a
// number outside the plain ranges, identity of a map generation it was not given)
// is left to the JavaScript encoder: encode() stops before it and says why.
//
// Why native: in a replay to JSON lines the encoder was the largest part of the flow table's
// thread after the flow table itself (~800 ns a row, 200 ms of a 250k-session replay).
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "typed_array.h"

namespace {

// Column indexes into the batch's layout (SessionBatch.nativeLayout), in this order.
enum Column {
  kStartUs, kEndUs, kBytesTx, kBytesRx, kPacketsTx, kPacketsRx, kMissedTx, kMissedRx,
  kSourceIp4, kDestIp4, kSourceIp6, kDestIp6, kSessionHi, kSessionLo,
  kIdGeneration, kIdClient, kIdResource,
  kSourcePort, kDestPort,
  kProtocol, kState, kEndReason, kRowKind, kHistoryLength, kHistoryCodes,
  kColumns
};

// SessionBatch.rowKind: 0 = text in JavaScript strings (JavaScript writes the row).
constexpr uint8_t kRowIpv4 = 1;
constexpr uint8_t kRowIpv6 = 2;
constexpr int kHistoryMax = 18;
constexpr uint8_t kStillOpen = 255;
// Room a row needs beyond its identity text: the fixed parts are under 700 bytes.
constexpr size_t kRowRoom = 1024;
// Largest time in whole microseconds written here (as JsonLineEncoder's MICROS_EXACT).
constexpr double kMicrosExact = 4294967296.0 * 1e6;
constexpr double kIntegerExact = 9007199254740992.0;  // 2^53

// encode()'s reasons to stop before the row it returns at.
constexpr double kStopDone = 0;
constexpr double kStopFull = 1;    // the buffer has no room for the row
constexpr double kStopRowJs = 2;   // the row is JavaScript's to write

// As session-record.ts's PROTOCOLS, CONN_STATES and END_REASONS, with the keys around them.
const char* const kProtocols[] = {"tcp", "udp"};
const char* const kStates[] = {"S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"};
const char* const kEndReasons[] = {"fin", "rst", "idle", "evicted", "shutdown", "capture-end"};
const char kHistoryLetters[] = "SHADFRTG^";  // conn-state.ts's History order
// TypeScript uses this addon only when these agree with its own (session-json.ts, layout()).
template <size_t N>
constexpr size_t Count(const char* const (&)[N]) {
  return N;
}

char kDigitPairs[200];

struct Out {
  uint8_t* p;

  void Put(const char* s, size_t n) {
    std::memcpy(p, s, n);
    p += n;
  }
  template <size_t N>
  void Lit(const char (&s)[N]) {
    Put(s, N - 1);
  }
  void Str(const char* s) { Put(s, std::strlen(s)); }

  // Decimal digits of v, two at a time.
  void Digits(uint64_t v) {
    uint8_t tmp[20];
    int n = 20;
    while (v >= 100) {
      const uint64_t q = v / 100;
      const unsigned pair = static_cast<unsigned>(v - q * 100) * 2;
      tmp[--n] = kDigitPairs[pair + 1];
      tmp[--n] = kDigitPairs[pair];
      v = q;
    }
    if (v >= 10) {
      tmp[--n] = kDigitPairs[v * 2 + 1];
      tmp[--n] = kDigitPairs[v * 2];
    } else {
      tmp[--n] = static_cast<uint8_t>('0' + v);
    }
    std::memcpy(p, tmp + n, 20 - n);
    p += 20 - n;
  }

  void Hex32(uint32_t w) {
    static const char kHex[] = "0123456789abcdef";
    for (int shift = 28; shift >= 0; shift -= 4) *p++ = kHex[(w >> shift) & 15];
  }

  void Hex16(unsigned g) {  // a group of IPv6 text: no leading zeros
    static const char kHex[] = "0123456789abcdef";
    bool any = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const unsigned d = (g >> shift) & 15;
      if (d != 0 || any || shift == 0) {
        *p++ = kHex[d];
        any = true;
      }
    }
  }
};

// JavaScript's text of a number that is a plain non-negative integer below 2^53 (or NaN, as
// null); false for any other number, which JavaScript writes.
bool Integer(Out& o, double n) {
  if (n != n) {
    o.Lit("null");
    return true;
  }
  if (!(n >= 0 && n < kIntegerExact && n == std::floor(n))) return false;
  o.Digits(static_cast<uint64_t>(n));
  return true;
}

// Whole microseconds as seconds, as JsonLineEncoder.seconds writes them: digits, a point and
// the fraction without trailing zeros; null for NaN; false past its exact range.
bool Seconds(Out& o, double us) {
  if (us != us) {
    o.Lit("null");
    return true;
  }
  if (!(us >= 0 && us < kMicrosExact && us == std::floor(us))) return false;
  const uint64_t u = static_cast<uint64_t>(us);
  o.Digits(u / 1000000);
  unsigned frac = static_cast<unsigned>(u % 1000000);
  if (frac == 0) return true;
  int width = 6;
  while (frac % 10 == 0) {
    frac /= 10;
    width--;
  }
  *o.p++ = '.';
  for (int i = width - 1; i >= 0; i--) {
    o.p[i] = static_cast<uint8_t>('0' + frac % 10);
    frac /= 10;
  }
  o.p += width;
  return true;
}

void Ipv4(Out& o, uint32_t w, unsigned port) {
  o.Digits(w >> 24);
  *o.p++ = '.';
  o.Digits((w >> 16) & 255);
  *o.p++ = '.';
  o.Digits((w >> 8) & 255);
  *o.p++ = '.';
  o.Digits(w & 255);
  *o.p++ = ':';
  o.Digits(port);
}

// `[v6]:port` in RFC 5952's form, as address.ts's formatIpv6: the longest run of two or more
// zero groups (the first on a tie) as `::`.
void Ipv6(Out& o, const uint32_t* w, unsigned port) {
  unsigned g[8];
  for (int i = 0; i < 4; i++) {
    g[2 * i] = w[i] >> 16;
    g[2 * i + 1] = w[i] & 0xffff;
  }
  int bestStart = -1;
  int bestLen = 1;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      i++;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  *o.p++ = '[';
  for (int i = 0; i < 8; i++) {
    if (i == bestStart) {
      o.Lit("::");
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i != bestStart + bestLen) *o.p++ = ':';
    o.Hex16(g[i]);
  }
  o.Lit("]:");
  o.Digits(port);
}

// A map generation's ids by position (SessionJson's NativeIdentity, identity's IdentityColumns).
struct Identity {
  const double* clientIds = nullptr;
  size_t clients = 0;
  const double* resourceIds = nullptr;
  size_t resources = 0;
  const uint8_t* userJson = nullptr;
  const int32_t* userJsonEnd = nullptr;  // client i's JSON at [end[i - 1] or 0, end[i])
  const uint8_t* orgEnd = nullptr;
  size_t orgEndLength = 0;
  int32_t generation = -1;

  // Bytes of client `c`'s userId text (0 for none or out of range).
  size_t UserLength(int32_t c) const {
    if (c < 0 || static_cast<size_t>(c) >= clients) return 0;
    return static_cast<size_t>(userJsonEnd[c] - (c == 0 ? 0 : userJsonEnd[c - 1]));
  }
};

struct Batch {
  uint8_t* base;
  const int32_t* layout;

  template <typename T>
  const T* Col(Column c) const {
    return reinterpret_cast<const T*>(base + layout[c]);
  }
};

// Row `i` at o.p; false (o.p then undefined) when JavaScript must write it.
bool Row(Out& o, const Batch& b, int i, const Identity& id) {
  const uint8_t kind = b.Col<uint8_t>(kRowKind)[i];
  if (kind != kRowIpv4 && kind != kRowIpv6) return false;
  const double startUs = b.Col<double>(kStartUs)[i];
  const double endUs = b.Col<double>(kEndUs)[i];
  const int32_t generation = b.Col<int32_t>(kIdGeneration)[i];
  const int32_t client = b.Col<int32_t>(kIdClient)[i];
  const int32_t resource = b.Col<int32_t>(kIdResource)[i];
  if (generation >= 0) {
    if (generation != id.generation) return false;
    if (client >= 0 && static_cast<size_t>(client) >= id.clients) return false;
    if (resource >= 0 && static_cast<size_t>(resource) >= id.resources) return false;
  }
  o.Lit("{\"timestamp\":");
  if (!(startUs >= 0 && startUs < kMicrosExact)) return false;
  if (!Integer(o, std::floor(startUs / 1e6))) return false;
  const uint8_t protocol = b.Col<uint8_t>(kProtocol)[i];
  if (protocol >= Count(kProtocols)) return false;
  o.Lit(",\"protocol\":\"");
  o.Str(kProtocols[protocol]);
  *o.p++ = '"';
  if (generation >= 0) {
    // As describe() gives them, the text as JSON.stringify writes it (IdentityJson's fragments).
    o.Lit(",\"siteResourceId\":");
    if (resource < 0) o.Lit("null");
    else if (!Integer(o, id.resourceIds[resource])) return false;
    o.Lit(",\"clientId\":");
    if (client < 0) o.Lit("null");
    else if (!Integer(o, id.clientIds[client])) return false;
    o.Lit(",\"userId\":");
    if (client < 0) {
      o.Lit("null");
    } else {
      const size_t n = id.UserLength(client);
      o.Put(reinterpret_cast<const char*>(id.userJson + id.userJsonEnd[client] - n), n);
    }
  } else {
    o.Lit(",\"siteResourceId\":null,\"clientId\":null,\"userId\":null");
  }
  o.Lit(",\"sourceAddr\":\"");
  const unsigned sourcePort = b.Col<uint16_t>(kSourcePort)[i];
  const unsigned destPort = b.Col<uint16_t>(kDestPort)[i];
  if (kind == kRowIpv4) Ipv4(o, b.Col<uint32_t>(kSourceIp4)[i], sourcePort);
  else Ipv6(o, b.Col<uint32_t>(kSourceIp6) + 4 * i, sourcePort);
  o.Lit("\",\"destAddr\":\"");
  if (kind == kRowIpv4) Ipv4(o, b.Col<uint32_t>(kDestIp4)[i], destPort);
  else Ipv6(o, b.Col<uint32_t>(kDestIp6) + 4 * i, destPort);
  o.Lit("\",\"duration\":");
  if (!Seconds(o, endUs - startUs)) return false;
  o.Lit(",\"bytesTx\":");
  if (!Integer(o, b.Col<double>(kBytesTx)[i])) return false;
  o.Lit(",\"bytesRx\":");
  if (!Integer(o, b.Col<double>(kBytesRx)[i])) return false;
  o.Lit(",\"startedAt\":");
  if (!Seconds(o, startUs)) return false;
  o.Lit(",\"endedAt\":");
  if (!Seconds(o, endUs)) return false;
  o.Lit(",\"packetsTx\":");
  if (!Integer(o, b.Col<double>(kPacketsTx)[i])) return false;
  o.Lit(",\"packetsRx\":");
  if (!Integer(o, b.Col<double>(kPacketsRx)[i])) return false;
  o.Lit(",\"missedBytesTx\":");
  if (!Integer(o, b.Col<double>(kMissedTx)[i])) return false;
  o.Lit(",\"missedBytesRx\":");
  if (!Integer(o, b.Col<double>(kMissedRx)[i])) return false;
  const uint8_t state = b.Col<uint8_t>(kState)[i];
  if (state >= Count(kStates)) return false;
  o.Lit(",\"state\":\"");
  o.Str(kStates[state]);
  o.Lit("\",\"history\":\"");
  const unsigned historyLength = b.Col<uint8_t>(kHistoryLength)[i];
  if (historyLength > kHistoryMax) return false;
  const uint8_t* codes = b.Col<uint8_t>(kHistoryCodes) + kHistoryMax * i;
  for (unsigned h = 0; h < historyLength; h++) {
    const unsigned event = codes[h] >> 1;
    if (event >= sizeof(kHistoryLetters) - 1) return false;
    char c = kHistoryLetters[event];
    if ((codes[h] & 1) != 0 && c != '^') c = static_cast<char>(c - 'A' + 'a');
    *o.p++ = static_cast<uint8_t>(c);
  }
  const uint8_t reason = b.Col<uint8_t>(kEndReason)[i];
  if (reason == kStillOpen) {
    o.Lit("\",\"endReason\":null,\"sessionId\":\"");
  } else {
    if (reason >= Count(kEndReasons)) return false;
    o.Lit("\",\"endReason\":\"");
    o.Str(kEndReasons[reason]);
    o.Lit("\",\"sessionId\":\"");
  }
  o.Hex32(b.Col<uint32_t>(kSessionHi)[i]);
  o.Hex32(b.Col<uint32_t>(kSessionLo)[i]);
  if (generation >= 0) o.Put(reinterpret_cast<const char*>(id.orgEnd), id.orgEndLength);
  else o.Lit("\",\"orgId\":null,\"siteId\":null}\n");
  return true;
}

// encode(columns: Uint8Array, layout: Int32Array, from, to, out: Uint8Array, state: Float64Array,
//        identity: [clientIds, resourceIds, userJson, userJsonEnd, orgEnd, generation] | null)
// Writes rows [from, to) of the batch at out[state[0]...] until one it cannot: returns the rows
// written; state[0] is the new end of the bytes in `out`, state[1] why it stopped (kStop*).
Napi::Value Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 7 || !info[0].IsTypedArray() || !info[1].IsTypedArray() || !info[4].IsTypedArray() || !info[5].IsTypedArray()) {
    Napi::TypeError::New(env, "encode(columns, layout, from, to, out, state, identity)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (info[1].As<Napi::Int32Array>().ElementLength() < kColumns) {
    Napi::TypeError::New(env, "encode: the layout names fewer columns than this addon reads").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Batch b{netlog::Data<uint8_t>(info[0]), netlog::Data<int32_t>(info[1])};
  const int from = info[2].As<Napi::Number>().Int32Value();
  const int to = info[3].As<Napi::Number>().Int32Value();
  uint8_t* out = netlog::Data<uint8_t>(info[4]);
  const size_t outLength = info[4].As<Napi::TypedArray>().ByteLength();
  double* state = netlog::Data<double>(info[5]);
  Identity id;
  if (info[6].IsArray()) {
    Napi::Array a = info[6].As<Napi::Array>();
    Napi::Value clientIds = a.Get(0u), resourceIds = a.Get(1u), userJson = a.Get(2u), userJsonEnd = a.Get(3u), orgEnd = a.Get(4u);
    if (!clientIds.IsTypedArray() || !resourceIds.IsTypedArray() || !userJson.IsTypedArray() || !userJsonEnd.IsTypedArray() || !orgEnd.IsTypedArray() ||
        userJsonEnd.As<Napi::TypedArray>().ElementLength() != clientIds.As<Napi::TypedArray>().ElementLength()) {
      Napi::TypeError::New(env, "encode: identity is [clientIds, resourceIds, userJson, userJsonEnd, orgEnd, generation]").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    id.clientIds = netlog::Data<double>(clientIds);
    id.clients = clientIds.As<Napi::TypedArray>().ElementLength();
    id.resourceIds = netlog::Data<double>(resourceIds);
    id.resources = resourceIds.As<Napi::TypedArray>().ElementLength();
    id.userJson = netlog::Data<uint8_t>(userJson);
    id.userJsonEnd = netlog::Data<int32_t>(userJsonEnd);
    id.orgEnd = netlog::Data<uint8_t>(orgEnd);
    id.orgEndLength = orgEnd.As<Napi::TypedArray>().ByteLength();
    id.generation = a.Get(5u).As<Napi::Number>().Int32Value();
  }
  size_t at = static_cast<size_t>(state[0]);
  double stop = kStopDone;
  int i = from;
  for (; i < to; i++) {
    // Room for the row: its fixed parts (ids' numbers among them), the org's and the user's text.
    const size_t need = kRowRoom + id.orgEndLength + id.UserLength(b.Col<int32_t>(kIdClient)[i]);
    if (at + need > outLength) {
      stop = kStopFull;
      break;
    }
    Out o{out + at};
    if (!Row(o, b, i, id)) {
      stop = kStopRowJs;
      break;
    }
    at = static_cast<size_t>(o.p - out);
  }
  state[0] = static_cast<double>(at);
  state[1] = stop;
  return Napi::Number::New(env, i - from);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  for (int i = 0; i < 100; i++) {
    kDigitPairs[2 * i] = static_cast<char>('0' + i / 10);
    kDigitPairs[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  exports.Set("encode", Napi::Function::New(env, Encode));
  // What this code takes for granted about the batches and the record, for TypeScript to check.
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("columns", Napi::Number::New(env, kColumns));
  layout.Set("historyMax", Napi::Number::New(env, kHistoryMax));
  layout.Set("stillOpen", Napi::Number::New(env, kStillOpen));
  layout.Set("rowIpv4", Napi::Number::New(env, kRowIpv4));
  layout.Set("rowIpv6", Napi::Number::New(env, kRowIpv6));
  layout.Set("microsExact", Napi::Number::New(env, kMicrosExact));
  layout.Set("historyLetters", Napi::String::New(env, kHistoryLetters));
  const auto names = [&](const char* const* list, size_t n) {
    Napi::Array a = Napi::Array::New(env, n);
    for (size_t i = 0; i < n; i++) a.Set(static_cast<uint32_t>(i), list[i]);
    return a;
  };
  layout.Set("protocols", names(kProtocols, Count(kProtocols)));
  layout.Set("states", names(kStates, Count(kStates)));
  layout.Set("endReasons", names(kEndReasons, Count(kEndReasons)));
  exports.Set("layout", layout);
  return exports;
}

}  // namespace

NODE_API_MODULE(netlog_json, Init)
