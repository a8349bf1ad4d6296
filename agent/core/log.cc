#include "agent/core/log.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace flowdb::agent {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
std::atomic<int> g_format{static_cast<int>(LogFormat::text)};
constexpr std::string_view kNames[] = {"DEBUG", "INFO", "WARN", "ERROR"};
constexpr std::string_view kLowerNames[] = {"debug", "info", "warn", "error"};
constexpr std::string_view kFormats[] = {"text", "logfmt", "json"};

// 2026-12-01T22:45:00.123Z
void append_time(std::string* out, std::chrono::system_clock::time_point when) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms - static_cast<int64_t>(secs) * 1000));
  out->append(buf);
}

// A quoted string: '"' and '\\' escaped, control bytes as \n, \t or \u00XX
// (valid JSON, and what logfmt parsers accept).
void append_quoted(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '\t') {
      out->append("\\t");
    } else if (u < 0x20 || u == 0x7f) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", u);
      out->append(esc);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}
}  // namespace

bool parse_log_level(std::string_view s, LogLevel* out) {
  for (int i = 0; i < 4; ++i) {
    if (s == kLowerNames[i]) {
      *out = static_cast<LogLevel>(i);
      return true;
    }
  }
  return false;
}

bool parse_log_format(std::string_view s, LogFormat* out) {
  for (int i = 0; i < 3; ++i) {
    if (s == kFormats[i]) {
      *out = static_cast<LogFormat>(i);
      return true;
    }
  }
  return false;
}

void set_log_level(LogLevel level) { g_level.store(static_cast<int>(level)); }
void set_log_format(LogFormat format) { g_format.store(static_cast<int>(format)); }
bool log_enabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

std::string format_log_line(LogFormat format, LogLevel level, std::string_view component,
                            std::string_view message, std::chrono::system_clock::time_point when) {
  const int l = static_cast<int>(level);
  std::string line;
  line.reserve(message.size() + component.size() + 64);
  switch (format) {
    case LogFormat::logfmt:
      line.append("ts=");
      append_time(&line, when);
      line.append(" level=").append(kLowerNames[l]).append(" component=");
      append_quoted(&line, component);
      line.append(" msg=");
      append_quoted(&line, message);
      break;
    case LogFormat::json:
      line.append("{\"ts\":\"");
      append_time(&line, when);
      line.append("\",\"level\":\"").append(kLowerNames[l]).append("\",\"component\":");
      append_quoted(&line, component);
      line.append(",\"msg\":");
      append_quoted(&line, message);
      line.push_back('}');
      break;
    case LogFormat::text:
      append_time(&line, when);
      line.append(" ").append(kNames[l]).append(" ").append(component).append(": ");
      for (char c : message) line.push_back(c == '\n' ? ' ' : c);  // one event, one line
      break;
  }
  line.push_back('\n');
  return line;
}

void log(LogLevel level, std::string_view component, std::string_view message) {
  if (!log_enabled(level)) return;
  const std::string line = format_log_line(static_cast<LogFormat>(g_format.load()), level,
                                           component, message, std::chrono::system_clock::now());
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

namespace {
class EngineLogger final : public flowdb::Logger {
 public:
  explicit EngineLogger(std::string component) : component_(std::move(component)) {}
  void log(flowdb::Logger::Level level, std::string_view message) override {
    agent::log(level == flowdb::Logger::Level::kError  ? LogLevel::error
               : level == flowdb::Logger::Level::kWarn ? LogLevel::warn
                                                       : LogLevel::info,
               component_, message);
  }

 private:
  const std::string component_;
};
}  // namespace

std::shared_ptr<flowdb::Logger> engine_logger(std::string component) {
  return std::make_shared<EngineLogger>(std::move(component));
}

bool RateLimiter::admit(const std::string& key, uint64_t* suppressed) {
  std::lock_guard lock(mu_);
  Slot& s = slots_[key];
  auto now = std::chrono::steady_clock::now();
  if (s.last != std::chrono::steady_clock::time_point{} && now - s.last < period_) {
    ++s.suppressed;
    return false;
  }
  s.last = now;
  *suppressed = s.suppressed;
  s.suppressed = 0;
  return true;
}

void RateLimiter::emit(LogLevel level, std::string_view component, std::string_view message,
                       uint64_t suppressed) {
  if (suppressed == 0) {
    agent::log(level, component, message);
  } else {
    agent::log(
        level, component,
        std::string(message) + " (" + std::to_string(suppressed) + " similar messages suppressed)");
  }
}

void RateLimiter::log(LogLevel level, std::string_view component, const std::string& key,
                      std::string_view message) {
  uint64_t suppressed = 0;
  if (log_enabled(level) && admit(key, &suppressed)) emit(level, component, message, suppressed);
}

void RateLimiter::log(LogLevel level, std::string_view component, const std::string& key,
                      const std::function<std::string()>& make_message) {
  uint64_t suppressed = 0;
  if (log_enabled(level) && admit(key, &suppressed)) {
    emit(level, component, make_message(), suppressed);
  }
}

}  // namespace flowdb::agent
