#include <cstdio>
#include <iostream>
#include <string>

#include "cli/command.h"
#include "cli/startup_checks.h"
#include "reports/run_result.h"

int main(int argc, char** argv) {
  using namespace attestlab::cli;
  CLI::App app{"attestlab: ACME device-attestation server, simulator and conformance harness"};
  app.require_subcommand(1);
  app.set_version_flag("--version", attestlab::reports::kToolVersion);
  Runner runner;
  register_serve(app, runner);
  register_ca(app, runner);
  register_conform(app, runner);
  register_mdm(app, runner);
  register_profile(app, runner);
  register_scenario(app, runner);
  register_demo(app, runner);
  register_report(app, runner);
  register_load(app, runner);
  require_existing_input_files(app);
  require_writable_report_dirs(app);
  // CLI11 reports an unknown first word as "A subcommand is required"; say what happened.
  if (argc > 1 && argv[1][0] != '-') {
    std::string known;
    bool found = false;
    for (const CLI::App* sub : app.get_subcommands({})) {
      found = found || sub->check_name(argv[1]);
      known += (known.empty() ? "" : ", ") + sub->get_name();
    }
    if (!found) {
      std::cerr << "attestlab: unknown subcommand \"" << argv[1] << "\" (known: " << known
                << "; see --help)\n";
      return kExitUsage;
    }
  }
  try {
    app.parse(argc, argv);
    // Every subcommand either requires one of its own or sets the runner, so a parse
    // that returns has one.
    if (!runner) {
      std::cerr << "attestlab: internal error: no subcommand to run\n";
      return kExitInternal;
    }
    return runner();
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "attestlab: " << e.what() << " (see --help)\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "attestlab: internal error: " << e.what() << "\n";
    return kExitInternal;
  }
}
