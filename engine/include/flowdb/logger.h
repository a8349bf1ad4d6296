// Logger: where the engine reports what it noticed but did not throw (a torn
// WAL tail cut at open, a file it could not remove, a background error, an
// error while closing in a destructor). Like LevelDB's Env::Logger, it lets
// the embedding program route messages into its own log; the engine itself
// never writes to stderr. Config::logger null discards the messages.
//
// Thread-safety: log() is called from any engine thread (writers, the flush
// and maintenance threads, destructors), concurrently and sometimes with
// engine locks held, so an implementation must be thread-safe, must not
// block for long and must not call back into the engine.
#pragma once

#include <string_view>

namespace flowdb {

class Logger {
 public:
  // (A nested name: the agent has its own flowdb::agent::LogLevel.)
  enum class Level : int {
    kInfo = 0,   // a notable event that needs no action (recovered from an error)
    kWarn = 1,   // something was repaired or left behind (a torn tail cut)
    kError = 2,  // an operation failed and nothing could throw (e.g. in a destructor)
  };
  // "info", "warn" or "error".
  static constexpr std::string_view level_name(Level level) noexcept {
    switch (level) {
      case Level::kInfo:
        return "info";
      case Level::kWarn:
        return "warn";
      case Level::kError:
        return "error";
    }
    return "unknown";
  }

  virtual ~Logger() = default;
  // One event: `message` is a single line without a trailing newline or a
  // "flowdb:" prefix (the logger adds whatever its log format wants).
  virtual void log(Level level, std::string_view message) = 0;
};

}  // namespace flowdb
