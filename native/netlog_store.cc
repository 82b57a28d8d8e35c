// The store's scan of session batches (src/store/native-scan.ts): a DuckDB table function whose
// rows are the hot table's, made on DuckDB's own thread straight from the batches' typed arrays.
//
// Why native: the JavaScript scan (session-chunk.ts, SessionRowsScan) fills each 2,048-row
// chunk on the thread that runs a replay's flow table, so DuckDB's INSERT waited for that
// thread 60 times a row group and the thread spent ~16 ms a group filling. Here DuckDB fills its
// chunks itself, and the hot row's casts and times (hotRow's SQL) are made as it copies.
//
// DuckDB is reached through its C API in the libduckdb.so that @duckdb/node-bindings loaded
// (found among the loaded objects, so both use one copy of DuckDB), and the connection through
// the bindings' external, checked by its type tag. Text (identity, rows made from records)
// comes from JavaScript as one UTF-8 arena a write and a slot a row and column.
#include <dlfcn.h>
#include <link.h>
#include <napi.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "typed_array.h"

namespace {

// ---- The part of DuckDB's C API (duckdb.h, a stable ABI) this file uses.
typedef uint64_t idx_t;
typedef struct _duckdb_connection* duckdb_connection;
typedef struct _duckdb_logical_type* duckdb_logical_type;
typedef struct _duckdb_table_function* duckdb_table_function;
typedef struct _duckdb_bind_info* duckdb_bind_info;
typedef struct _duckdb_init_info* duckdb_init_info;
typedef struct _duckdb_function_info* duckdb_function_info;
typedef struct _duckdb_data_chunk* duckdb_data_chunk;
typedef struct _duckdb_vector* duckdb_vector;
typedef void (*delete_callback_t)(void*);
enum DuckType : int32_t {
  kUinteger = 8, kUsmallint = 7, kUbigint = 9, kInteger = 4, kBigint = 5, kDouble = 11, kTimestamp = 12, kVarchar = 17,
};

struct Api {
  duckdb_table_function (*create_table_function)();
  void (*destroy_table_function)(duckdb_table_function*);
  void (*table_function_set_name)(duckdb_table_function, const char*);
  void (*table_function_set_extra_info)(duckdb_table_function, void*, delete_callback_t);
  void (*table_function_set_bind)(duckdb_table_function, void (*)(duckdb_bind_info));
  void (*table_function_set_init)(duckdb_table_function, void (*)(duckdb_init_info));
  void (*table_function_set_function)(duckdb_table_function, void (*)(duckdb_function_info, duckdb_data_chunk));
  int (*register_table_function)(duckdb_connection, duckdb_table_function);
  void (*bind_add_result_column)(duckdb_bind_info, const char*, duckdb_logical_type);
  void* (*bind_get_extra_info)(duckdb_bind_info);
  void (*init_set_max_threads)(duckdb_init_info, idx_t);
  void* (*function_get_extra_info)(duckdb_function_info);
  void (*function_set_error)(duckdb_function_info, const char*);
  duckdb_logical_type (*create_logical_type)(int32_t);
  duckdb_logical_type (*create_enum_type)(const char**, idx_t);
  void (*destroy_logical_type)(duckdb_logical_type*);
  duckdb_vector (*data_chunk_get_vector)(duckdb_data_chunk, idx_t);
  void (*data_chunk_set_size)(duckdb_data_chunk, idx_t);
  void* (*vector_get_data)(duckdb_vector);
  uint64_t* (*vector_get_validity)(duckdb_vector);
  void (*vector_ensure_validity_writable)(duckdb_vector);
  void (*vector_assign_string_element_len)(duckdb_vector, idx_t, const char*, idx_t);
};

Api api;
bool apiLoaded = false;
std::string apiError;

// The libduckdb.so already loaded in this process (by @duckdb/node-bindings).
int FindDuckdb(struct dl_phdr_info* info, size_t, void* out) {
  const char* name = info->dlpi_name;
  const size_t n = name ? std::strlen(name) : 0;
  static const char kFile[] = "/libduckdb.so";
  if (n >= sizeof(kFile) - 1 && std::strcmp(name + n - (sizeof(kFile) - 1), kFile) == 0) {
    *static_cast<std::string*>(out) = name;
    return 1;
  }
  return 0;
}

bool LoadApi() {
  if (apiLoaded) return true;
  std::string path;
  dl_iterate_phdr(FindDuckdb, &path);
  if (path.empty()) {
    apiError = "libduckdb.so is not loaded (load @duckdb/node-bindings first)";
    return false;
  }
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (lib == nullptr) {
    apiError = std::string("cannot open ") + path;
    return false;
  }
  bool ok = true;
  const auto get = [&](auto& fn, const char* name) {
    void* p = dlsym(lib, name);
    if (p == nullptr) {
      ok = false;
      apiError = std::string(path) + " has no " + name;
    }
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
  };
  get(api.create_table_function, "duckdb_create_table_function");
  get(api.destroy_table_function, "duckdb_destroy_table_function");
  get(api.table_function_set_name, "duckdb_table_function_set_name");
  get(api.table_function_set_extra_info, "duckdb_table_function_set_extra_info");
  get(api.table_function_set_bind, "duckdb_table_function_set_bind");
  get(api.table_function_set_init, "duckdb_table_function_set_init");
  get(api.table_function_set_function, "duckdb_table_function_set_function");
  get(api.register_table_function, "duckdb_register_table_function");
  get(api.bind_add_result_column, "duckdb_bind_add_result_column");
  get(api.bind_get_extra_info, "duckdb_bind_get_extra_info");
  get(api.init_set_max_threads, "duckdb_init_set_max_threads");
  get(api.function_get_extra_info, "duckdb_function_get_extra_info");
  get(api.function_set_error, "duckdb_function_set_error");
  get(api.create_logical_type, "duckdb_create_logical_type");
  get(api.create_enum_type, "duckdb_create_enum_type");
  get(api.destroy_logical_type, "duckdb_destroy_logical_type");
  get(api.data_chunk_get_vector, "duckdb_data_chunk_get_vector");
  get(api.data_chunk_set_size, "duckdb_data_chunk_set_size");
  get(api.vector_get_data, "duckdb_vector_get_data");
  get(api.vector_get_validity, "duckdb_vector_get_validity");
  get(api.vector_ensure_validity_writable, "duckdb_vector_ensure_validity_writable");
  get(api.vector_assign_string_element_len, "duckdb_vector_assign_string_element_len");
  apiLoaded = ok;
  return ok;
}

// @duckdb/node-bindings' type tag of a connection external (its duckdb_node_bindings.cpp, which
// holds a duckdb_connection_holder there: { duckdb_connection connection; }). The tag says
// whose external it is, not how the holder is laid out, so package.json pins the bindings'
// version exactly: before moving it, check that holder in the new version's source
// (test/native-scan.test.ts writes through this path and would fail, or hang, if it changed).
const napi_type_tag kConnectionTag = {0x922B9BF54AB04DFC, 0x8A258578D371DB71};

// ---- The batches: numeric columns at offsets into one buffer (session-batch.ts).
enum Column {
  kStartUs, kEndUs, kBytesTx, kBytesRx, kPacketsTx, kPacketsRx, kMissedTx, kMissedRx,
  kSiteResourceId, kClientId, kSiteId,
  kSourceIp4, kDestIp4, kSourceIp6, kDestIp6, kSessionHi, kSessionLo,
  kSourcePort, kDestPort, kProtocol, kState, kEndReason, kRowKind, kHistoryLength, kHistoryCodes,
  kColumns
};
// Text columns, in the order of a batch's text slots (native-scan.ts TEXT_COLUMNS).
enum Text { kUserId, kSourceText, kDestText, kHistoryText, kSessionIdText, kOrgId, kTexts };

constexpr uint8_t kRowIpv6 = 2;
constexpr int kHistoryMax = 18;
constexpr uint8_t kStillOpen = 255;
constexpr idx_t kVectorSize = 2048;  // DuckDB's STANDARD_VECTOR_SIZE, a chunk's capacity

// The hot table's columns (session-chunk.ts CREATE_HOT_TABLE), in its order.
enum Out {
  oTimestamp, oProtocol, oSiteResourceId, oClientId, oUserId, oSourceIp4, oSourcePort, oSourceText,
  oDestIp4, oDestPort, oDestText, oDuration, oBytesTx, oBytesRx, oStartedAt, oEndedAt,
  oPacketsTx, oPacketsRx, oMissedTx, oMissedRx, oState, oHistory, oEndReason,
  oSessionHi, oSessionLo, oSessionIdText, oOrgId, oSiteId,
  oSourceIp6Hi, oSourceIp6Lo, oDestIp6Hi, oDestIp6Lo, kOuts
};

struct Batch {
  const uint8_t* numeric;
  const int32_t* layout;  // byte offsets of Column in `numeric`
  const int32_t* texts;   // kTexts * capacity slots (-1: none), or null: no text at all
  int32_t capacity;
  int32_t length;
  template <typename T>
  const T* Col(Column c) const {
    return reinterpret_cast<const T*>(numeric + layout[c]);
  }
};

// One scan: what its function was registered with, and the write in progress.
struct Scan {
  std::vector<std::string> names;
  std::vector<std::vector<std::string>> enums;  // protocol, state, endReason members
  char letters[kHistoryMax];
  std::vector<Batch> batches;
  const uint8_t* arena = nullptr;
  const int32_t* slots = nullptr;  // (offset, length) in `arena` by slot
  std::atomic<size_t> next{0};
};

// Owned by JavaScript's handle and by DuckDB's function: each holds a reference.
struct ScanRef {
  std::shared_ptr<Scan> scan;
};

duckdb_logical_type TypeOf(const Scan& s, int out) {
  switch (out) {
    case oTimestamp: case oBytesTx: case oBytesRx: case oPacketsTx: case oPacketsRx: case oMissedTx: case oMissedRx:
      return api.create_logical_type(kBigint);
    case oSiteResourceId: case oClientId: case oSiteId:
      return api.create_logical_type(kInteger);
    case oSourceIp4: case oDestIp4: case oSessionHi: case oSessionLo:
      return api.create_logical_type(kUinteger);
    case oSourcePort: case oDestPort:
      return api.create_logical_type(kUsmallint);
    case oDuration:
      return api.create_logical_type(kDouble);
    case oStartedAt: case oEndedAt:
      return api.create_logical_type(kTimestamp);
    case oSourceIp6Hi: case oSourceIp6Lo: case oDestIp6Hi: case oDestIp6Lo:
      return api.create_logical_type(kUbigint);
    case oProtocol: case oState: case oEndReason: {
      const auto& members = s.enums[out == oProtocol ? 0 : out == oState ? 1 : 2];
      std::vector<const char*> names;
      for (const auto& m : members) names.push_back(m.c_str());
      return api.create_enum_type(names.data(), names.size());
    }
    default:
      return api.create_logical_type(kVarchar);
  }
}

void Bind(duckdb_bind_info info) {
  const Scan& s = *static_cast<ScanRef*>(api.bind_get_extra_info(info))->scan;
  for (int o = 0; o < kOuts; o++) {
    duckdb_logical_type t = TypeOf(s, o);
    api.bind_add_result_column(info, s.names[o].c_str(), t);
    api.destroy_logical_type(&t);
  }
}

void Init(duckdb_init_info info) {
  // Batches are independent: DuckDB's threads may each take some.
  api.init_set_max_threads(info, 64);
}

// Validity as DuckDB keeps it: bit i of word i / 64, set when row i is valid.
struct Validity {
  uint64_t* bits;
  explicit Validity(duckdb_vector v) {
    api.vector_ensure_validity_writable(v);
    bits = api.vector_get_validity(v);
  }
  void Set(int i, bool valid) {
    const uint64_t bit = uint64_t(1) << (i & 63);
    if (valid) bits[i >> 6] |= bit;
    else bits[i >> 6] &= ~bit;
  }
};

template <typename T>
T* DataOf(duckdb_data_chunk chunk, int o) {
  return static_cast<T*>(api.vector_get_data(api.data_chunk_get_vector(chunk, o)));
}

// A float64 column that holds integers, as BIGINT (as `::BIGINT` would: NaN is refused).
bool Int64Column(duckdb_data_chunk chunk, int o, const double* in, int n) {
  int64_t* out = DataOf<int64_t>(chunk, o);
  for (int i = 0; i < n; i++) {
    const double v = in[i];
    if (!(v >= -9.2e18 && v <= 9.2e18)) return false;
    out[i] = static_cast<int64_t>(std::nearbyint(v));
  }
  return true;
}

// A nullable float64 id column (NaN: null) as INTEGER.
bool Int32Column(duckdb_data_chunk chunk, int o, const double* in, int n) {
  duckdb_vector v = api.data_chunk_get_vector(chunk, o);
  int32_t* out = static_cast<int32_t*>(api.vector_get_data(v));
  Validity valid(v);
  for (int i = 0; i < n; i++) {
    const double x = in[i];
    const bool ok = x == x;
    if (ok && !(x >= -2147483648.0 && x <= 2147483647.0)) return false;
    out[i] = ok ? static_cast<int32_t>(std::nearbyint(x)) : 0;
    valid.Set(i, ok);
  }
  return true;
}

template <typename T>
void Copy(duckdb_data_chunk chunk, int o, const T* in, int n) {
  std::memcpy(DataOf<T>(chunk, o), in, sizeof(T) * n);
}

void TextColumn(const Scan& s, duckdb_data_chunk chunk, int o, const Batch& b, Text t) {
  duckdb_vector v = api.data_chunk_get_vector(chunk, o);
  Validity valid(v);
  const int32_t* slots = b.texts == nullptr ? nullptr : b.texts + size_t(t) * b.capacity;
  for (int i = 0; i < b.length; i++) {
    const int32_t slot = slots == nullptr ? -1 : slots[i];
    if (slot < 0) {
      valid.Set(i, false);
      continue;
    }
    valid.Set(i, true);
    api.vector_assign_string_element_len(v, i, reinterpret_cast<const char*>(s.arena) + s.slots[2 * slot], s.slots[2 * slot + 1]);
  }
}

// Fills `chunk` with batch `b`'s rows; false (with `error` set) for a row it cannot store.
bool Fill(const Scan& s, const Batch& b, duckdb_data_chunk chunk, const char*& error) {
  const int n = b.length;
  const double* start = b.Col<double>(kStartUs);
  const double* end = b.Col<double>(kEndUs);
  error = "a session's counters or start are not whole numbers in range";
  {
    int64_t* ts = DataOf<int64_t>(chunk, oTimestamp);
    int64_t* at = DataOf<int64_t>(chunk, oStartedAt);
    for (int i = 0; i < n; i++) {
      const double us = start[i];
      if (!(us >= -9.2e18 && us <= 9.2e18)) return false;
      ts[i] = static_cast<int64_t>(std::floor(us / 1e6));
      at[i] = static_cast<int64_t>(std::nearbyint(us));
    }
  }
  {
    duckdb_vector dv = api.data_chunk_get_vector(chunk, oDuration);
    duckdb_vector ev = api.data_chunk_get_vector(chunk, oEndedAt);
    double* duration = static_cast<double*>(api.vector_get_data(dv));
    int64_t* ended = static_cast<int64_t*>(api.vector_get_data(ev));
    Validity dValid(dv), eValid(ev);
    for (int i = 0; i < n; i++) {
      const double us = end[i];
      const bool open = us != us;
      if (!open && !(us >= -9.2e18 && us <= 9.2e18)) return false;
      duration[i] = open ? 0 : (us - start[i]) / 1e6;
      ended[i] = open ? 0 : static_cast<int64_t>(std::nearbyint(us));
      dValid.Set(i, !open);
      eValid.Set(i, !open);
    }
  }
  if (!Int64Column(chunk, oBytesTx, b.Col<double>(kBytesTx), n) || !Int64Column(chunk, oBytesRx, b.Col<double>(kBytesRx), n) ||
      !Int64Column(chunk, oPacketsTx, b.Col<double>(kPacketsTx), n) || !Int64Column(chunk, oPacketsRx, b.Col<double>(kPacketsRx), n) ||
      !Int64Column(chunk, oMissedTx, b.Col<double>(kMissedTx), n) || !Int64Column(chunk, oMissedRx, b.Col<double>(kMissedRx), n))
    return false;
  error = "a session's ids are not integers in range";
  if (!Int32Column(chunk, oSiteResourceId, b.Col<double>(kSiteResourceId), n) || !Int32Column(chunk, oClientId, b.Col<double>(kClientId), n) ||
      !Int32Column(chunk, oSiteId, b.Col<double>(kSiteId), n))
    return false;
  Copy(chunk, oSourceIp4, b.Col<uint32_t>(kSourceIp4), n);
  Copy(chunk, oDestIp4, b.Col<uint32_t>(kDestIp4), n);
  Copy(chunk, oSourcePort, b.Col<uint16_t>(kSourcePort), n);
  Copy(chunk, oDestPort, b.Col<uint16_t>(kDestPort), n);
  Copy(chunk, oSessionHi, b.Col<uint32_t>(kSessionHi), n);
  Copy(chunk, oSessionLo, b.Col<uint32_t>(kSessionLo), n);
  error = "a session's protocol, state or end reason is not one the store knows";
  const auto enumColumn = [&](int o, Column c, size_t members, bool nullable) {
    duckdb_vector v = api.data_chunk_get_vector(chunk, o);
    uint8_t* out = static_cast<uint8_t*>(api.vector_get_data(v));
    const uint8_t* in = b.Col<uint8_t>(c);
    if (!nullable) {
      for (int i = 0; i < n; i++) if (in[i] >= members) return false;
      std::memcpy(out, in, n);
      return true;
    }
    Validity valid(v);
    for (int i = 0; i < n; i++) {
      const bool open = in[i] == kStillOpen;
      if (!open && in[i] >= members) return false;
      out[i] = open ? 0 : in[i];
      valid.Set(i, !open);
    }
    return true;
  };
  if (!enumColumn(oProtocol, kProtocol, s.enums[0].size(), false) || !enumColumn(oState, kState, s.enums[1].size(), false) ||
      !enumColumn(oEndReason, kEndReason, s.enums[2].size(), true))
    return false;
  {
    // IPv6 endpoints (rowKind): each half a 64-bit number, its first word the higher.
    const uint8_t* kind = b.Col<uint8_t>(kRowKind);
    const Column words[2] = {kSourceIp6, kDestIp6};
    for (int e = 0; e < 2; e++) {
      const uint32_t* w = b.Col<uint32_t>(words[e]);
      duckdb_vector hv = api.data_chunk_get_vector(chunk, e == 0 ? oSourceIp6Hi : oDestIp6Hi);
      duckdb_vector lv = api.data_chunk_get_vector(chunk, e == 0 ? oSourceIp6Lo : oDestIp6Lo);
      uint64_t* hi = static_cast<uint64_t*>(api.vector_get_data(hv));
      uint64_t* lo = static_cast<uint64_t*>(api.vector_get_data(lv));
      Validity hValid(hv), lValid(lv);
      for (int i = 0; i < n; i++) {
        const bool v6 = kind[i] == kRowIpv6;
        hi[i] = v6 ? (uint64_t(w[4 * i]) << 32) | w[4 * i + 1] : 0;
        lo[i] = v6 ? (uint64_t(w[4 * i + 2]) << 32) | w[4 * i + 3] : 0;
        hValid.Set(i, v6);
        lValid.Set(i, v6);
      }
    }
  }
  TextColumn(s, chunk, oUserId, b, kUserId);
  TextColumn(s, chunk, oSourceText, b, kSourceText);
  TextColumn(s, chunk, oDestText, b, kDestText);
  TextColumn(s, chunk, oSessionIdText, b, kSessionIdText);
  TextColumn(s, chunk, oOrgId, b, kOrgId);
  {
    // History: a row with a text slot has its text (rows made from records); any other, the
    // letters of its codes, as the flow table wrote them.
    error = "a session's history holds a code the store does not know";
    duckdb_vector v = api.data_chunk_get_vector(chunk, oHistory);
    const int32_t* slots = b.texts == nullptr ? nullptr : b.texts + size_t(kHistoryText) * b.capacity;
    const uint8_t* length = b.Col<uint8_t>(kHistoryLength);
    const uint8_t* codes = b.Col<uint8_t>(kHistoryCodes);
    char letters[kHistoryMax];
    for (int i = 0; i < n; i++) {
      const int32_t slot = slots == nullptr ? -1 : slots[i];
      if (slot >= 0) {
        api.vector_assign_string_element_len(v, i, reinterpret_cast<const char*>(s.arena) + s.slots[2 * slot], s.slots[2 * slot + 1]);
        continue;
      }
      const unsigned len = length[i];
      if (len > kHistoryMax) return false;
      for (unsigned h = 0; h < len; h++) {
        const uint8_t c = codes[kHistoryMax * i + h];
        if (c >= kHistoryMax) return false;
        letters[h] = s.letters[c];
      }
      api.vector_assign_string_element_len(v, i, letters, len);
    }
  }
  api.data_chunk_set_size(chunk, n);
  return true;
}

void Produce(duckdb_function_info info, duckdb_data_chunk output) {
  Scan& s = *static_cast<ScanRef*>(api.function_get_extra_info(info))->scan;
  for (;;) {
    const size_t k = s.next.fetch_add(1);
    if (k >= s.batches.size()) {
      api.data_chunk_set_size(output, 0);
      return;
    }
    const Batch& b = s.batches[k];
    if (b.length == 0) continue;  // a chunk of no rows would end the scan
    const char* error = nullptr;
    if (!Fill(s, b, output, error)) {
      api.function_set_error(info, error);
      api.data_chunk_set_size(output, 0);
    }
    return;
  }
}

void DeleteRef(void* p) { delete static_cast<ScanRef*>(p); }

std::vector<std::string> Strings(const Napi::Value& v) {
  std::vector<std::string> out;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  return out;
}

// register(connection, name, columnNames, [protocols, states, endReasons], historyLetters):
// registers the scan's table function on the connection; returns its handle.
Napi::Value Register(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!LoadApi()) {
    Napi::Error::New(env, apiError).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  bool tagged = false;
  if (info.Length() < 5 || !info[0].IsExternal() || napi_check_object_type_tag(env, info[0], &kConnectionTag, &tagged) != napi_ok || !tagged) {
    Napi::TypeError::New(env, "register: the first argument is not a @duckdb/node-bindings connection").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // The external holds the bindings' duckdb_connection_holder, whose first member is the
  // connection (null once closed).
  const duckdb_connection connection = *static_cast<duckdb_connection*>(info[0].As<Napi::External<void>>().Data());
  if (connection == nullptr) {
    Napi::Error::New(env, "register: the connection is closed").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto scan = std::make_shared<Scan>();
  const std::string name = info[1].As<Napi::String>().Utf8Value();
  scan->names = Strings(info[2]);
  Napi::Array enums = info[3].As<Napi::Array>();
  for (uint32_t i = 0; i < 3; i++) scan->enums.push_back(Strings(enums.Get(i)));
  const std::string letters = info[4].As<Napi::String>().Utf8Value();
  if (scan->names.size() != kOuts || letters.size() != kHistoryMax) {
    Napi::TypeError::New(env, "register: the columns or history letters are not this addon's").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::memcpy(scan->letters, letters.data(), kHistoryMax);
  duckdb_table_function f = api.create_table_function();
  api.table_function_set_name(f, name.c_str());
  api.table_function_set_extra_info(f, new ScanRef{scan}, DeleteRef);
  api.table_function_set_bind(f, Bind);
  api.table_function_set_init(f, Init);
  api.table_function_set_function(f, Produce);
  const int state = api.register_table_function(connection, f);
  api.destroy_table_function(&f);
  if (state != 0) {
    Napi::Error::New(env, "register: DuckDB refused the table function " + name).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* ref = new ScanRef{scan};
  return Napi::External<ScanRef>::New(env, ref, [](Napi::Env, ScanRef* r) { delete r; });
}

// Bytes a row takes in each Column, for load()'s bounds.
constexpr int kRowBytes[kColumns] = {8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 4, 4, 16, 16, 4, 4, 2, 2, 1, 1, 1, 1, 1, kHistoryMax};

// load(handle, numerics[], layouts[], lengths, texts[], arena, slots, slotCount): the batches
// the next scan reads. JavaScript keeps every array alive, unchanged, until clear(). Everything
// the scan will read is checked to lie inside the arrays given, so a wrong call is an error
// here, never a read past an array on DuckDB's thread.
Napi::Value Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto fail = [&](const char* what) {
    Napi::RangeError::New(env, std::string("load: ") + what).ThrowAsJavaScriptException();
    return env.Undefined();
  };
  if (info.Length() < 8 || !info[0].IsExternal() || !info[1].IsArray() || !info[2].IsArray() || !info[3].IsTypedArray() || !info[4].IsArray() ||
      !info[5].IsTypedArray() || !info[6].IsTypedArray() || !info[7].IsNumber())
    return fail("(handle, numerics, layouts, lengths, texts, arena, slots, slotCount)");
  Scan& s = *info[0].As<Napi::External<ScanRef>>().Data()->scan;
  Napi::Array numerics = info[1].As<Napi::Array>();
  Napi::Array layouts = info[2].As<Napi::Array>();
  Napi::Array texts = info[4].As<Napi::Array>();
  const uint32_t n = numerics.Length();
  if (layouts.Length() != n || texts.Length() != n || info[3].As<Napi::TypedArray>().ElementLength() < 2 * size_t(n))
    return fail("a batch's layout, length or text is missing");
  const int32_t* lengths = netlog::Data<int32_t>(info[3]);
  const size_t arenaBytes = info[5].As<Napi::TypedArray>().ByteLength();
  const int32_t* slots = netlog::Data<int32_t>(info[6]);
  const int64_t slotCount = info[7].As<Napi::Number>().Int64Value();
  if (slotCount < 0 || size_t(2 * slotCount) > info[6].As<Napi::TypedArray>().ElementLength()) return fail("more slots than the slot table holds");
  for (int64_t k = 0; k < slotCount; k++) {
    const int64_t at = slots[2 * k], length = slots[2 * k + 1];
    if (at < 0 || length < 0 || size_t(at + length) > arenaBytes) return fail("a text slot lies outside the arena");
  }
  std::vector<Batch> batches;
  for (uint32_t i = 0; i < n; i++) {
    Napi::Value numeric = numerics.Get(i), layout = layouts.Get(i), text = texts.Get(i);
    if (!numeric.IsTypedArray() || !layout.IsTypedArray() || layout.As<Napi::TypedArray>().ElementLength() < kColumns)
      return fail("a batch's layout is not this addon's");
    Batch b{};
    b.numeric = netlog::Data<uint8_t>(numeric);
    b.layout = netlog::Data<int32_t>(layout);
    b.capacity = lengths[2 * i];
    b.length = lengths[2 * i + 1];
    if (b.length < 0 || b.length > b.capacity || idx_t(b.length) > kVectorSize) return fail("a batch is larger than a chunk");
    const size_t bytes = numeric.As<Napi::TypedArray>().ByteLength();
    for (int c = 0; c < kColumns; c++) {
      if (b.layout[c] < 0 || size_t(b.layout[c]) + size_t(kRowBytes[c]) * b.capacity > bytes) return fail("a batch's column lies outside its buffer");
    }
    if (text.IsTypedArray()) {
      if (text.As<Napi::TypedArray>().ElementLength() < size_t(kTexts) * b.capacity) return fail("a batch's text slots are fewer than its rows");
      b.texts = netlog::Data<int32_t>(text);
      for (int t = 0; t < kTexts; t++) {
        for (int r = 0; r < b.length; r++) {
          const int32_t slot = b.texts[size_t(t) * b.capacity + r];
          if (slot < -1 || slot >= slotCount) return fail("a row's text slot is not in the slot table");
        }
      }
    } else if (!text.IsNull()) {
      return fail("a batch's text slots are neither an Int32Array nor null");
    }
    batches.push_back(b);
  }
  s.batches = std::move(batches);
  s.arena = netlog::Data<uint8_t>(info[5]);
  s.slots = slots;
  s.next.store(0);
  return env.Undefined();
}

Napi::Value Clear(const Napi::CallbackInfo& info) {
  Scan& s = *info[0].As<Napi::External<ScanRef>>().Data()->scan;
  s.batches.clear();
  s.arena = nullptr;
  s.slots = nullptr;
  s.next.store(0);
  return info.Env().Undefined();
}

Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  exports.Set("register", Napi::Function::New(env, Register));
  exports.Set("load", Napi::Function::New(env, Load));
  exports.Set("clear", Napi::Function::New(env, Clear));
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("columns", Napi::Number::New(env, kColumns));
  layout.Set("texts", Napi::Number::New(env, kTexts));
  layout.Set("outputs", Napi::Number::New(env, kOuts));
  layout.Set("historyMax", Napi::Number::New(env, kHistoryMax));
  layout.Set("stillOpen", Napi::Number::New(env, kStillOpen));
  layout.Set("rowIpv6", Napi::Number::New(env, kRowIpv6));
  layout.Set("vectorSize", Napi::Number::New(env, double(kVectorSize)));
  exports.Set("layout", layout);
  return exports;
}

}  // namespace

NODE_API_MODULE(netlog_store, InitAddon)
