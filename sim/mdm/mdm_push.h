// An in-process stand-in for APNs: the MDM server "pushes" to a device token and the
// device agent that registered that token wakes up and polls the command endpoint. As
// with real APNs a push carries no command, only "come and ask" (PROTOCOL.md §4).
//
// Thread-safety: both classes are thread-safe; share them through shared_ptr.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/bytes.h"

namespace attestlab::sim {

// A wake-up flag with a condition variable: what a device agent waits on. notify() sets
// it; wait_for() returns true as soon as it is set (and clears it) or false on timeout.
class WakeSignal {
 public:
  void notify();
  bool wait_for(std::chrono::milliseconds timeout);
  // Clears and returns the flag without waiting.
  bool take();

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool pending_ = false;
};

class PushService {
 public:
  // The device side: pushes to `token` wake `signal` from now on (replacing an earlier
  // registration of the same token).
  void register_device(const Bytes& token, std::shared_ptr<WakeSignal> signal);
  void unregister_device(const Bytes& token);

  // The MDM side: true when a device was registered for the token and was woken. The
  // push magic is what real APNs would carry ({"mdm": PushMagic}); it is counted, not
  // checked, as a device only uses it to know which MDM pushed.
  bool push(const Bytes& token, const std::string& push_magic);

  std::uint64_t delivered() const;
  std::uint64_t undeliverable() const;

 private:
  mutable std::mutex mutex_;
  std::map<Bytes, std::weak_ptr<WakeSignal>> devices_;
  std::uint64_t delivered_ = 0;
  std::uint64_t undeliverable_ = 0;
};

}  // namespace attestlab::sim
