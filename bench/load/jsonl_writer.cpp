#include "bench/load/jsonl_writer.h"

#include <cerrno>
#include <cstring>

namespace attestlab::load {

Result<std::unique_ptr<JsonlWriter>> JsonlWriter::open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return Error::make("serverInternal", path + ": " + std::strerror(errno));
  std::unique_ptr<JsonlWriter> w(new JsonlWriter());
  w->file_ = f;
  return w;
}

JsonlWriter::~JsonlWriter() {
  close();
}

void JsonlWriter::write(const std::vector<Json>& lines) {
  std::string text;
  for (const auto& line : lines)
    text += line.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  std::lock_guard lock(mu_);
  if (file_ == nullptr) return;
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size()) failed_ = true;
}

bool JsonlWriter::close() {
  std::lock_guard lock(mu_);
  if (file_ != nullptr) {
    if (std::fclose(file_) != 0) failed_ = true;
    file_ = nullptr;
  }
  return !failed_;
}

}  // namespace attestlab::load
