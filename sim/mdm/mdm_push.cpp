#include "sim/mdm/mdm_push.h"

namespace attestlab::sim {

void WakeSignal::notify() {
  {
    std::lock_guard lock(mutex_);
    pending_ = true;
  }
  cv_.notify_all();
}

bool WakeSignal::wait_for(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, timeout, [&] { return pending_; });
  const bool woken = pending_;
  pending_ = false;
  return woken;
}

bool WakeSignal::take() {
  std::lock_guard lock(mutex_);
  const bool woken = pending_;
  pending_ = false;
  return woken;
}

void PushService::register_device(const Bytes& token, std::shared_ptr<WakeSignal> signal) {
  std::lock_guard lock(mutex_);
  devices_[token] = signal;
}

void PushService::unregister_device(const Bytes& token) {
  std::lock_guard lock(mutex_);
  devices_.erase(token);
}

bool PushService::push(const Bytes& token, const std::string& /*push_magic*/) {
  std::shared_ptr<WakeSignal> signal;
  {
    std::lock_guard lock(mutex_);
    auto it = devices_.find(token);
    if (it != devices_.end()) signal = it->second.lock();
    if (!signal) {
      ++undeliverable_;
      return false;
    }
    ++delivered_;
  }
  signal->notify();
  return true;
}

std::uint64_t PushService::delivered() const {
  std::lock_guard lock(mutex_);
  return delivered_;
}

std::uint64_t PushService::undeliverable() const {
  std::lock_guard lock(mutex_);
  return undeliverable_;
}

}  // namespace attestlab::sim
