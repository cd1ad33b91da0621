#include <cstdio>
#include <iostream>

#include "cli/command.h"

namespace attestlab::cli {
int& exit_code() {
  static int code = kExitOk;
  return code;
}
}  // namespace attestlab::cli

int main(int argc, char** argv) {
  using namespace attestlab::cli;
  CLI::App app{"attestlab: ACME device-attestation server, simulator and conformance harness"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "attestlab 0.1.0");
  register_serve(app);
  register_ca(app);
  register_conform(app);
  register_mdm(app);
  register_profile(app);
  register_scenario(app);
  register_demo(app);
  register_report(app);
  register_load(app);
  try {
    app.parse(argc, argv);
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
  return exit_code();
}
