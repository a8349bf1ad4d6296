// Key path evaluation (IndexedDB "evaluate a key path on a value", "extract a
// key from a value using a key path", key injection). Thread-safety: pure.
#pragma once

#include <boost/json/value.hpp>
#include <string>

#include "flowdb/jsondb_types.h"

namespace flowdb::jsondb::detail {

// Throws Error(SyntaxError) unless kp.valid().
void check_key_path(const KeyPath& kp);

struct Extracted {
  enum class Kind { Key, Failure, Invalid } kind;
  value key;  // Kind::Key: the (normalised) key; multiEntry: an array of distinct keys
};

// A missing property is Failure; a present value that is not a valid key is
// Invalid. With multi_entry and an array result, the key is the array of
// its distinct valid members (possibly empty).
Extracted extract_key(const value& doc, const KeyPath& kp, bool multi_entry = false);

// Spec "check that a key could be injected into a value". JSON arrays hold
// no named properties, so only objects qualify as containers.
bool can_inject_key(const value& doc, const std::string& path);

// REQUIRES: can_inject_key(*doc, path).
void inject_key(value* doc, const std::string& path, const value& key);

}  // namespace flowdb::jsondb::detail
