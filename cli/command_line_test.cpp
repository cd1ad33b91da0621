#include "cli/command_line.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace attestlab::cli {
namespace {

// One subcommand with a positional, a flag, a repeatable option and an unused option.
struct Parsed {
  CLI::App app;
  CLI::App* run = nullptr;
  std::string selector;
  bool quiet = false;
  std::vector<std::string> only;
  int jobs = 1;

  explicit Parsed(std::vector<std::string> argv) {
    run = app.add_subcommand("run");
    run->add_option("selector", selector);
    run->add_flag("--quiet", quiet);
    run->add_option("--only", only);
    run->add_option("--jobs", jobs);
    std::reverse(argv.begin(), argv.end());
    app.parse(argv);
  }
};

TEST(CommandLineOf, FlagsByNameOptionsWithEveryValuePositionalFirst) {
  Parsed p({"run", "all", "--only", "a", "--quiet", "--only", "b"});
  EXPECT_EQ(command_line_of("attestlab x run", *p.run, p.selector),
            "attestlab x run all --quiet --only a --only b");
  EXPECT_EQ(command_line_of("attestlab x run", *p.run),
            "attestlab x run --quiet --only a --only b");
}

}  // namespace
}  // namespace attestlab::cli
