// Shared by netlog's addons: a typed array's memory, as the addon reads and writes it.
#pragma once
#include <napi.h>

namespace netlog {

// A typed array's first element (checked to be a typed array by the caller).
// napi_get_typedarray_info, not ArrayBuffer().Data(): the replay ring's views are over a
// SharedArrayBuffer, which napi_get_arraybuffer_info refuses.
template <typename T>
T* Data(const Napi::Value& v) {
  void* data = nullptr;
  napi_get_typedarray_info(v.Env(), v, nullptr, nullptr, &data, nullptr, nullptr);
  return static_cast<T*>(data);
}

}  // namespace netlog
