#include "bench/load/flow.h"

#include "client/acme_types.h"

namespace attestlab::load {

bool is_transport_error(const Error& error) {
  return error.type == "connection" || error.type == client::kErrorTimeout;
}

void StopSignal::stop() {
  {
    std::lock_guard lock(mu_);
    stopped_.store(true, std::memory_order_relaxed);
  }
  cv_.notify_all();
}

bool StopSignal::sleep_for(std::chrono::nanoseconds d) const {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopped_.load(std::memory_order_relaxed); });
}

void EnrollmentContext::begin(Step step) {
  end();
  current_ = step;
  active_ = true;
  started_ = Clock::now();
}

void EnrollmentContext::end() {
  if (!active_) return;
  const auto i = static_cast<std::size_t>(current_);
  spent_[i] += Clock::now() - started_;
  completed_[i] = true;
  active_ = false;
  if (on_step_end_) on_step_end_(current_);
}

}  // namespace attestlab::load
