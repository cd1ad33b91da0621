#include "cli/readable_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace attestlab::cli {

CLI::Validator readable_file() {
  return CLI::Validator(
      [](std::string& path) -> std::string {
        std::error_code ec;
        const auto status = std::filesystem::status(path, ec);
        if (ec || !std::filesystem::exists(status)) return path + ": No such file or directory";
        if (std::filesystem::is_directory(status)) return path + ": is a directory, not a file";
        std::ifstream in(path);
        if (!in) return path + ": " + std::strerror(errno);
        return "";
      },
      "FILE", "readable file");
}

}  // namespace attestlab::cli
