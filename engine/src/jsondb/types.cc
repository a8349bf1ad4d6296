// KeyRange, StoreDef and their JSON forms.
#include <boost/json.hpp>

#include "flowdb/error.h"
#include "flowdb/jsondb_types.h"
#include "jsondb/key_codec.h"
#include "jsondb/txn.h"

namespace flowdb::jsondb {
namespace {

value checked_key(const value& k) {
  if (!is_valid_key(k)) throw Error(Errc::DataError, "jsondb: invalid key in key range");
  return detail::normalize_key(k);
}

}  // namespace

KeyRange KeyRange::only(const value& key) { return bound(key, key); }

KeyRange KeyRange::lower_bound(const value& lower, bool open) {
  KeyRange r;
  r.lower_ = checked_key(lower);
  r.lower_open_ = open;
  return r;
}

KeyRange KeyRange::upper_bound(const value& upper, bool open) {
  KeyRange r;
  r.upper_ = checked_key(upper);
  r.upper_open_ = open;
  return r;
}

KeyRange KeyRange::bound(const value& lower, const value& upper, bool lower_open, bool upper_open) {
  KeyRange r;
  r.lower_ = checked_key(lower);
  r.upper_ = checked_key(upper);
  int c = compare_keys(*r.lower_, *r.upper_);
  if (c > 0) throw Error(Errc::DataError, "jsondb: key range lower bound above upper bound");
  if (c == 0 && (lower_open || upper_open)) {
    throw Error(Errc::DataError, "jsondb: empty key range (equal bounds, one open)");
  }
  r.lower_open_ = lower_open;
  r.upper_open_ = upper_open;
  return r;
}

bool KeyRange::includes(const value& key) const {
  if (!is_valid_key(key)) throw Error(Errc::DataError, "jsondb: invalid key");
  if (lower_) {
    int c = compare_keys(*lower_, key);
    if (c > 0 || (c == 0 && lower_open_)) return false;
  }
  if (upper_) {
    int c = compare_keys(*upper_, key);
    if (c < 0 || (c == 0 && upper_open_)) return false;
  }
  return true;
}

const IndexDef* StoreDef::find_index(std::string_view name) const {
  for (const auto& ix : indexes) {
    if (ix.name == name) return &ix;
  }
  return nullptr;
}

namespace detail {

value store_def_to_json(const StoreDef& s) {
  boost::json::object o;
  o["name"] = s.name;
  o["id"] = s.id;
  if (s.key_path) o["key_path"] = s.key_path->to_json();
  o["auto_increment"] = s.auto_increment;
  boost::json::array ixs;
  for (const auto& ix : s.indexes) {
    boost::json::object i;
    i["name"] = ix.name;
    i["id"] = ix.id;
    i["key_path"] = ix.key_path.to_json();
    i["unique"] = ix.unique;
    i["multi_entry"] = ix.multi_entry;
    ixs.push_back(std::move(i));
  }
  o["indexes"] = std::move(ixs);
  return o;
}

StoreDef store_def_from_json(const value& v) {
  try {
    const auto& o = v.as_object();
    StoreDef s;
    s.name = std::string(o.at("name").as_string());
    s.id = static_cast<uint32_t>(o.at("id").to_number<uint64_t>());
    if (const value* kp = o.if_contains("key_path")) s.key_path = KeyPath::from_json(*kp);
    s.auto_increment = o.at("auto_increment").as_bool();
    for (const auto& iv : o.at("indexes").as_array()) {
      const auto& i = iv.as_object();
      IndexDef ix;
      ix.name = std::string(i.at("name").as_string());
      ix.id = static_cast<uint32_t>(i.at("id").to_number<uint64_t>());
      ix.key_path = KeyPath::from_json(i.at("key_path"));
      ix.unique = i.at("unique").as_bool();
      ix.multi_entry = i.at("multi_entry").as_bool();
      s.indexes.push_back(std::move(ix));
    }
    return s;
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(Errc::Corruption, std::string("jsondb: bad store definition: ") + e.what());
  }
}

}  // namespace detail
}  // namespace flowdb::jsondb
