#include "conformance/local_peers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "core/http.h"
#include "core/pki.h"

extern char** environ;

namespace attestlab::conformance {

bool ChildProcess::start(const std::string& program, const std::vector<std::string>& args,
                         const std::string& log_path) {
  stop();
  // Everything the child needs is built before fork: only async-signal-safe calls after.
  std::vector<std::string> argv_s = {program};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const char* log = log_path.c_str();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const int fd = ::open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execve(argv[0], argv.data(), environ);
    ::_exit(127);
  }
  pid_ = pid;
  return true;
}

bool ChildProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void ChildProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 60; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::uint16_t free_loopback_port(bool also_udp) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(fd);
      continue;
    }
    ::close(fd);
    const std::uint16_t port = ntohs(addr.sin_port);
    if (!also_udp) return port;
    const int ufd = ::socket(AF_INET, SOCK_DGRAM, 0);
    const bool udp_free =
        ufd >= 0 && ::bind(ufd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (ufd >= 0) ::close(ufd);
    if (udp_free) return port;
  }
  return 0;
}

std::string find_program(const std::string& name) {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"}) {
    const std::string path = std::string(dir) + "/" + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

Result<void> FakeDns::start(const std::string& log_path) {
  const std::string program = find_program("pebble-challtestsrv");
  if (program.empty()) return Error::make("serverInternal", "pebble-challtestsrv is not installed");
  std::string last_log;
  // Ports are picked before the child binds them, so another process may take one first:
  // a child that dies at start-up is retried on new ports.
  for (int attempt = 0; attempt < 3; ++attempt) {
    process_.stop();
    dns_port_ = free_loopback_port(true);
    management_port_ = free_loopback_port();
    if (!process_.start(program,
                        {"-defaultIPv6", "", "-defaultIPv4", "127.0.0.1", "-dns01", dns_address(),
                         "-http01", "", "-https01", "", "-tlsalpn01", "", "-management",
                         "127.0.0.1:" + std::to_string(management_port_)},
                        log_path)) {
      return Error::make("serverInternal", "cannot fork pebble-challtestsrv");
    }
    http::ClientOptions options;
    options.timeout = std::chrono::milliseconds(500);
    http::Client client(options);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (process_.running() && std::chrono::steady_clock::now() < deadline) {
      auto r = client.request("POST", management_url() + "/clear-txt", {},
                              R"({"host":"_probe.attestlab.invalid."})");
      if (r && r->status == 200) return ok();
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
    auto text = pki::read_file(log_path);
    last_log = text ? *text : "";
  }
  process_.stop();
  return Error::make("serverInternal", "pebble-challtestsrv did not start: " + last_log);
}

std::string FakeDns::dns_address() const {
  return "127.0.0.1:" + std::to_string(dns_port_);
}

std::string FakeDns::management_url() const {
  return "http://127.0.0.1:" + std::to_string(management_port_);
}

}  // namespace attestlab::conformance
