// Logging for the agent: one line per event on stderr, "LEVEL component: text",
// which journald stores with its own timestamp. Messages that bad input can
// trigger at a high rate go through RateLimiter.
//
// Thread-safety: all functions may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace flowdb::agent {

enum class LogLevel : int { debug = 0, info = 1, warn = 2, error = 3 };

// Returns false for an unknown name.
bool parse_log_level(std::string_view s, LogLevel* out);
void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);

// Writes one line (a single write(2), so lines from threads never interleave).
void log(LogLevel level, std::string_view component, std::string_view message);
inline void log_debug(std::string_view c, std::string_view m) { log(LogLevel::debug, c, m); }
inline void log_info(std::string_view c, std::string_view m) { log(LogLevel::info, c, m); }
inline void log_warn(std::string_view c, std::string_view m) { log(LogLevel::warn, c, m); }
inline void log_error(std::string_view c, std::string_view m) { log(LogLevel::error, c, m); }

// Lets through at most one message per key per `period`; the next allowed
// message reports how many were suppressed in between.
class RateLimiter {
 public:
  explicit RateLimiter(std::chrono::milliseconds period = std::chrono::seconds(10))
      : period_(period) {}
  // Logs `message` at `level` unless the key is inside its quiet period.
  void log(LogLevel level, std::string_view component, const std::string& key,
           std::string_view message);

 private:
  struct Slot {
    std::chrono::steady_clock::time_point last{};
    uint64_t suppressed = 0;
  };
  const std::chrono::milliseconds period_;
  std::mutex mu_;
  std::unordered_map<std::string, Slot> slots_;  // guarded by mu_
};

}  // namespace flowdb::agent
