#include "server/acme/validation.h"

#include "core/thread_name.h"

namespace attestlab::server {

ValidationPool::ValidationPool(int threads, std::size_t max_queued) : max_queued_(max_queued) {
  if (threads < 1) threads = 1;
  threads_.reserve(static_cast<std::size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this, i] {
      name_this_thread("validate-" + std::to_string(i));
      run();
    });
  }
}

ValidationPool::~ValidationPool() {
  stop();
}

bool ValidationPool::submit(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= max_queued_) return false;
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

bool ValidationPool::stopped() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

std::size_t ValidationPool::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void ValidationPool::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    queue_.clear();
  }
  wake_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  std::lock_guard lock(mutex_);
  threads_.clear();
}

void ValidationPool::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();
  }
}

}  // namespace attestlab::server
