#include "jsondb/txn.h"

#include <boost/json.hpp>
#include <cmath>

#include "jsondb/key_codec.h"
#include "jsondb/keypath.h"

namespace flowdb::jsondb::detail {
namespace {

constexpr int64_t kMaxGenerated = int64_t{1} << 53;

value parse_doc(const std::string& raw) { return boost::json::parse(raw); }

}  // namespace

std::unique_lock<std::mutex> DbState::lock_writer() {
  if (writer_owner_.load() == std::this_thread::get_id()) {
    throw Error(Errc::InvalidStateError,
                "jsondb: this thread already holds a read-write transaction");
  }
  std::unique_lock<std::mutex> l(writer_mu_);
  writer_owner_.store(std::this_thread::get_id());
  return l;
}

void DbState::unlock_writer(std::unique_lock<std::mutex>* l) {
  if (l->owns_lock()) {
    writer_owner_.store(std::thread::id());
    l->unlock();
  }
}

std::pair<std::string, std::string> range_bounds(const std::string& prefix,
                                                 const std::optional<KeyRange>& range) {
  std::string lo = prefix, hi = successor(prefix);
  if (!range) return {lo, hi};
  if (range->lower()) {
    lo = prefix + encode_key(*range->lower());
    if (range->lower_open()) lo = successor(lo);
  }
  if (range->upper()) {
    hi = prefix + encode_key(*range->upper());
    if (!range->upper_open()) hi = successor(hi);
  }
  return {lo, hi};
}

TxnImpl::TxnImpl(std::shared_ptr<DbState> db, std::shared_ptr<const Catalog> catalog,
                 std::vector<std::string> scope, TransactionMode mode, bool snapshot,
                 std::unique_lock<std::mutex> writer)
    : db_(std::move(db)),
      catalog_(std::move(catalog)),
      scope_(std::move(scope)),
      mode_(mode),
      writer_(std::move(writer)),
      kv_(db_->engine.get(), snapshot ? db_->engine->get_snapshot() : nullptr) {}

TxnImpl::~TxnImpl() {
  if (active_) abort();
}

void TxnImpl::check_active() const {
  if (!active_) throw Error(Errc::TransactionInactiveError, "jsondb: transaction is finished");
  db_->check_open();
}

void TxnImpl::check_writable() const {
  check_active();
  if (mode_ == TransactionMode::ReadOnly) {
    throw Error(Errc::ReadOnlyError, "jsondb: write in a read-only transaction");
  }
}

void TxnImpl::commit() {
  check_active();
  active_ = false;
  try {
    if (mode_ == TransactionMode::ReadWrite && !kv_.empty()) {
      WriteBatch batch;
      kv_.to_batch(&batch);
      db_->engine->write(batch);
    }
  } catch (...) {
    kv_.discard();
    db_->unlock_writer(&writer_);
    throw;
  }
  kv_.discard();
  db_->unlock_writer(&writer_);
}

void TxnImpl::abort() {
  if (!active_) throw Error(Errc::InvalidStateError, "jsondb: transaction is finished");
  active_ = false;
  kv_.discard();
  db_->unlock_writer(&writer_);
}

const StoreDef& TxnImpl::store(std::string_view name) const {
  check_active();
  if (!scope_.empty() && std::find(scope_.begin(), scope_.end(), name) == scope_.end()) {
    throw Error(Errc::NotFoundError,
                "jsondb: store not in the transaction's scope: " + std::string(name));
  }
  auto it = catalog_->stores.find(name);
  if (it == catalog_->stores.end()) {
    throw Error(Errc::NotFoundError, "jsondb: no such object store: " + std::string(name));
  }
  return it->second;
}

const IndexDef& TxnImpl::index(const StoreDef& s, std::string_view name) const {
  const IndexDef* ix = s.find_index(name);
  if (!ix) throw Error(Errc::NotFoundError, "jsondb: no such index: " + std::string(name));
  return *ix;
}

int64_t TxnImpl::read_counter(const std::string& key, int64_t dflt) {
  auto v = kv_.get(key);
  return v ? std::stoll(*v) : dflt;
}

void TxnImpl::add_count(const StoreDef& s, int64_t delta) {
  const std::string k = meta_key('C', s.id);
  kv_.put(k, std::to_string(read_counter(k, 0) + delta));
}

void TxnImpl::add_index_entries(const StoreDef& s, const IndexDef& ix, const value& doc,
                                const std::string& enc_pk) {
  Extracted ex = extract_key(doc, ix.key_path, ix.multi_entry);
  if (ex.kind != Extracted::Kind::Key) return;  // not indexed
  const std::string prefix = index_prefix(s.id, ix.id);
  auto add_one = [&](const value& ikey) {
    const std::string kp = prefix + encode_key(ikey);
    if (ix.unique) {
      ForwardIter it(&kv_, kp, successor(kp));
      if (it.next()) {
        throw Error(Errc::ConstraintError, "jsondb: unique index '" + ix.name + "' violated");
      }
    }
    kv_.put(kp + enc_pk, std::string());
  };
  if (ix.multi_entry && ex.key.is_array()) {
    for (const auto& k : ex.key.get_array()) add_one(k);
  } else {
    add_one(ex.key);
  }
}

void TxnImpl::remove_index_entries(const StoreDef& s, const value& doc, const std::string& enc_pk) {
  for (const auto& ix : s.indexes) {
    Extracted ex = extract_key(doc, ix.key_path, ix.multi_entry);
    if (ex.kind != Extracted::Kind::Key) continue;
    const std::string prefix = index_prefix(s.id, ix.id);
    if (ix.multi_entry && ex.key.is_array()) {
      for (const auto& k : ex.key.get_array()) kv_.del(prefix + encode_key(k) + enc_pk);
    } else {
      kv_.del(prefix + encode_key(ex.key) + enc_pk);
    }
  }
}

void TxnImpl::remove_record(const StoreDef& s, const std::string& data_key,
                            const std::string& raw_doc, std::string_view enc_pk) {
  if (!s.indexes.empty()) remove_index_entries(s, parse_doc(raw_doc), std::string(enc_pk));
  kv_.del(data_key);
  add_count(s, -1);
}

value TxnImpl::put(std::string_view store_name, const value& doc_in,
                   const std::optional<value>& key, bool no_overwrite) {
  check_writable();
  const StoreDef& s = store(store_name);
  if (s.key_path && key) {
    throw Error(Errc::DataError, "jsondb: store uses in-line keys; no key argument allowed");
  }
  if (!s.key_path && !s.auto_increment && !key) {
    throw Error(Errc::DataError, "jsondb: store uses out-of-line keys and has no generator");
  }
  std::optional<value> k;
  if (key) {
    if (!is_valid_key(*key)) throw Error(Errc::DataError, "jsondb: invalid key");
    k = normalize_key(*key);
  }
  value doc = doc_in;
  if (s.key_path) {
    Extracted ex = extract_key(doc, *s.key_path);
    if (ex.kind == Extracted::Kind::Invalid) {
      throw Error(Errc::DataError, "jsondb: the key path yields an invalid key");
    }
    if (ex.kind == Extracted::Kind::Key) {
      k = std::move(ex.key);
    } else if (!s.auto_increment) {
      throw Error(Errc::DataError, "jsondb: the key path yields no key");
    } else if (!can_inject_key(doc, s.key_path->str())) {
      throw Error(Errc::DataError, "jsondb: cannot inject the generated key");
    }
  }
  return request([&]() -> value {
    if (s.auto_increment) {
      const std::string gk = meta_key('G', s.id);
      int64_t current = read_counter(gk, 1);
      if (!k) {
        if (current > kMaxGenerated) {
          throw Error(Errc::ConstraintError, "jsondb: key generator exhausted");
        }
        k = value(current);
        kv_.put(gk, std::to_string(current + 1));
        if (s.key_path) inject_key(&doc, s.key_path->str(), *k);
      } else if (k->is_number()) {
        double d = std::floor(std::min(k->to_number<double>(), double(kMaxGenerated)));
        if (d >= double(current)) kv_.put(gk, std::to_string(static_cast<int64_t>(d) + 1));
      }
    }
    const std::string enc_pk = encode_key(*k);
    const std::string dk = data_prefix(s.id) + enc_pk;
    auto old = kv_.get(dk);
    if (old && no_overwrite) {
      throw Error(Errc::ConstraintError, "jsondb: a record with this key already exists");
    }
    if (old) {
      if (!s.indexes.empty()) remove_index_entries(s, parse_doc(*old), enc_pk);
    } else {
      add_count(s, 1);
    }
    kv_.put(dk, boost::json::serialize(doc));
    for (const auto& ix : s.indexes) add_index_entries(s, ix, doc, enc_pk);
    return *k;
  });
}

std::optional<value> TxnImpl::get(std::string_view store_name, const value& key) {
  const StoreDef& s = store(store_name);
  auto raw = kv_.get(data_prefix(s.id) + encode_key(key));
  if (!raw) return std::nullopt;
  return parse_doc(*raw);
}

void TxnImpl::remove(std::string_view store_name, const value& key) {
  check_writable();
  const StoreDef& s = store(store_name);
  const std::string enc_pk = encode_key(key);
  request([&] {
    const std::string dk = data_prefix(s.id) + enc_pk;
    auto old = kv_.get(dk);
    if (old) remove_record(s, dk, *old, enc_pk);
  });
}

void TxnImpl::remove(std::string_view store_name, const KeyRange& range) {
  check_writable();
  const StoreDef& s = store(store_name);
  const std::string prefix = data_prefix(s.id);
  // Not a structured binding: clang 14 (the thread-safety preset) cannot
  // capture one in a lambda.
  const std::pair<std::string, std::string> bounds = range_bounds(prefix, range);
  request([&] {
    ForwardIter it(&kv_, bounds.first, bounds.second);
    while (const Entry* e = it.next()) {
      const std::string dk = e->key, raw = e->value;
      remove_record(s, dk, raw, std::string_view(dk).substr(prefix.size()));
    }
  });
}

void TxnImpl::clear(std::string_view store_name) {
  check_writable();
  const StoreDef& s = store(store_name);
  request([&] {
    const std::string dp = data_prefix(s.id);
    kv_.clear_range(dp, successor(dp));
    for (const auto& ix : s.indexes) {
      const std::string ip = index_prefix(s.id, ix.id);
      kv_.clear_range(ip, successor(ip));
    }
    kv_.put(meta_key('C', s.id), "0");
  });
}

uint64_t TxnImpl::count(std::string_view store_name, const std::optional<KeyRange>& range) {
  const StoreDef& s = store(store_name);
  if (!range) return static_cast<uint64_t>(read_counter(meta_key('C', s.id), 0));
  auto [lo, hi] = range_bounds(data_prefix(s.id), range);
  ForwardIter it(&kv_, lo, hi);
  uint64_t n = 0;
  while (it.next()) ++n;
  return n;
}

std::vector<value> TxnImpl::get_all(std::string_view store_name,
                                    const std::optional<KeyRange>& range,
                                    std::optional<uint32_t> count, bool keys_only) {
  const StoreDef& s = store(store_name);
  const std::string prefix = data_prefix(s.id);
  auto [lo, hi] = range_bounds(prefix, range);
  ForwardIter it(&kv_, lo, hi);
  std::vector<value> out;
  const size_t max = count && *count > 0 ? *count : SIZE_MAX;
  while (out.size() < max) {
    const Entry* e = it.next();
    if (!e) break;
    if (keys_only) {
      std::string_view rest = std::string_view(e->key).substr(prefix.size());
      out.push_back(decode_key(&rest));
    } else {
      out.push_back(parse_doc(e->value));
    }
  }
  return out;
}

std::vector<value> TxnImpl::index_range(std::string_view store_name, std::string_view index_name,
                                        const std::optional<KeyRange>& range,
                                        std::optional<size_t> limit) {
  const StoreDef& s = store(store_name);
  const IndexDef& ix = index(s, index_name);
  const std::string prefix = index_prefix(s.id, ix.id);
  const std::string dp = data_prefix(s.id);
  auto [lo, hi] = range_bounds(prefix, range);
  ForwardIter it(&kv_, lo, hi);
  std::vector<value> out;
  while (!limit || out.size() < *limit) {
    const Entry* e = it.next();
    if (!e) break;
    std::string_view rest = std::string_view(e->key).substr(prefix.size());
    decode_key(&rest);  // the index key; the rest is the encoded pk
    auto raw = kv_.get(dp + std::string(rest));
    if (raw) out.push_back(parse_doc(*raw));
  }
  return out;
}

}  // namespace flowdb::jsondb::detail
