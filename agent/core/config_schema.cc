#include "agent/core/config_schema.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <type_traits>

namespace flowdb::agent {
namespace {

const std::string kEmpty;
const std::vector<std::string> kEmptyList;
const std::vector<std::shared_ptr<ParsedTable>> kEmptyTables;

std::string_view kind_form(const KeySpec& k) {
  switch (k.kind) {
    case KeyKind::kString:
    case KeyKind::kSecret:
      return "a string";
    case KeyKind::kBool:
      return "true or false";
    case KeyKind::kInt:
      return "an integer";
    case KeyKind::kDuration:
      return "a duration such as 250ms, 30s, 5m, 2h, 7d";
    case KeyKind::kSize:
      return "a size such as 512KiB, 64MiB, 1GiB";
    case KeyKind::kEnum:
      return "one of the listed values";
    case KeyKind::kStringList:
      return "a list of strings";
    case KeyKind::kTable:
      return "a mapping";
    case KeyKind::kTableList:
      return "a list of mappings";
    case KeyKind::kOpaque:
      return "any YAML value";
  }
  return "";
}

std::string expected(const KeySpec& k) {
  if (k.kind == KeyKind::kEnum) {
    std::string s = "one of ";
    for (size_t i = 0; i < k.choices.size(); ++i) {
      if (i) s += ", ";
      s += k.choices[i];
    }
    return s;
  }
  std::string s(kind_form(k));
  if ((k.kind == KeyKind::kInt || k.kind == KeyKind::kSize) && (k.min != 0 || k.max != INT64_MAX)) {
    s += " in [" + std::to_string(k.min) + ", " + std::to_string(k.max) + "]";
  }
  return s;
}

Position pos_of(const YAML::Node& n, const std::string& file) {
  YAML::Mark m = n.Mark();
  Position p{file, 0, 0};
  if (m.line >= 0) {
    p.line = m.line + 1;
    p.column = m.column + 1;
  }
  return p;
}

[[noreturn]] void fail_at(const Position& p, const std::string& path, std::string_view msg) {
  throw ConfigError(p.str() + ": " + path + ": " + std::string(msg));
}

bool is_scalar(const YAML::Node& n) { return n.IsScalar(); }

thread_local ConfigErrors* t_active_errors = nullptr;

// Runs `f`; with an active collector a ConfigError is recorded, else rethrown.
template <typename F>
void recording(F&& f) {
  if (ConfigErrors* errs = ConfigErrors::active()) {
    errs->collect(f);
  } else {
    f();
  }
}

std::string scalar(const YAML::Node& n, const Position& p, const std::string& path) {
  std::string out, err;
  if (!substitute_env(n.Scalar(), &out, &err)) fail_at(p, path, err);
  return out;
}

ParsedValue parse_value(const YAML::Node& n, const KeySpec& k, const std::string& file,
                        const std::string& path) {
  Position p = pos_of(n, file);
  auto bad = [&](std::string_view got) {
    fail_at(p, path, "got " + std::string(got) + "; expected " + expected(k));
  };
  auto need_scalar = [&]() {
    if (!is_scalar(n)) bad(n.IsSequence() ? "a list" : n.IsMap() ? "a mapping" : "nothing");
  };
  switch (k.kind) {
    case KeyKind::kString:
    case KeyKind::kSecret: {
      need_scalar();
      return scalar(n, p, path);
    }
    case KeyKind::kBool: {
      need_scalar();
      std::string s = scalar(n, p, path);
      if (s == "true" || s == "yes" || s == "on") return true;
      if (s == "false" || s == "no" || s == "off") return false;
      bad("'" + s + "'");
      return std::monostate{};
    }
    case KeyKind::kInt:
    case KeyKind::kDuration:
    case KeyKind::kSize: {
      need_scalar();
      std::string s = scalar(n, p, path);
      int64_t v = 0;
      bool ok = false;
      if (k.kind == KeyKind::kDuration) {
        ok = parse_duration_us(s, &v);
      } else if (k.kind == KeyKind::kSize) {
        ok = parse_size_bytes(s, &v);
      } else {
        char* end = nullptr;
        errno = 0;
        long long x = std::strtoll(s.c_str(), &end, 10);
        ok = !s.empty() && end == s.c_str() + s.size() && errno == 0;
        v = x;
      }
      if (!ok) bad("'" + s + "'");
      if (v < k.min || v > k.max) bad("'" + s + "' (out of range)");
      return v;
    }
    case KeyKind::kEnum: {
      need_scalar();
      std::string s = scalar(n, p, path);
      for (std::string_view c : k.choices) {
        if (s == c) return s;
      }
      bad("'" + s + "'");
      return std::monostate{};
    }
    case KeyKind::kStringList: {
      std::vector<std::string> out;
      if (is_scalar(n)) {  // a single string is a list of one
        out.push_back(scalar(n, p, path));
        return out;
      }
      if (!n.IsSequence()) bad("a mapping");
      for (size_t i = 0; i < n.size(); ++i) {
        if (!is_scalar(n[i]))
          fail_at(pos_of(n[i], file), path + "[" + std::to_string(i) + "]", "expected a string");
        out.push_back(scalar(n[i], pos_of(n[i], file), path));
      }
      return out;
    }
    case KeyKind::kTable: {
      if (n.IsNull()) return parse_table(YAML::Node(YAML::NodeType::Map), k.children, file, path);
      if (!n.IsMap()) bad(n.IsSequence() ? "a list" : "a scalar");
      return parse_table(n, k.children, file, path);
    }
    case KeyKind::kTableList: {
      std::vector<std::shared_ptr<ParsedTable>> out;
      if (n.IsNull()) return out;
      if (!n.IsSequence()) bad(n.IsMap() ? "a mapping" : "a scalar");
      for (size_t i = 0; i < n.size(); ++i) {
        std::string ipath = path + "[" + std::to_string(i) + "]";
        if (!n[i].IsMap()) fail_at(pos_of(n[i], file), ipath, "expected a mapping");
        out.push_back(parse_table(n[i], k.children, file, ipath));
      }
      return out;
    }
    case KeyKind::kOpaque:
      return std::monostate{};
  }
  return std::monostate{};
}

}  // namespace

std::string Position::str() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

// The value of `key` in `t`, or null if absent. Throws std::logic_error if
// the spec of `t` does not declare `key`.
static const ParsedValue* lookup(const ParsedTable& t, std::string_view key) {
  if (!t.declared.empty() && t.declared.find(key) == t.declared.end()) {
    throw std::logic_error("programming error: " + (t.path.empty() ? "<top>" : t.path) +
                           " has no key '" + std::string(key) + "'");
  }
  auto it = t.values.find(key);
  return it == t.values.end() ? nullptr : &it->second;
}

bool ParsedTable::has(std::string_view key) const {
  auto it = values.find(key);
  return it != values.end() && !std::holds_alternative<std::monostate>(it->second);
}
const std::string& ParsedTable::str(std::string_view key) const {
  const ParsedValue* v = lookup(*this, key);
  const auto* s = v ? std::get_if<std::string>(v) : nullptr;
  return s ? *s : kEmpty;
}
bool ParsedTable::boolean(std::string_view key) const {
  const ParsedValue* v = lookup(*this, key);
  return v && std::holds_alternative<bool>(*v) && std::get<bool>(*v);
}
int64_t ParsedTable::integer(std::string_view key) const { return opt_integer(key).value_or(0); }
std::optional<int64_t> ParsedTable::opt_integer(std::string_view key) const {
  const ParsedValue* v = lookup(*this, key);
  const auto* i = v ? std::get_if<int64_t>(v) : nullptr;
  return i ? std::optional<int64_t>(*i) : std::nullopt;
}
const std::vector<std::string>& ParsedTable::list(std::string_view key) const {
  const ParsedValue* v = lookup(*this, key);
  const auto* l = v ? std::get_if<std::vector<std::string>>(v) : nullptr;
  return l ? *l : kEmptyList;
}
const ParsedTable* ParsedTable::table(std::string_view key) const {
  const ParsedValue* v = lookup(*this, key);
  const auto* t = v ? std::get_if<std::shared_ptr<ParsedTable>>(v) : nullptr;
  return t ? t->get() : nullptr;
}
const std::vector<std::shared_ptr<ParsedTable>>& ParsedTable::tables(std::string_view key) const {
  const ParsedValue* v = lookup(*this, key);
  const auto* l = v ? std::get_if<std::vector<std::shared_ptr<ParsedTable>>>(v) : nullptr;
  return l ? *l : kEmptyTables;
}
void ParsedTable::fail(std::string_view key, std::string_view message) const {
  auto it = positions.find(key);
  const Position& p = it != positions.end() ? it->second : pos;
  std::string full =
      path.empty() ? std::string(key) : path + (key.empty() ? "" : ".") + std::string(key);
  fail_at(p, full, message);
}

bool parse_duration_us(std::string_view s, int64_t* out) {
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == 0 || i > 15) return false;
  int64_t n = std::stoll(std::string(s.substr(0, i)));
  std::string_view unit = s.substr(i);
  int64_t mult;
  if (unit == "us") {
    mult = 1;
  } else if (unit == "ms") {
    mult = 1000;
  } else if (unit == "s") {
    mult = 1000000;
  } else if (unit == "m") {
    mult = 60'000'000;
  } else if (unit == "h") {
    mult = 3'600'000'000;
  } else if (unit == "d") {
    mult = 86'400'000'000;
  } else if (unit == "w") {
    mult = 7 * 86'400'000'000;
  } else if (unit.empty() && n == 0) {
    mult = 0;  // a bare 0 is unambiguous
  } else {
    return false;
  }
  if (mult != 0 && n > std::numeric_limits<int64_t>::max() / mult) return false;
  *out = n * mult;
  return true;
}

bool parse_size_bytes(std::string_view s, int64_t* out) {
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == 0 || i > 15) return false;
  int64_t n = std::stoll(std::string(s.substr(0, i)));
  std::string_view unit = s.substr(i);
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
      {"", 1},      {"B", 1},        {"KiB", 1 << 10},  {"MiB", 1 << 20}, {"GiB", 1LL << 30},
      {"KB", 1000}, {"MB", 1000000}, {"GB", 1000000000}};
  for (const auto& [name, mult] : kUnits) {
    if (unit == name) {
      if (n > std::numeric_limits<int64_t>::max() / mult) return false;
      *out = n * mult;
      return true;
    }
  }
  return false;
}

bool substitute_env(std::string_view in, std::string* out, std::string* error) {
  out->clear();
  size_t i = 0;
  while (i < in.size()) {
    if (in[i] == '$' && i + 1 < in.size() && in[i + 1] == '{') {
      size_t close = in.find('}', i + 2);
      if (close == std::string_view::npos) {
        *error =
            "unterminated ${ in '" + std::string(in) + "'; expected ${NAME} or ${NAME:-default}";
        return false;
      }
      std::string_view body = in.substr(i + 2, close - i - 2);
      std::string_view name = body, def;
      bool has_def = false;
      if (size_t d = body.find(":-"); d != std::string_view::npos) {
        name = body.substr(0, d);
        def = body.substr(d + 2);
        has_def = true;
      }
      const char* v = std::getenv(std::string(name).c_str());
      if (v != nullptr && *v != '\0') {
        out->append(v);
      } else if (has_def) {
        out->append(def);
      } else {
        *error = "environment variable " + std::string(name) +
                 " is not set; expected it set, or ${" + std::string(name) + ":-default}";
        return false;
      }
      i = close + 1;
    } else {
      out->push_back(in[i++]);
    }
  }
  return true;
}

namespace {

// Validates one `key: value` of a mapping into `t`. Throws ConfigError.
void parse_entry(ParsedTable& t, const YAML::Node& key_node, const YAML::Node& value,
                 std::span<const KeySpec> spec, const std::string& file,
                 const std::function<std::string(std::string_view)>& child_path) {
  const std::string key = key_node.as<std::string>();
  const KeySpec* k = nullptr;
  for (const KeySpec& s : spec) {
    if (s.name == key) k = &s;
  }
  if (k == nullptr) {
    std::string known;
    for (const KeySpec& s : spec) known += (known.empty() ? "" : ", ") + std::string(s.name);
    fail_at(pos_of(key_node, file), child_path(key), "unknown key; expected one of " + known);
  }
  if (t.positions.count(key)) fail_at(pos_of(key_node, file), child_path(key), "duplicate key");
  t.positions[key] = pos_of(value, file);
  if (value.IsNull() && k->kind != KeyKind::kTable && k->kind != KeyKind::kTableList) {
    fail_at(pos_of(key_node, file), child_path(key), "no value; expected " + expected(*k));
  }
  t.values[key] = parse_value(value, *k, file, child_path(key));
}

}  // namespace

ConfigErrors::ConfigErrors() : previous_(t_active_errors) { t_active_errors = this; }
ConfigErrors::~ConfigErrors() { t_active_errors = previous_; }
ConfigErrors* ConfigErrors::active() { return t_active_errors; }

void ConfigErrors::collect(const std::function<void()>& check) {
  try {
    check();
  } catch (const ConfigError& e) {
    add(e);
  }
}

void ConfigErrors::add(const ConfigError& e) {
  for (const std::string& m : messages_) {
    if (m == e.what()) return;
  }
  messages_.emplace_back(e.what());
}

void ConfigErrors::raise() const {
  std::string all;
  for (const std::string& m : messages_) all += (all.empty() ? "" : "\n") + m;
  if (messages_.size() > 1) all += "\n(" + std::to_string(messages_.size()) + " errors)";
  throw ConfigError(all);
}

std::vector<KeySpec> concat_keys(std::span<const KeySpec> a, std::span<const KeySpec> b) {
  std::vector<KeySpec> keys(a.begin(), a.end());
  keys.insert(keys.end(), b.begin(), b.end());
  return keys;
}

std::shared_ptr<ParsedTable> parse_table(const YAML::Node& node, std::span<const KeySpec> spec,
                                         const std::string& file, const std::string& path) {
  auto t = std::make_shared<ParsedTable>();
  t->path = path;
  t->pos = pos_of(node, file);
  for (const KeySpec& s : spec) t->declared.emplace(s.name);
  const std::function<std::string(std::string_view)> child_path = [&](std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  };
  if (!node.IsMap() && !node.IsNull()) fail_at(t->pos, path, "expected a mapping");
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      recording([&] { parse_entry(*t, it->first, it->second, spec, file, child_path); });
    }
  }
  for (const KeySpec& s : spec) {
    if (t->values.count(s.name)) continue;
    if (s.required) {
      recording([&] { fail_at(t->pos, child_path(s.name), "missing; expected " + expected(s)); });
      continue;
    }
    if (!s.default_value.empty()) {
      t->values[std::string(s.name)] =
          parse_value(YAML::Load(std::string(s.default_value)), s, "<default>", child_path(s.name));
    } else if (s.kind == KeyKind::kTable) {
      t->values[std::string(s.name)] =
          parse_table(YAML::Node(YAML::NodeType::Map), s.children, file, child_path(s.name));
    }
  }
  return t;
}

std::string fingerprint(const ParsedTable& t) {
  std::string out = "{";
  for (const auto& [key, value] : t.values) {
    out += key + "=";
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::string>) {
            out += std::to_string(v.size()) + ":" + v;
          } else if constexpr (std::is_same_v<V, bool> || std::is_same_v<V, int64_t>) {
            out += std::to_string(v);
          } else if constexpr (std::is_same_v<V, std::vector<std::string>>) {
            out += "[";
            for (const std::string& e : v) out += std::to_string(e.size()) + ":" + e + ",";
            out += "]";
          } else if constexpr (std::is_same_v<V, std::shared_ptr<ParsedTable>>) {
            out += v ? fingerprint(*v) : "null";
          } else if constexpr (std::is_same_v<V, std::vector<std::shared_ptr<ParsedTable>>>) {
            out += "[";
            for (const auto& e : v) out += (e ? fingerprint(*e) : "null") + ",";
            out += "]";
          }
        },
        value);
    out += ";";
  }
  return out + "}";
}

namespace {
void render_rows(std::string* out, std::span<const KeySpec> spec, const std::string& prefix) {
  for (const KeySpec& k : spec) {
    std::string name = prefix + std::string(k.name);
    if (k.kind == KeyKind::kTableList) name += "[]";
    std::string def = k.required ? "(required)" : std::string(k.default_value);
    *out += "| `" + name + "` | " + expected(k) + " | " + (def.empty() ? "" : "`" + def + "`") +
            " | " + std::string(k.doc) + " |\n";
    if (k.kind == KeyKind::kTable || k.kind == KeyKind::kTableList) {
      render_rows(out, k.children, name + ".");
    }
  }
}
}  // namespace

std::string render_reference(std::string_view title, std::span<const KeySpec> spec) {
  std::string out = "### " + std::string(title) + "\n\n| key | form | default | meaning |\n";
  out += "|---|---|---|---|\n";
  render_rows(&out, spec, "");
  return out + "\n";
}

std::string resolve_secret(const ParsedTable& t, std::string_view key) {
  const std::string k(key), kf = k + "_file", ke = k + "_env";
  const int given = int(!t.str(k).empty()) + int(!t.str(kf).empty()) + int(!t.str(ke).empty());
  if (given > 1) t.fail(kf, "give only one of " + k + ", " + kf + ", " + ke);
  if (!t.str(kf).empty()) {
    std::ifstream in(t.str(kf));
    if (!in) t.fail(kf, "cannot read '" + t.str(kf) + "'; expected a readable file");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    // Line endings are never part of a secret; editors add them (CRLF too).
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  }
  if (!t.str(ke).empty()) {
    const char* v = std::getenv(t.str(ke).c_str());
    if (v == nullptr) t.fail(ke, "environment variable " + t.str(ke) + " is not set");
    return v;
  }
  return t.str(k);
}

}  // namespace flowdb::agent
