// Names the calling thread, so that `top -H`, `ps -L`, perf and gdb tell the server's
// threads apart (they all inherit the program's name otherwise).
#pragma once

#include <pthread.h>

#include <string>

namespace attestlab {

// Linux keeps at most 15 bytes of a thread's name: a longer one is cut there, never refused.
// A failure leaves the old name (a name is a diagnostic, not something to stop for).
inline void name_this_thread(std::string name) {
  if (name.size() > 15) name.resize(15);
  pthread_setname_np(pthread_self(), name.c_str());
}

}  // namespace attestlab
