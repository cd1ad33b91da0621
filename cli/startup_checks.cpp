#include "cli/startup_checks.h"

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <system_error>

#include "cli/readable_file.h"

namespace attestlab::cli {

std::optional<std::string> check_writable_dir(const std::string& flag, const std::string& dir,
                                              bool keep_created) {
  namespace fs = std::filesystem;
  std::error_code ec;
  // The top-most directory this check creates, so that it can leave nothing behind.
  fs::path created;
  for (fs::path p = fs::absolute(dir, ec); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    created = p;
    if (p == p.parent_path()) break;
  }
  fs::create_directories(dir, ec);
  if (ec) return flag + " " + dir + ": " + ec.message();
  std::optional<std::string> problem;
  if (!fs::is_directory(dir, ec)) {
    problem = flag + " " + dir + ": not a directory";
  } else {
    fs::path probe = fs::path(dir) / ".attestlab-write-check";
    {
      std::ofstream out(probe);
      if (!out || !(out << "x") || !out.flush()) problem = flag + " " + dir + ": not writable";
    }
    fs::remove(probe, ec);
  }
  if (!keep_created && !created.empty()) fs::remove_all(created, ec);
  return problem;
}

std::optional<std::string> check_can_listen(const std::string& flag, const HostPort& where) {
  if (where.port == 0) return std::nullopt;
  namespace asio = boost::asio;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(where.host, ec);
  if (ec) return std::nullopt;  // a host name: the server resolves it and reports itself
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io);
  asio::ip::tcp::endpoint endpoint(address, where.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (ec) return flag + " " + where.host + ":" + std::to_string(where.port) + ": " + ec.message();
  return std::nullopt;
}

void require_existing_input_files(CLI::App& app) {
  static constexpr std::array<std::string_view, 11> kInputFiles = {
      "--target-profile",    "--trust-ca", "--inventory", "--policy", "--eab-keys",
      "--attestation-roots", "--tls-cert", "--tls-key",   "--pubkey", "--baseline",
      "--mdm-trust-ca"};
  for (CLI::Option* option : app.get_options()) {
    for (std::string_view flag : kInputFiles) {
      if (option->check_lname(std::string(flag.substr(2)))) option->check(readable_file());
    }
  }
  for (CLI::App* sub : app.get_subcommands({})) require_existing_input_files(*sub);
}

void require_writable_report_dirs(CLI::App& app) {
  const CLI::Validator writable(
      [](std::string& dir) {
        auto bad = check_writable_dir("", dir, /*keep_created=*/false);
        return bad ? bad->substr(1) : std::string();  // without the empty flag's space
      },
      "DIR", "writable directory");
  for (CLI::Option* option : app.get_options()) {
    if (option->check_lname("report-dir")) option->check(writable);
  }
  for (CLI::App* sub : app.get_subcommands({})) require_writable_report_dirs(*sub);
}

}  // namespace attestlab::cli
