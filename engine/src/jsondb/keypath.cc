#include "jsondb/keypath.h"

#include <boost/json.hpp>
#include <set>
#include <string_view>

#include "flowdb/error.h"
#include "jsondb/key_codec.h"

namespace flowdb::jsondb {
namespace {

bool id_start(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' || c >= 0x80;
}
bool id_part(unsigned char c) { return id_start(c) || (c >= '0' && c <= '9'); }

// ECMAScript IdentifierName, approximated: ASCII letters, '$', '_' and any
// non-ASCII character start it; digits may follow.
bool valid_identifier(std::string_view s) {
  if (s.empty() || !id_start(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!id_part(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool valid_path_string(std::string_view s) {
  if (s.empty()) return true;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (!valid_identifier(s.substr(start, dot == std::string_view::npos ? dot : dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

template <class F>
void for_each_identifier(std::string_view path, F&& f) {
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string_view id = path.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!f(id, dot == std::string_view::npos)) return;
    if (dot == std::string_view::npos) return;
    start = dot + 1;
  }
}

// Returns false on failure (missing property); *out receives the result.
bool evaluate(const value& doc, const std::string& path, value* out) {
  if (path.empty()) {
    *out = doc;
    return true;
  }
  const value* cur = &doc;
  value length_holder;
  bool ok = true;
  for_each_identifier(path, [&](std::string_view id, bool) {
    if (id == "length" && cur->is_string()) {
      length_holder = static_cast<int64_t>(detail::utf16_length(cur->get_string()));
      cur = &length_holder;
    } else if (id == "length" && cur->is_array()) {
      length_holder = static_cast<int64_t>(cur->get_array().size());
      cur = &length_holder;
    } else if (!cur->is_object()) {
      ok = false;
    } else {
      const value* next = cur->get_object().if_contains(id);
      if (!next) {
        ok = false;
      } else {
        cur = next;
      }
    }
    return ok;
  });
  if (ok) *out = *cur;
  return ok;
}

}  // namespace

bool KeyPath::valid() const {
  if (!is_list()) return valid_path_string(str());
  if (list().empty()) return false;
  for (const auto& s : list()) {
    if (!valid_path_string(s)) return false;
  }
  return true;
}

value KeyPath::to_json() const {
  if (!is_list()) return value(str());
  boost::json::array a;
  for (const auto& s : list()) a.emplace_back(s);
  return a;
}

KeyPath KeyPath::from_json(const value& v) {
  if (v.is_string()) return KeyPath(std::string(v.get_string()));
  if (v.is_array()) {
    std::vector<std::string> l;
    for (const auto& e : v.get_array()) {
      if (!e.is_string()) throw Error(Errc::SyntaxError, "key path list holds a non-string");
      l.emplace_back(e.get_string());
    }
    return KeyPath(std::move(l));
  }
  throw Error(Errc::SyntaxError, "key path is neither a string nor a list");
}

namespace detail {

void check_key_path(const KeyPath& kp) {
  if (!kp.valid()) throw Error(Errc::SyntaxError, "invalid key path");
}

Extracted extract_key(const value& doc, const KeyPath& kp, bool multi_entry) {
  value r;
  if (kp.is_list()) {
    boost::json::array a;
    for (const auto& p : kp.list()) {
      value e;
      if (!evaluate(doc, p, &e)) return {Extracted::Kind::Failure, {}};
      a.push_back(std::move(e));
    }
    r = std::move(a);
  } else if (!evaluate(doc, kp.str(), &r)) {
    return {Extracted::Kind::Failure, {}};
  }
  if (multi_entry && r.is_array()) {
    // Distinct valid members, in key order.
    std::set<std::string> seen;
    boost::json::array out;
    for (const auto& e : r.get_array()) {
      if (!is_valid_key(e)) continue;
      std::string enc = encode_key(e);
      if (seen.insert(enc).second) out.push_back(normalize_key(e));
    }
    return {Extracted::Kind::Key, value(std::move(out))};
  }
  if (!is_valid_key(r)) return {Extracted::Kind::Invalid, {}};
  return {Extracted::Kind::Key, normalize_key(r)};
}

bool can_inject_key(const value& doc, const std::string& path) {
  const value* cur = &doc;
  bool result = true;
  for_each_identifier(path, [&](std::string_view id, bool last) {
    if (!cur->is_object()) {
      result = false;
      return false;
    }
    if (last) return false;
    const value* next = cur->get_object().if_contains(id);
    if (!next) return false;  // will be created
    cur = next;
    return true;
  });
  return result;
}

void inject_key(value* doc, const std::string& path, const value& key) {
  value* cur = doc;
  for_each_identifier(path, [&](std::string_view id, bool last) {
    auto& obj = cur->as_object();
    if (last) {
      obj[id] = key;
      return false;
    }
    value* next = obj.if_contains(id);
    if (!next) next = &(obj[id] = boost::json::object());
    cur = next;
    return true;
  });
}

}  // namespace detail
}  // namespace flowdb::jsondb
