// Declarative configuration tables. Every config section (and every input
// type) describes its keys once, as a table of KeySpec; that table drives YAML
// parsing, validation, defaults and the generated reference in agent/README.md
// (`flowdb-agent --config-reference`).
//
// Values: strings (with ${ENV} / ${ENV:-default} substitution), booleans,
// integers, durations ("250ms", "30s", "7d"), sizes ("64MiB", "512KiB", "1GB"),
// enums, string lists, nested tables and lists of tables. Unknown keys and bad
// values raise ConfigError with file, line, column and the expected form.
//
// Thread-safety: tables are immutable; ParsedTable is a plain value.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace YAML {
class Node;
}

namespace flowdb::agent {

// A bad config: what() is "FILE:LINE:COL: PATH: problem; expected FORM".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Gathers the ConfigErrors of one parse so that a single run reports every
// problem in the file (--check-config), not only the first. While one is alive
// on a thread, parse_table() records a bad key and goes on as if it were
// absent (so it takes its default). Not thread-safe: one per parsing thread.
class ConfigErrors {
 public:
  ConfigErrors();   // becomes this thread's active collector
  ~ConfigErrors();  // restores the previous one
  ConfigErrors(const ConfigErrors&) = delete;
  ConfigErrors& operator=(const ConfigErrors&) = delete;

  // The innermost live collector of this thread, or null.
  static ConfigErrors* active();
  // Runs `check`; a ConfigError it throws is recorded instead of propagated.
  void collect(const std::function<void()>& check);
  // Records `e` (an identical message is kept once).
  void add(const ConfigError& e);
  bool empty() const { return messages_.empty(); }
  const std::vector<std::string>& messages() const { return messages_; }
  // Throws one ConfigError whose what() lists every message, one per line.
  // REQUIRES: !empty().
  [[noreturn]] void raise() const;

 private:
  ConfigErrors* previous_;
  std::vector<std::string> messages_;
};

enum class KeyKind {
  kString,
  kSecret,
  kBool,
  kInt,
  kDuration,
  kSize,
  kEnum,
  kStringList,
  kTable,
  kTableList,
  kOpaque
};

// One key of a table. Write rows with designated initializers and only the
// fields that matter: {.name = "qos", .kind = KeyKind::kInt, .default_value =
// "1", .doc = "...", .min = 0, .max = 2}. Every member has a default so that
// -Wmissing-field-initializers stays quiet.
struct KeySpec {
  std::string_view name = {};
  KeyKind kind = KeyKind::kString;
  // Default as YAML text (parsed like a user value); empty: no default.
  std::string_view default_value = {};
  std::string_view doc = {};
  std::span<const std::string_view> choices = {};  // kEnum
  std::span<const KeySpec> children = {};          // kTable / kTableList
  bool required = false;
  int64_t min = 0;  // kInt / kDuration (µs) / kSize (bytes): inclusive bounds
  int64_t max = INT64_MAX;
};

struct Position {
  std::string file;
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based
  std::string str() const;
};

class ParsedTable;
using ParsedValue =
    std::variant<std::monostate, std::string, bool, int64_t, std::vector<std::string>,
                 std::shared_ptr<ParsedTable>, std::vector<std::shared_ptr<ParsedTable>>>;

// The values of one table after validation; every key of the spec is present
// (with its default) unless it has no default and was not given. The lookups
// (str() ... tables()) throw std::logic_error for a key the spec does not
// declare.
class ParsedTable {
 public:
  std::string path;  // e.g. "inputs.mqtt[0]"
  Position pos;
  std::map<std::string, ParsedValue, std::less<>> values;
  std::map<std::string, Position, std::less<>> positions;
  // The keys the spec declares (set by parse_table). A lookup of any other
  // key is a programming error (a misspelled key would silently read the
  // default) and throws std::logic_error. Empty: no check (a hand-made table).
  std::set<std::string, std::less<>> declared;

  bool has(std::string_view key) const;
  const std::string& str(std::string_view key) const;  // "" if absent
  bool boolean(std::string_view key) const;
  int64_t integer(std::string_view key) const;  // ints, durations (µs), sizes (bytes)
  std::optional<int64_t> opt_integer(std::string_view key) const;
  const std::vector<std::string>& list(std::string_view key) const;
  const ParsedTable* table(std::string_view key) const;  // null if absent
  const std::vector<std::shared_ptr<ParsedTable>>& tables(std::string_view key) const;
  // A ConfigError pointing at `key` (or the table) with `message`.
  [[noreturn]] void fail(std::string_view key, std::string_view message) const;
};

// Parses "250ms", "30s", "5m", "2h", "7d", "1w", "100us" into microseconds.
bool parse_duration_us(std::string_view s, int64_t* out);
// Parses "123", "64KiB", "64MiB", "1GiB", "10KB", "5MB", "1GB" into bytes.
bool parse_size_bytes(std::string_view s, int64_t* out);
// Replaces ${NAME} and ${NAME:-default}; false (with *error) if NAME is unset
// and has no default.
bool substitute_env(std::string_view in, std::string* out, std::string* error);

// A secret given as `key` (inline, after ${ENV} substitution), `key`_file (a
// file; trailing CR and LF removed) or `key`_env (an environment variable);
// at most one of the three. Returns "" if none is given. Throws ConfigError
// naming the key for an unreadable file, an unset variable or two sources.
std::string resolve_secret(const ParsedTable& t, std::string_view key);

// The keys of `a` followed by those of `b`, e.g. an input's own keys and the
// shared payload keys.
std::vector<KeySpec> concat_keys(std::span<const KeySpec> a, std::span<const KeySpec> b);

// Validates `node` against `spec`. `path` names the section in messages.
std::shared_ptr<ParsedTable> parse_table(const YAML::Node& node, std::span<const KeySpec> spec,
                                         const std::string& file, const std::string& path);

// A canonical text of every value of `t` (defaults included, positions not):
// two tables with equal fingerprints configure the same thing. Secrets appear
// as given (a file name, not its contents).
std::string fingerprint(const ParsedTable& t);

// Markdown reference of a table (nested tables indented), for the docs.
std::string render_reference(std::string_view title, std::span<const KeySpec> spec);

}  // namespace flowdb::agent
