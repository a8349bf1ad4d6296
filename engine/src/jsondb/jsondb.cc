// JsonDB data operations and Transaction: thin wrappers over TxnImpl.
#include "flowdb/jsondb.h"

#include <boost/json.hpp>

#include "jsondb/key_codec.h"
#include "jsondb/txn.h"

namespace flowdb::jsondb {

using detail::TxnImpl;

// ---------------------------------------------------------------- Transaction

Transaction::Transaction(std::shared_ptr<TxnImpl> impl) : impl_(std::move(impl)) {}
Transaction::Transaction(Transaction&&) noexcept = default;
Transaction& Transaction::operator=(Transaction&& o) noexcept {
  if (this != &o) {
    if (impl_ && impl_->active()) impl_->abort();
    impl_ = std::move(o.impl_);
  }
  return *this;
}
Transaction::~Transaction() {
  if (impl_ && impl_->active()) impl_->abort();
}

TransactionMode Transaction::mode() const { return impl_->mode(); }
void Transaction::commit() { impl_->commit(); }
void Transaction::abort() { impl_->abort(); }
bool Transaction::active() const { return impl_ && impl_->active(); }

value Transaction::put(std::string_view store, const value& doc, std::optional<value> key) {
  return impl_->put(store, doc, key, false);
}
value Transaction::add(std::string_view store, const value& doc, std::optional<value> key) {
  return impl_->put(store, doc, key, true);
}
value Transaction::put_auto(std::string_view store, const value& doc) {
  if (!impl_->store(store).auto_increment) {
    throw Error(Errc::InvalidAccessError, "jsondb: put_auto on a store without a key generator");
  }
  return impl_->put(store, doc, std::nullopt, false);
}
std::optional<value> Transaction::get(std::string_view store, const value& key) {
  return impl_->get(store, key);
}
void Transaction::remove(std::string_view store, const value& key) { impl_->remove(store, key); }
void Transaction::remove(std::string_view store, const KeyRange& range) {
  impl_->remove(store, range);
}
void Transaction::clear(std::string_view store) { impl_->clear(store); }
uint64_t Transaction::count(std::string_view store, const std::optional<KeyRange>& range) {
  return impl_->count(store, range);
}
std::vector<value> Transaction::get_all(std::string_view store,
                                        const std::optional<KeyRange>& range,
                                        std::optional<uint32_t> count) {
  return impl_->get_all(store, range, count, false);
}
std::vector<value> Transaction::get_all_keys(std::string_view store,
                                             const std::optional<KeyRange>& range,
                                             std::optional<uint32_t> count) {
  return impl_->get_all(store, range, count, true);
}
std::vector<value> Transaction::get_by_index(std::string_view store, std::string_view index,
                                             const value& key) {
  return impl_->index_range(store, index, KeyRange::only(key));
}
std::vector<value> Transaction::range_by_index(std::string_view store, std::string_view index,
                                               const std::optional<value>& start,
                                               const std::optional<value>& end) {
  std::optional<KeyRange> r;
  if (start && end) {
    r = KeyRange::bound(*start, *end);
  } else if (start) {
    r = KeyRange::lower_bound(*start);
  } else if (end) {
    r = KeyRange::upper_bound(*end);
  }
  return impl_->index_range(store, index, r);
}
Cursor Transaction::open_cursor(std::string_view store, std::optional<std::string> index,
                                std::optional<KeyRange> range, Direction dir) {
  return detail::open_cursor(impl_, store, std::move(index), std::move(range), dir);
}
QueryBuilder Transaction::query(std::string_view store) {
  impl_->store(store);
  return QueryBuilder(impl_, std::string(store));
}

// ---------------------------------------------------------------- JsonDB

std::shared_ptr<TxnImpl> JsonDB::begin(std::string_view store, TransactionMode mode,
                                       bool snapshot) {
  state_->check_open();
  std::unique_lock<std::mutex> lock;
  if (mode == TransactionMode::ReadWrite) lock = state_->lock_writer();
  return std::make_shared<TxnImpl>(state_, state_->catalog(),
                                   std::vector<std::string>{std::string(store)}, mode, snapshot,
                                   std::move(lock));
}

Transaction JsonDB::transaction(const std::vector<std::string>& stores, TransactionMode mode) {
  state_->check_open();
  if (stores.empty()) {
    throw Error(Errc::InvalidAccessError, "jsondb: a transaction needs at least one store");
  }
  {
    auto cat = state_->catalog();
    for (const auto& s : stores) {
      if (!cat->stores.count(s)) throw Error(Errc::NotFoundError, "jsondb: no such store: " + s);
    }
  }
  std::unique_lock<std::mutex> lock;
  if (mode == TransactionMode::ReadWrite) lock = state_->lock_writer();
  // Read the catalog after taking the lock: schema changes also hold it.
  return Transaction(std::make_shared<TxnImpl>(state_, state_->catalog(), stores, mode,
                                               mode == TransactionMode::ReadOnly, std::move(lock)));
}

namespace {
template <class F>
auto write1(const std::shared_ptr<TxnImpl>& t, F&& f) {
  if constexpr (std::is_void_v<decltype(f(*t))>) {
    f(*t);
    t->commit();
  } else {
    auto r = f(*t);
    t->commit();
    return r;
  }
}
}  // namespace

value JsonDB::put(std::string_view store, const value& doc, std::optional<value> key) {
  return write1(begin(store, TransactionMode::ReadWrite, false),
                [&](TxnImpl& t) { return t.put(store, doc, key, false); });
}
value JsonDB::add(std::string_view store, const value& doc, std::optional<value> key) {
  return write1(begin(store, TransactionMode::ReadWrite, false),
                [&](TxnImpl& t) { return t.put(store, doc, key, true); });
}
value JsonDB::put_auto(std::string_view store, const value& doc) {
  Transaction t(begin(store, TransactionMode::ReadWrite, false));
  value k = t.put_auto(store, doc);
  t.commit();
  return k;
}
std::optional<value> JsonDB::get(std::string_view store, const value& key) {
  // Fast path: one engine point read, no transaction object.
  state_->check_open();
  auto cat = state_->catalog();
  auto it = cat->stores.find(store);
  if (it == cat->stores.end()) {
    throw Error(Errc::NotFoundError, "jsondb: no such object store: " + std::string(store));
  }
  std::string k = detail::data_prefix(it->second.id);
  detail::encode_key(key, &k);
  auto r = state_->engine->get(k, 0);
  if (!r) return std::nullopt;
  return boost::json::parse(r->value);
}
void JsonDB::remove(std::string_view store, const value& key) {
  write1(begin(store, TransactionMode::ReadWrite, false),
         [&](TxnImpl& t) { t.remove(store, key); });
}
void JsonDB::remove(std::string_view store, const KeyRange& range) {
  write1(begin(store, TransactionMode::ReadWrite, false),
         [&](TxnImpl& t) { t.remove(store, range); });
}
void JsonDB::clear(std::string_view store) {
  write1(begin(store, TransactionMode::ReadWrite, false), [&](TxnImpl& t) { t.clear(store); });
}
uint64_t JsonDB::count(std::string_view store, const std::optional<KeyRange>& range) {
  return begin(store, TransactionMode::ReadOnly, range.has_value())->count(store, range);
}
std::vector<value> JsonDB::get_all(std::string_view store, const std::optional<KeyRange>& range,
                                   std::optional<uint32_t> count) {
  return begin(store, TransactionMode::ReadOnly, true)->get_all(store, range, count, false);
}
std::vector<value> JsonDB::get_all_keys(std::string_view store,
                                        const std::optional<KeyRange>& range,
                                        std::optional<uint32_t> count) {
  return begin(store, TransactionMode::ReadOnly, true)->get_all(store, range, count, true);
}
std::vector<value> JsonDB::get_by_index(std::string_view store, std::string_view index,
                                        const value& key) {
  return Transaction(begin(store, TransactionMode::ReadOnly, true)).get_by_index(store, index, key);
}
std::vector<value> JsonDB::range_by_index(std::string_view store, std::string_view index,
                                          const std::optional<value>& start,
                                          const std::optional<value>& end) {
  return Transaction(begin(store, TransactionMode::ReadOnly, true))
      .range_by_index(store, index, start, end);
}
Cursor JsonDB::open_cursor(std::string_view store, std::optional<std::string> index,
                           std::optional<KeyRange> range, Direction dir) {
  return detail::open_cursor(begin(store, TransactionMode::ReadOnly, true), store, std::move(index),
                             std::move(range), dir);
}
Cursor JsonDB::scan(std::string_view store) { return open_cursor(store); }
QueryBuilder JsonDB::query(std::string_view store) {
  auto t = begin(store, TransactionMode::ReadOnly, true);
  t->store(store);
  return QueryBuilder(t, std::string(store));
}

}  // namespace flowdb::jsondb
