// netlog's live-capture binding: a thin layer over libpcap that hands JavaScript packets in
// batches. All logic stays in TypeScript; this file only opens a handle, sets a filter, copies
// up to a buffer's worth of packets per call with their pcap headers, and reports statistics.
//
// dispatch(buffer) fills `buffer` with records [ts_sec u32][ts_usec u32][caplen u32][len u32]
// [data, padded to 4] (host byte order, as a classic pcap record) and returns the number of
// packets; it never blocks (the handle is non-blocking). One call per batch, not per packet.
#include <napi.h>
#include <pcap/pcap.h>
#include <cstring>
#include <string>

namespace {

struct Handle {
  pcap_t* p = nullptr;
};

struct Fill {
  uint8_t* out;
  size_t capacity;
  size_t used;
  uint32_t packets;
  bool full;
};

void OnPacket(u_char* user, const struct pcap_pkthdr* h, const u_char* bytes) {
  Fill* f = reinterpret_cast<Fill*>(user);
  size_t padded = (h->caplen + 3u) & ~size_t(3);
  if (f->used + 16 + padded > f->capacity) {
    // Cannot happen: dispatch asks for at most as many packets as fit a full snaplen each.
    f->full = true;
    return;
  }
  uint32_t hdr[4] = {uint32_t(h->ts.tv_sec), uint32_t(h->ts.tv_usec), h->caplen, h->len};
  std::memcpy(f->out + f->used, hdr, 16);
  std::memcpy(f->out + f->used + 16, bytes, h->caplen);
  f->used += 16 + padded;
  f->packets++;
}

void Finalize(Napi::Env, Handle* h) {
  if (h->p) pcap_close(h->p);
  delete h;
}

Handle* Unwrap(const Napi::CallbackInfo& info) {
  return info[0].As<Napi::External<Handle>>().Data();
}

Napi::Value Fail(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

// open(device, snaplen, promisc, bufferBytes, immediate) -> { handle, linkType, snaplen }
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string device = info[0].As<Napi::String>();
  int snaplen = info[1].As<Napi::Number>().Int32Value();
  bool promisc = info[2].As<Napi::Boolean>();
  int bufferBytes = info[3].As<Napi::Number>().Int32Value();
  bool immediate = info[4].As<Napi::Boolean>();
  char err[PCAP_ERRBUF_SIZE] = {0};
  pcap_t* p = pcap_create(device.c_str(), err);
  if (!p) return Fail(env, "ERR_CAPTURE_OPEN", err);
  pcap_set_snaplen(p, snaplen);
  pcap_set_promisc(p, promisc ? 1 : 0);
  pcap_set_timeout(p, 10);
  if (bufferBytes > 0) pcap_set_buffer_size(p, bufferBytes);
  pcap_set_immediate_mode(p, immediate ? 1 : 0);
  // Kernel timestamps, microseconds (the pcap header's precision).
  int rc = pcap_activate(p);
  if (rc < 0) {
    std::string m = rc == PCAP_ERROR ? pcap_geterr(p) : pcap_statustostr(rc);
    pcap_close(p);
    return Fail(env, "ERR_CAPTURE_OPEN", device + ": " + m);
  }
  if (pcap_setnonblock(p, 1, err) < 0) {
    pcap_close(p);
    return Fail(env, "ERR_CAPTURE_OPEN", device + ": " + err);
  }
  Handle* h = new Handle{p};
  Napi::Object r = Napi::Object::New(env);
  r.Set("handle", Napi::External<Handle>::New(env, h, Finalize));
  r.Set("linkType", Napi::Number::New(env, pcap_datalink(p)));
  r.Set("snaplen", Napi::Number::New(env, pcap_snapshot(p)));
  return r;
}

// setFilter(handle, expression)
Napi::Value SetFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle* h = Unwrap(info);
  std::string expr = info[1].As<Napi::String>();
  struct bpf_program prog;
  if (pcap_compile(h->p, &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) < 0) {
    return Fail(env, "ERR_CONFIG_INVALID", std::string("filter \"") + expr + "\": " + pcap_geterr(h->p));
  }
  int rc = pcap_setfilter(h->p, &prog);
  pcap_freecode(&prog);
  if (rc < 0) return Fail(env, "ERR_CAPTURE_OPEN", pcap_geterr(h->p));
  return env.Undefined();
}

// dispatch(handle, buffer) -> packets copied (0 when none are waiting)
Napi::Value Dispatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle* h = Unwrap(info);
  Napi::Buffer<uint8_t> buf = info[1].As<Napi::Buffer<uint8_t>>();
  size_t perPacket = 16 + ((size_t(pcap_snapshot(h->p)) + 3) & ~size_t(3));
  int room = int(buf.Length() / perPacket);
  if (room < 1) return Fail(env, "ERR_CONFIG_INVALID", "dispatch buffer is smaller than one packet");
  Fill f{buf.Data(), buf.Length(), 0, 0, false};
  int rc = pcap_dispatch(h->p, room, OnPacket, reinterpret_cast<u_char*>(&f));
  if (rc == PCAP_ERROR) return Fail(env, "ERR_CAPTURE_READ", pcap_geterr(h->p));
  return Napi::Number::New(env, f.packets);
}

// stats(handle) -> { received, dropped, ifDropped }
Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle* h = Unwrap(info);
  struct pcap_stat s;
  std::memset(&s, 0, sizeof s);
  if (pcap_stats(h->p, &s) < 0) return Fail(env, "ERR_CAPTURE_READ", pcap_geterr(h->p));
  Napi::Object r = Napi::Object::New(env);
  r.Set("received", Napi::Number::New(env, s.ps_recv));
  r.Set("dropped", Napi::Number::New(env, s.ps_drop));
  r.Set("ifDropped", Napi::Number::New(env, s.ps_ifdrop));
  return r;
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  Handle* h = Unwrap(info);
  if (h->p) {
    pcap_close(h->p);
    h->p = nullptr;
  }
  return info.Env().Undefined();
}

Napi::Value LibVersion(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), pcap_lib_version());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("open", Napi::Function::New(env, Open));
  exports.Set("setFilter", Napi::Function::New(env, SetFilter));
  exports.Set("dispatch", Napi::Function::New(env, Dispatch));
  exports.Set("stats", Napi::Function::New(env, Stats));
  exports.Set("close", Napi::Function::New(env, Close));
  exports.Set("libVersion", Napi::Function::New(env, LibVersion));
  return exports;
}

}  // namespace

NODE_API_MODULE(netlog_pcap, Init)
