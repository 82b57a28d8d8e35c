{
  "targets": [
    {
      "target_name": "netlog_pcap",
      "sources": ["netlog_pcap.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "libraries": ["-lpcap"],
      "cflags_cc": ["-O2", "-std=c++17"]
    },
    {
      "target_name": "netlog_flow",
      "sources": ["netlog_flow.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O2", "-std=c++17"]
    },
    {
      "target_name": "netlog_map",
      "sources": ["netlog_map.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O2", "-std=c++17"]
    },
    {
      "target_name": "netlog_decode",
      "sources": ["netlog_decode.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O2", "-std=c++17"]
    },
    {
      "target_name": "netlog_json",
      "sources": ["netlog_json.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O2", "-std=c++17"]
    },
    {
      "target_name": "netlog_store",
      "sources": ["netlog_store.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "libraries": ["-ldl"],
      "cflags_cc": ["-O2", "-std=c++17"]
    }
  ]
}
