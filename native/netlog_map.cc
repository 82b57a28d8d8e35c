// A capture file mapped into memory, for FileSource (src/capture/mapped-file.ts says why).
//
// mapFile(fd, maxBytes) maps a regular file read-only and returns an ArrayBuffer over it (or a
// string saying why it did not: the caller then reads the file as before). The pages a replay
// has passed leave the process with release(); close() ends the mapping's use.
//
// A mapped file can fail in a way a read() cannot report: when the file shrinks while it is
// mapped (truncated by another program) or its storage fails, touching a page that is gone
// raises SIGBUS, which would kill the process. A SIGBUS handler catches faults inside the
// mappings of this addon: it maps a page of zeros where the missing page was, so the reading
// instruction completes, and records the offset; lostFrom() reports it, and FileSource turns it
// into an error naming that offset after delivering the records before it. Faults anywhere
// else go to the handler that was there before (Node's, or the default: the process ends).
#include <napi.h>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <mutex>  // std::call_once
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

struct Mapping;

// The mappings in use: a fixed table, since a signal handler cannot allocate or lock. A slot
// is free when its base is 0. Each file being replayed holds one until closed; the handler
// reads base, length and fault, and the calls from JavaScript find their mapping here by base.
constexpr int kRegions = 64;
struct Region {
  std::atomic<uintptr_t> base{0};
  std::atomic<size_t> length{0};
  std::atomic<int64_t> fault{-1};  // lowest faulting offset, -1 if none
  std::atomic<Mapping*> owner{nullptr};
};
Region regions[kRegions];
struct sigaction previous;
std::once_flag installed;
bool handlerInstalled = false;
size_t pageSize = 4096;

// Keeps the interrupted code's errno (mmap and sigaction here may set it).
struct SavedErrno {
  int value = errno;
  ~SavedErrno() { errno = value; }
};

void OnBus(int sig, siginfo_t* si, void* context) {
  const SavedErrno saved;
  const uintptr_t a = reinterpret_cast<uintptr_t>(si->si_addr);
  for (Region& r : regions) {
    const uintptr_t base = r.base.load(std::memory_order_acquire);
    if (base == 0 || a < base || a >= base + r.length.load(std::memory_order_relaxed)) continue;
    const uintptr_t page = a & ~(uintptr_t(pageSize) - 1);
    // mmap is a plain system call, safe here in practice (glibc's wrapper neither allocates
    // nor locks).
    void* zeros = mmap(reinterpret_cast<void*>(page), pageSize, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (zeros == MAP_FAILED) break;
    const int64_t offset = static_cast<int64_t>(page > base ? page - base : 0);
    int64_t seen = r.fault.load(std::memory_order_relaxed);
    while ((seen < 0 || offset < seen) && !r.fault.compare_exchange_weak(seen, offset)) {
    }
    return;  // the faulting read runs again, on the page of zeros
  }
  // Not a mapped capture's fault: put the previous action back and return, so the faulting
  // instruction runs again under it (for the default action, the process ends as it would
  // have without this addon).
  sigaction(SIGBUS, &previous, nullptr);
  (void)sig;
  (void)context;
}

void Install() {
  pageSize = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = OnBus;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  handlerInstalled = sigaction(SIGBUS, &action, &previous) == 0;
}

// What the ArrayBuffer's finalizer needs: the mapping, and its slot while it is in use.
struct Mapping {
  void* base;
  size_t length;
  int fd;          // the file's, open until close() (FileSource closes the mapping first)
  Region* region;  // null once closed
  size_t released; // the pages before this offset have been let go of
};

void Close(Mapping* m) {
  if (m->region == nullptr) return;
  // Zeros in place of the file, not munmap: a Buffer over the mapping may still be reachable,
  // and reading it must not crash. The address range is given back when the buffer is collected.
  mmap(m->base, m->length, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  m->region->owner.store(nullptr, std::memory_order_relaxed);
  m->region->base.store(0, std::memory_order_release);
  m->region = nullptr;
}

void Finalize(Napi::Env, void*, Mapping* m) {
  Close(m);
  munmap(m->base, m->length);
  delete m;
}

Region* TakeRegion(uintptr_t base, size_t length) {
  for (Region& r : regions) {
    uintptr_t free = 0;
    if (!r.base.compare_exchange_strong(free, base, std::memory_order_acq_rel)) continue;
    // Nothing reads the new mapping before it is returned, so no fault can see these late.
    r.length.store(length, std::memory_order_relaxed);
    r.fault.store(-1, std::memory_order_relaxed);
    return &r;
  }
  return nullptr;
}

std::string Why(const char* what, int e) { return std::string(what) + ": " + strerror(e); }

// The open mapping an ArrayBuffer of mapFile is over, or null (not one, or closed). The
// buffer's memory stays mapped until it is collected, so no other mapping can have its base.
Mapping* Find(const Napi::Value& v) {
  if (!v.IsArrayBuffer()) return nullptr;
  const uintptr_t data = reinterpret_cast<uintptr_t>(v.As<Napi::ArrayBuffer>().Data());
  if (data == 0) return nullptr;
  for (Region& r : regions) {
    if (r.base.load(std::memory_order_acquire) == data) return r.owner.load(std::memory_order_relaxed);
  }
  return nullptr;
}

// mapFile(fd, maxBytes): an ArrayBuffer over the whole file, or a string saying why not.
Napi::Value MapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "mapFile(fd, maxBytes)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int fd = info[0].As<Napi::Number>().Int32Value();
  const double maxBytes = info[1].As<Napi::Number>().DoubleValue();
  std::call_once(installed, Install);
  if (!handlerInstalled) return Napi::String::New(env, "no SIGBUS handler");
  struct stat st;
  if (fstat(fd, &st) != 0) return Napi::String::New(env, Why("fstat", errno));
  if (!S_ISREG(st.st_mode)) return Napi::String::New(env, "not a regular file");
  if (st.st_size == 0) return Napi::String::New(env, "empty");
  if (static_cast<double>(st.st_size) > maxBytes) return Napi::String::New(env, "larger than maxBytes");
  const size_t length = static_cast<size_t>(st.st_size);
  void* base = mmap(nullptr, length, PROT_READ, MAP_PRIVATE, fd, 0);
  if (base == MAP_FAILED) return Napi::String::New(env, Why("mmap", errno));
  Region* region = TakeRegion(reinterpret_cast<uintptr_t>(base), length);
  if (region == nullptr) {
    munmap(base, length);
    return Napi::String::New(env, "too many files mapped at once");
  }
  Mapping* m = new Mapping{base, length, fd, region, 0};
  region->owner.store(m, std::memory_order_relaxed);
  // Read in order: the kernel reads ahead further.
  madvise(base, length, MADV_SEQUENTIAL);
  return Napi::ArrayBuffer::New(env, base, length, Finalize, m);
}

// release(buffer, upTo): the pages wholly before byte `upTo` leave the process's memory (the
// page cache keeps them; read again, they come back from it). Only those not let go of
// before: each page's unmapping costs (bench:peers' 728 MiB capture, all of it: 21 ms), and
// going over the earlier ones again cost as much again each time.
Napi::Value Release(const Napi::CallbackInfo& info) {
  Mapping* m = Find(info[0]);
  if (m != nullptr && info[1].IsNumber()) {
    size_t upTo = static_cast<size_t>(info[1].As<Napi::Number>().DoubleValue());
    if (upTo > m->length) upTo = m->length;
    upTo -= upTo % pageSize;
    if (upTo > m->released) {
      madvise(static_cast<char*>(m->base) + m->released, upTo - m->released, MADV_DONTNEED);
      m->released = upTo;
    }
  }
  return info.Env().Undefined();
}

// lostFrom(buffer): where the file's bytes stopped being there, or -1 while they all are: the
// first page that could not be read (SIGBUS), or the file's new end if it shrank, whichever is
// lower. The size is looked at each time, not only after a fault: a page wholly before the new
// end and the rest of the page holding it read without a fault (as zeros past the end).
Napi::Value LostFrom(const Napi::CallbackInfo& info) {
  Mapping* m = Find(info[0]);
  double lost = -1;
  if (m != nullptr) {
    const int64_t fault = m->region->fault.load();
    if (fault >= 0) lost = static_cast<double>(fault);
    struct stat st;
    if (fstat(m->fd, &st) == 0 && static_cast<size_t>(st.st_size) < m->length && (lost < 0 || st.st_size < lost)) {
      lost = static_cast<double>(st.st_size);
    }
  }
  return Napi::Number::New(info.Env(), lost);
}

// close(buffer): the file's pages leave the process; the buffer reads as zeros from now on.
Napi::Value CloseMapping(const Napi::CallbackInfo& info) {
  Mapping* m = Find(info[0]);
  if (m != nullptr) Close(m);
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("mapFile", Napi::Function::New(env, MapFile));
  exports.Set("release", Napi::Function::New(env, Release));
  exports.Set("lostFrom", Napi::Function::New(env, LostFrom));
  exports.Set("close", Napi::Function::New(env, CloseMapping));
  return exports;
}

}  // namespace

NODE_API_MODULE(netlog_map, Init)
