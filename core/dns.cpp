// core/dns.h on c-ares 1.18: a query call drives a channel with poll() until the answers
// arrive or the caller's deadline passes. Channels are kept per thread and per (server,
// timeout) and reused by the next call of that thread: making one reads the resolver
// configuration and opens sockets, about half of a validation's DNS cost. c-ares 1.18
// caches no answers, so every call still asks the server.
#include "core/dns.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace attestlab::dns {
namespace {

using Clock = std::chrono::steady_clock;

Error dns_error(std::string detail) { return Error::make("dns", std::move(detail)); }

Result<void> init_library() {
  static std::once_flag once;
  static int status = ARES_SUCCESS;
  std::call_once(once, [] { status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (status != ARES_SUCCESS) {
    return Error::make("serverInternal",
                       std::string("c-ares initialization failed: ") + ares_strerror(status));
  }
  return ok();
}

struct ChannelDeleter {
  void operator()(ares_channel channel) const { ares_destroy(channel); }
};
using Channel = std::unique_ptr<std::remove_pointer_t<ares_channel>, ChannelDeleter>;

// c-ares resends a query on timeout; the caller's timeout is split across the tries so
// the whole call stays within it.
constexpr int kTries = 2;

Result<Channel> open_channel(const ResolverOptions& opt) {
  ATTESTLAB_TRY(init_library());
  ares_options options{};
  int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS;
  options.timeout = static_cast<int>(std::max<std::int64_t>(opt.timeout.count() / kTries, 50));
  options.tries = kTries;
  // Challenge names are absolute: no search domains. EDNS keeps big TXT sets on UDP;
  // truncated answers still fall back to TCP.
  options.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_EDNS;
  mask |= ARES_OPT_EDNSPSZ;
  options.ednspsz = 1232;
  ares_channel raw = nullptr;
  const int status = ares_init_options(&raw, &options, mask);
  Channel channel(raw);
  if (status != ARES_SUCCESS) {
    return dns_error(std::string("cannot create resolver: ") + ares_strerror(status));
  }
  if (!opt.server.empty()) {
    const int set = ares_set_servers_ports_csv(channel.get(), opt.server.c_str());
    if (set != ARES_SUCCESS) {
      return Error::make("serverInternal",
                         "invalid DNS server \"" + opt.server + "\": " + ares_strerror(set));
    }
  }
  return channel;
}

// The calling thread's channel for these options (made on first use). Nothing is left
// pending on a channel between calls (see finish()), so a reused channel starts clean.
Result<ares_channel> thread_channel(const ResolverOptions& opt) {
  struct Kept {
    std::string server;
    std::int64_t timeout_ms;
    Channel channel;
  };
  constexpr std::size_t kKeptPerThread = 4;
  thread_local std::vector<Kept> kept;
  for (auto& k : kept) {
    if (k.server == opt.server && k.timeout_ms == opt.timeout.count()) return k.channel.get();
  }
  auto made = open_channel(opt);
  if (!made) return made.error();
  if (kept.size() == kKeptPerThread) kept.erase(kept.begin());
  kept.push_back(Kept{opt.server, opt.timeout.count(), std::move(*made)});
  return kept.back().channel.get();
}

// Runs the channel's event loop until no query is pending or the deadline passes, when
// the remaining queries are cancelled (their callbacks then see ARES_ECANCELLED).
void run_until_done(ares_channel channel, Clock::time_point deadline) {
  for (;;) {
    std::array<ares_socket_t, ARES_GETSOCK_MAXNUM> sockets{};
    const int bits = ares_getsock(channel, sockets.data(), ARES_GETSOCK_MAXNUM);
    std::array<pollfd, ARES_GETSOCK_MAXNUM> fds{};
    nfds_t count = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      const bool readable = ARES_GETSOCK_READABLE(bits, i);
      const bool writable = ARES_GETSOCK_WRITABLE(bits, i);
      if (!readable && !writable) continue;
      fds[count].fd = sockets[i];
      fds[count].events = static_cast<short>((readable ? POLLIN : 0) | (writable ? POLLOUT : 0));
      ++count;
    }
    if (count == 0) return;  // nothing in flight: every callback has run

    const auto now = Clock::now();
    if (now >= deadline) {
      ares_cancel(channel);
      return;
    }
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now);
    timeval max_wait{static_cast<time_t>(left.count() / 1000000),
                     static_cast<suseconds_t>(left.count() % 1000000)};
    timeval wait_buffer{};
    const timeval* wait = ares_timeout(channel, &max_wait, &wait_buffer);
    const int wait_ms = static_cast<int>(wait->tv_sec * 1000 + (wait->tv_usec + 999) / 1000);

    const int ready = poll(fds.data(), count, wait_ms);
    if (ready <= 0) {
      // Timeout (or EINTR): let c-ares retry or expire its queries.
      ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      continue;
    }
    for (nfds_t i = 0; i < count; ++i) {
      const short events = fds[i].revents;
      if (events == 0) continue;
      const bool read = (events & (POLLIN | POLLERR | POLLHUP)) != 0;
      const bool write = (events & POLLOUT) != 0;
      ares_process_fd(channel, read ? fds[i].fd : ARES_SOCKET_BAD,
                      write ? fds[i].fd : ARES_SOCKET_BAD);
    }
  }
}

// Drives the channel until done or the deadline, then cancels whatever is still pending
// (its callback sees ARES_ECANCELLED now, while the caller's answers are alive), so the
// kept channel holds no query into the next call.
void finish(ares_channel channel, Clock::time_point deadline) {
  run_until_done(channel, deadline);
  ares_cancel(channel);
}

// One query's outcome as its callback saw it.
struct Answer {
  bool done = false;
  int status = ARES_ECANCELLED;
  std::vector<unsigned char> message;
};

void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* answer = static_cast<Answer*>(arg);
  answer->done = true;
  answer->status = status;
  if (status == ARES_SUCCESS && abuf != nullptr && alen > 0) {
    answer->message.assign(abuf, abuf + alen);
  }
}

bool is_empty_answer(int status) { return status == ARES_ENOTFOUND || status == ARES_ENODATA; }

std::string failure_detail(const std::string& what, const std::string& name, int status) {
  const char* reason = status == ARES_ECANCELLED ? "no answer before the timeout"
                                                 : ares_strerror(status);
  return "DNS " + what + " query for " + name + " failed: " + reason;
}

Result<std::vector<std::string>> parse_txt(const Answer& answer) {
  ares_txt_ext* records = nullptr;
  const int status = ares_parse_txt_reply_ext(answer.message.data(),
                                              static_cast<int>(answer.message.size()), &records);
  if (is_empty_answer(status)) return std::vector<std::string>{};
  if (status != ARES_SUCCESS) {
    return dns_error(std::string("undecodable TXT answer: ") + ares_strerror(status));
  }
  std::vector<std::string> out;
  for (const ares_txt_ext* part = records; part != nullptr; part = part->next) {
    // A record's character-strings arrive as consecutive entries; record_start marks
    // the first of each record.
    if (part->record_start || out.empty()) out.emplace_back();
    out.back().append(reinterpret_cast<const char*>(part->txt), part->length);
  }
  ares_free_data(records);
  return out;
}

constexpr int kMaxAddresses = 64;

Result<std::vector<std::string>> parse_addresses(const Answer& answer, int type) {
  std::vector<std::string> out;
  const auto* data = answer.message.data();
  const int length = static_cast<int>(answer.message.size());
  char text[INET6_ADDRSTRLEN] = {};
  int count = kMaxAddresses;
  int status;
  if (type == ns_t_a) {
    std::array<ares_addrttl, kMaxAddresses> addresses{};
    status = ares_parse_a_reply(data, length, nullptr, addresses.data(), &count);
    if (status == ARES_SUCCESS) {
      for (int i = 0; i < count; ++i) {
        if (inet_ntop(AF_INET, &addresses[i].ipaddr, text, sizeof text)) out.emplace_back(text);
      }
    }
  } else {
    std::array<ares_addr6ttl, kMaxAddresses> addresses{};
    status = ares_parse_aaaa_reply(data, length, nullptr, addresses.data(), &count);
    if (status == ARES_SUCCESS) {
      for (int i = 0; i < count; ++i) {
        if (inet_ntop(AF_INET6, &addresses[i].ip6addr, text, sizeof text)) out.emplace_back(text);
      }
    }
  }
  if (is_empty_answer(status)) return std::vector<std::string>{};
  if (status != ARES_SUCCESS) {
    return dns_error(std::string("undecodable address answer: ") + ares_strerror(status));
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> query_txt(const std::string& name, const ResolverOptions& opt) {
  const auto deadline = Clock::now() + opt.timeout;
  Answer answer;
  auto channel = thread_channel(opt);
  if (!channel) return channel.error();
  ares_query(*channel, name.c_str(), ns_c_in, ns_t_txt, on_answer, &answer);
  finish(*channel, deadline);
  if (is_empty_answer(answer.status)) return std::vector<std::string>{};
  if (answer.status != ARES_SUCCESS) return dns_error(failure_detail("TXT", name, answer.status));
  return parse_txt(answer);
}

Result<std::vector<std::string>> query_addresses(const std::string& name,
                                                 const ResolverOptions& opt) {
  const auto deadline = Clock::now() + opt.timeout;
  Answer a;
  Answer aaaa;
  auto channel = thread_channel(opt);
  if (!channel) return channel.error();
  ares_query(*channel, name.c_str(), ns_c_in, ns_t_a, on_answer, &a);
  ares_query(*channel, name.c_str(), ns_c_in, ns_t_aaaa, on_answer, &aaaa);
  finish(*channel, deadline);

  // Like Boulder: one family failing is tolerated when the other one produced
  // addresses; both failing, or a failure next to an empty answer, is an error.
  std::vector<std::string> out;
  std::optional<Error> failure;
  for (const auto& [answer, type, label] :
       {std::tuple{&a, static_cast<int>(ns_t_a), "A"},
        std::tuple{&aaaa, static_cast<int>(ns_t_aaaa), "AAAA"}}) {
    if (is_empty_answer(answer->status)) continue;
    if (answer->status != ARES_SUCCESS) {
      if (!failure) failure = dns_error(failure_detail(label, name, answer->status));
      continue;
    }
    auto addresses = parse_addresses(*answer, type);
    if (!addresses) {
      if (!failure) failure = addresses.error();
      continue;
    }
    out.insert(out.end(), addresses->begin(), addresses->end());
  }
  if (out.empty() && failure) return *failure;
  return out;
}

}  // namespace attestlab::dns
