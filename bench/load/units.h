// The quantities `attestlab load` takes on its command line, parsed strictly (one clear
// Error("malformed") each): durations ("20s", "500ms", "2m", "1.5h"; a bare number is
// seconds), rates ("20/s", "1200/m"; a bare number is per second) and shards ("2/4").
// No shared state.
#pragma once

#include <chrono>
#include <string>
#include <utility>

#include "core/result.h"

namespace attestlab::load {

// A non-negative duration.
Result<std::chrono::duration<double>> parse_duration(const std::string& text);
// A positive rate, per second.
Result<double> parse_rate(const std::string& text);
// "i/n" with 1 <= i <= n (as written) → (i - 1, n).
Result<std::pair<int, int>> parse_shard(const std::string& text);

}  // namespace attestlab::load
