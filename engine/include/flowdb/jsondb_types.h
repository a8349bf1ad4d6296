// JsonDB value types: keys, key paths, key ranges, schema descriptions.
//
// Keys follow the W3C IndexedDB specification ("key" concept): a valid key is
// a number (not NaN; +-Infinity allowed), a string, or an array of valid keys.
// null, booleans, objects and arrays holding them are invalid (DataError).
//
// Order (compare_keys): number < string < array. Two type tags are reserved
// between them for a later date (after number) and binary (after string)
// key type; JsonDB does not accept tagged {"$date": ...}/{"$binary": ...}
// objects as keys today (they are objects, hence invalid).
//  - Numbers compare numerically whatever their JSON representation: int64,
//    uint64 and double are unified (1 == 1.0, -0 == 0). IndexedDB numbers are
//    doubles: integers beyond 2^53 are rounded to the nearest double when
//    stored, and keys read back are int64 when integral and |k| <= 2^53,
//    double otherwise.
//  - Strings compare by UTF-16 code units (so U+FFFF sorts above U+10000).
//    Key strings must be UTF-8 (or WTF-8 for lone surrogates), else DataError.
//  - Arrays compare element by element; a proper prefix sorts first.
//
// Thread-safety: the types here are plain values; const methods are safe to
// call concurrently.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace flowdb::jsondb {

using boost::json::value;

// Returns true iff `v` is a valid IndexedDB key.
bool is_valid_key(const value& v) noexcept;

// IndexedDB's cmp(): -1, 0 or 1. Throws Error(DataError) if either argument
// is not a valid key.
int compare_keys(const value& a, const value& b);

// A key path: a string ("" = the value itself, "a", "a.b.c") or a non-empty
// list of such strings (a compound key). Constructing one never throws;
// valid() tells whether it is syntactically valid (else operations taking it
// throw SyntaxError).
class KeyPath {
 public:
  KeyPath(std::string path) : v_(std::move(path)) {}                 // NOLINT(runtime/explicit)
  KeyPath(const char* path) : v_(std::string(path)) {}               // NOLINT(runtime/explicit)
  KeyPath(std::vector<std::string> paths) : v_(std::move(paths)) {}  // NOLINT
  KeyPath(std::initializer_list<std::string> paths) : v_(std::vector<std::string>(paths)) {}

  bool is_list() const { return std::holds_alternative<std::vector<std::string>>(v_); }
  // REQUIRES: !is_list().
  const std::string& str() const { return std::get<std::string>(v_); }
  // REQUIRES: is_list().
  const std::vector<std::string>& list() const { return std::get<std::vector<std::string>>(v_); }
  bool valid() const;
  // The JSON form: a string or an array of strings.
  value to_json() const;
  // Throws Error(SyntaxError) if `v` is neither a string nor an array of strings.
  static KeyPath from_json(const value& v);

  friend bool operator==(const KeyPath&, const KeyPath&) = default;

 private:
  std::variant<std::string, std::vector<std::string>> v_;
};

// A key range (IDBKeyRange). Factories throw Error(DataError) for invalid
// keys, lower > upper, or lower == upper with an open end.
class KeyRange {
 public:
  static KeyRange only(const value& key);
  static KeyRange lower_bound(const value& lower, bool open = false);
  static KeyRange upper_bound(const value& upper, bool open = false);
  static KeyRange bound(const value& lower, const value& upper, bool lower_open = false,
                        bool upper_open = false);

  // Throws Error(DataError) if `key` is not a valid key.
  bool includes(const value& key) const;

  const std::optional<value>& lower() const { return lower_; }
  const std::optional<value>& upper() const { return upper_; }
  bool lower_open() const { return lower_open_; }
  bool upper_open() const { return upper_open_; }

 private:
  KeyRange() = default;
  std::optional<value> lower_, upper_;
  bool lower_open_ = false, upper_open_ = false;
};

enum class Direction { Next, NextUnique, Prev, PrevUnique };
enum class TransactionMode { ReadOnly, ReadWrite };
enum class SortDir { Asc, Desc };

struct IndexDef {
  std::string name;
  KeyPath key_path = std::string();
  bool unique = false;
  bool multi_entry = false;
  uint32_t id = 0;  // storage id, assigned by JsonDB
};

struct StoreDef {
  std::string name;
  std::optional<KeyPath> key_path;  // nullopt = out-of-line keys
  bool auto_increment = false;
  std::vector<IndexDef> indexes;
  uint32_t id = 0;  // storage id, assigned by JsonDB

  // Returns the index called `name`, or nullptr.
  const IndexDef* find_index(std::string_view name) const;
};

// Builder of a StoreDef for JsonDB::apply_store / apply_schemas.
class StoreSchema {
 public:
  explicit StoreSchema(std::string name, std::optional<KeyPath> key_path = std::nullopt) {
    def_.name = std::move(name);
    def_.key_path = std::move(key_path);
  }
  StoreSchema& with_index(std::string name, KeyPath key_path, bool unique = false) {
    def_.indexes.push_back({std::move(name), std::move(key_path), unique, false, 0});
    return *this;
  }
  StoreSchema& with_multi_entry_index(std::string name, std::string path, bool unique = false) {
    def_.indexes.push_back({std::move(name), KeyPath(std::move(path)), unique, true, 0});
    return *this;
  }
  StoreSchema& with_auto_increment() {
    def_.auto_increment = true;
    return *this;
  }
  const StoreDef& def() const { return def_; }

 private:
  StoreDef def_;
};

// Typed documents: specialise for a struct described with BOOST_DESCRIBE_STRUCT,
// usually through FLOWDB_JSONDB_DOCUMENT below. Must provide
//   static StoreSchema schema();
template <class T>
struct document_traits;

}  // namespace flowdb::jsondb

// FLOWDB_JSONDB_DOCUMENT(Type, "store", "key.path", .with_index(...)...)
// names the store of a described struct, at namespace scope (global).
#define FLOWDB_JSONDB_DOCUMENT(Type, store_name, key_path, ...)               \
  template <>                                                                 \
  struct flowdb::jsondb::document_traits<Type> {                              \
    static ::flowdb::jsondb::StoreSchema schema() {                           \
      return ::flowdb::jsondb::StoreSchema(store_name, key_path) __VA_ARGS__; \
    }                                                                         \
  };
