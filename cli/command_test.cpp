// The subcommands' exit codes come back through the Runner their callback sets
// (cli/command.h); usage problems are 2 with one line on stderr.
#include "cli/command.h"

#include <gtest/gtest.h>

#include <string>

#include "cli/server_faults_option.h"
#include "server/faults.h"

namespace attestlab::cli {
namespace {

struct Outcome {
  bool ran = false;
  int code = -1;
  std::string err;
};

// Parses `line` with one subcommand registered and runs what it chose.
Outcome run(void (*register_fn)(CLI::App&, Runner&), const std::string& line) {
  CLI::App app{"attestlab"};
  Runner runner;
  register_fn(app, runner);
  app.parse(line, false);
  Outcome out;
  out.ran = static_cast<bool>(runner);
  if (!runner) return out;
  testing::internal::CaptureStderr();
  out.code = runner();
  out.err = testing::internal::GetCapturedStderr();
  return out;
}

TEST(Runner, UsageErrorsAreExit2WithOneLine) {
  struct Usage {
    void (*register_fn)(CLI::App&, Runner&);
    const char* line;
    const char* err;
  };
  for (const Usage& u : {
           Usage{register_conform, "conform",
                 "attestlab conform: name a target: --target URL, --target-profile FILE, "
                 "--embedded or --embedded-eab\n"},
           Usage{register_serve, "serve --listen nonsense",
                 "attestlab serve: --listen must be HOST:PORT, got \"nonsense\" (see --help)\n"},
           Usage{register_serve, "serve --listen 127.0.0.1:0 --dns-server 127.0.0.1:0",
                 "attestlab serve: --dns-server must be HOST:PORT, got \"127.0.0.1:0\" (see "
                 "--help)\n"},
           Usage{
               register_mdm,
               "mdm serve --listen [::1]x:1 --acme-directory https://127.0.0.1:1/acme/directory",
               "attestlab mdm serve: --listen must be HOST:PORT, got \"[::1]x:1\" (see --help)\n"},
           Usage{register_scenario, "scenario run all",
                 "attestlab scenario run: give either --target URL or --embedded (see --help)\n"},
       }) {
    auto out = run(u.register_fn, u.line);
    ASSERT_TRUE(out.ran) << u.line;
    EXPECT_EQ(out.code, kExitUsage) << u.line;
    EXPECT_EQ(out.err, u.err);
  }
}

TEST(Runner, SuccessIsExit0) {
  testing::internal::CaptureStdout();
  auto list = run(register_conform, "conform --list --only device-attest-5-valid-attestation");
  const std::string out = testing::internal::GetCapturedStdout();
  ASSERT_TRUE(list.ran);
  EXPECT_EQ(list.code, kExitOk);
  EXPECT_NE(out.find("device-attest-5-valid-attestation "), std::string::npos) << out;
  EXPECT_NE(out.find("1 cases"), std::string::npos) << out;
}

TEST(Runner, HelpSetsNoRunner) {
  CLI::App app{"attestlab"};
  Runner runner;
  register_conform(app, runner);
  EXPECT_THROW(app.parse("conform --help", false), CLI::CallForHelp);
  EXPECT_FALSE(runner);
}

TEST(ServerFaultsOption, NoNamesIsFine) {
  EXPECT_FALSE(enable_server_faults({}, "--fault", true).has_value());
}

#ifdef ATTESTLAB_FAULTS
TEST(ServerFaultsOption, UnknownNameIsNamedWithOrWithoutTheList) {
  auto listed = enable_server_faults({"no_such_knob"}, "--fault", true);
  ASSERT_TRUE(listed.has_value());
  EXPECT_EQ(listed->rfind("unknown --fault \"no_such_knob\"; known faults: ", 0), 0u) << *listed;
  EXPECT_NE(listed->find(server::server_fault_names().front()), std::string::npos);
  auto bare = enable_server_faults({"no_such_knob"}, "--server-fault", false);
  ASSERT_TRUE(bare.has_value());
  EXPECT_EQ(*bare, "unknown --server-fault \"no_such_knob\"");
}

TEST(ServerFaultsOption, KnownNamesAreSwitchedOn) {
  const std::string knob = server::server_fault_names().front();
  EXPECT_FALSE(enable_server_faults({knob}, "--fault", true).has_value());
  const auto enabled = server::enabled_server_faults();
  server::server_faults() = server::ServerFaults{};  // no knob leaks into other tests
  EXPECT_EQ(enabled, std::vector<std::string>{knob});
}
#else
TEST(ServerFaultsOption, ProductionBuildsRefuseEveryName) {
  EXPECT_EQ(enable_server_faults({"skip_nonce_check"}, "--fault", true),
            "--fault needs a build with -DATTESTLAB_FAULTS=ON");
  EXPECT_EQ(enable_server_faults({"x"}, "--server-fault", false),
            "--server-fault needs a build with -DATTESTLAB_FAULTS=ON");
}
#endif

}  // namespace
}  // namespace attestlab::cli
