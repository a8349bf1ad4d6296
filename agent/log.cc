#include "agent/log.h"

#include <unistd.h>

namespace flowdb::agent {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
constexpr std::string_view kNames[] = {"DEBUG", "INFO", "WARN", "ERROR"};
}  // namespace

bool parse_log_level(std::string_view s, LogLevel* out) {
  static constexpr std::pair<std::string_view, LogLevel> kLevels[] = {{"debug", LogLevel::debug},
                                                                      {"info", LogLevel::info},
                                                                      {"warn", LogLevel::warn},
                                                                      {"error", LogLevel::error}};
  for (const auto& [name, level] : kLevels) {
    if (s == name) {
      *out = level;
      return true;
    }
  }
  return false;
}

void set_log_level(LogLevel level) { g_level.store(static_cast<int>(level)); }
bool log_enabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

void log(LogLevel level, std::string_view component, std::string_view message) {
  if (!log_enabled(level)) return;
  std::string line;
  line.reserve(message.size() + component.size() + 16);
  line.append(kNames[static_cast<int>(level)]).append(" ").append(component).append(": ");
  for (char c : message) line.push_back(c == '\n' ? ' ' : c);  // one event, one line
  line.push_back('\n');
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void RateLimiter::log(LogLevel level, std::string_view component, const std::string& key,
                      std::string_view message) {
  if (!log_enabled(level)) return;
  uint64_t suppressed = 0;
  {
    std::lock_guard lock(mu_);
    Slot& s = slots_[key];
    auto now = std::chrono::steady_clock::now();
    if (s.last != std::chrono::steady_clock::time_point{} && now - s.last < period_) {
      ++s.suppressed;
      return;
    }
    s.last = now;
    suppressed = s.suppressed;
    s.suppressed = 0;
  }
  if (suppressed == 0) {
    agent::log(level, component, message);
  } else {
    agent::log(
        level, component,
        std::string(message) + " (" + std::to_string(suppressed) + " similar messages suppressed)");
  }
}

}  // namespace flowdb::agent
