// Logging for the whole agent process (inputs, batcher, retention, exports):
// one line per event on stderr, each with a UTC timestamp, in one of three
// formats (log.format):
//   text    2026-12-01T22:45:00.123Z WARN udp: message
//   logfmt  ts=2026-12-01T22:45:00.123Z level=warn component=udp msg="message"
//   json    {"ts":"2026-12-01T22:45:00.123Z","level":"warn","component":"udp","msg":"message"}
// Messages that bad input can trigger at a high rate go through RateLimiter.
//
// Thread-safety: all functions may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "flowdb/logger.h"

namespace flowdb::agent {

enum class LogLevel : int { debug = 0, info = 1, warn = 2, error = 3 };
enum class LogFormat : int { text = 0, logfmt = 1, json = 2 };

// Returns false for an unknown name.
bool parse_log_level(std::string_view s, LogLevel* out);
bool parse_log_format(std::string_view s, LogFormat* out);
void set_log_level(LogLevel level);
void set_log_format(LogFormat format);
bool log_enabled(LogLevel level);

// The line log() writes (with its '\n') for an event at `when`.
std::string format_log_line(LogFormat format, LogLevel level, std::string_view component,
                            std::string_view message, std::chrono::system_clock::time_point when);

// Writes one line (a single write(2), so lines from threads never interleave).
void log(LogLevel level, std::string_view component, std::string_view message);
inline void log_debug(std::string_view c, std::string_view m) { log(LogLevel::debug, c, m); }
inline void log_info(std::string_view c, std::string_view m) { log(LogLevel::info, c, m); }
inline void log_warn(std::string_view c, std::string_view m) { log(LogLevel::warn, c, m); }
inline void log_error(std::string_view c, std::string_view m) { log(LogLevel::error, c, m); }

// A flowdb::Logger for Config::logger: the engine's messages become lines of
// this log from `component` (Logger::Level kInfo/kWarn/kError map onto
// info/warn/error). Thread-safe, as Logger requires.
std::shared_ptr<flowdb::Logger> engine_logger(std::string component = "engine");

// Lets through at most one message per key per `period`; the next allowed
// message reports how many were suppressed in between.
class RateLimiter {
 public:
  explicit RateLimiter(std::chrono::milliseconds period = std::chrono::seconds(10))
      : period_(period) {}
  // Logs `message` at `level` unless the key is inside its quiet period.
  void log(LogLevel level, std::string_view component, const std::string& key,
           std::string_view message);
  // As above, but the message is built only when it is logged: for hot drop
  // paths, where most calls fall inside the quiet period.
  void log(LogLevel level, std::string_view component, const std::string& key,
           const std::function<std::string()>& make_message);

 private:
  // Whether `key` may log now; if so, *suppressed is the count since its last.
  bool admit(const std::string& key, uint64_t* suppressed);
  void emit(LogLevel level, std::string_view component, std::string_view message,
            uint64_t suppressed);
  struct Slot {
    std::chrono::steady_clock::time_point last{};
    uint64_t suppressed = 0;
  };
  const std::chrono::milliseconds period_;
  std::mutex mu_;
  std::unordered_map<std::string, Slot> slots_;  // guarded by mu_
};

}  // namespace flowdb::agent
