// Names the calling thread, so `top -H`, perf and /proc/<pid>/task/*/comm
// say which part of the process spends the CPU ("http-io", "inbox-writer").
#pragma once

#include <pthread.h>

#include <string>

namespace util {

// Linux keeps at most 15 characters; longer names are cut, not refused.
inline void NameThisThread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace util
