// JsonDB: an IndexedDB-compatible JSON document layer on the FlowDB engine.
//
// Object stores hold JSON documents (Boost.JSON values) under primary keys;
// indexes map index keys to primary keys. Semantics follow the W3C IndexedDB
// specification (keys, key paths, key generators, unique and multiEntry
// indexes, cursors, transactions); see engine/doc/jsondb.md for the storage
// layout and the deliberate differences (synchronous API, schema changes
// outside transactions, failed requests do not abort their transaction).
//
// Errors are flowdb::Error with IndexedDB names: DataError (invalid key or
// key path result), ConstraintError (duplicate key, unique index violation,
// exhausted key generator), ReadOnlyError, NotFoundError (unknown store or
// index), InvalidAccessError, InvalidStateError, TransactionInactiveError,
// SyntaxError (bad key path). Engine errors (Io, Corruption...) pass through.
//
// Thread-safety: JsonDB methods may be called concurrently from any thread.
// Read-write transactions (and every JsonDB write call, each of which is an
// implicit transaction) are serialised by one writer lock; a thread holding a
// read-write Transaction must not call JsonDB write methods (InvalidStateError).
// A Transaction, Cursor or QueryBuilder is for one thread at a time.
#pragma once

#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flowdb/config.h"
#include "flowdb/engine.h"
#include "flowdb/error.h"
#include "flowdb/jsondb_types.h"

namespace flowdb::jsondb {

namespace detail {
class DbState;
class TxnImpl;
class CursorImpl;
}  // namespace detail

// A cursor over a store or an index, streaming from the engine (it holds at
// most a small window of records in memory). A fresh cursor is positioned on
// its first record, if any. Lives inside a transaction (it keeps it alive);
// after commit/abort every call throws TransactionInactiveError.
class Cursor {
 public:
  explicit Cursor(std::unique_ptr<detail::CursorImpl> impl);
  Cursor(Cursor&&) noexcept;
  Cursor& operator=(Cursor&&) noexcept;
  ~Cursor();

  // True while the cursor points at a record.
  bool valid() const;
  // REQUIRES: valid(). Index key (index cursor) or primary key (store cursor).
  const boost::json::value& key() const;
  const boost::json::value& primary_key() const;
  const boost::json::value& value() const;

  // Each returns valid(). Throw InvalidStateError if !valid() before the call.
  bool continue_();
  // DataError if `key` is invalid or not beyond key() in the cursor's direction.
  bool continue_to(const boost::json::value& key);
  // Index cursors with Next/Prev only (else InvalidAccessError); DataError
  // if (key, primary_key) is not beyond the current position.
  bool continue_primary_key(const boost::json::value& key, const boost::json::value& primary_key);
  // n == 0 throws Error(InvalidArgument) (TypeError in the spec).
  bool advance(uint32_t n);

  // Replaces / deletes the current record (ReadOnlyError in a read-only
  // transaction; InvalidStateError if !valid(); update: DataError if an
  // in-line key in `v` differs from primary_key()). The cursor stays put.
  boost::json::value update(const boost::json::value& v);
  void remove();

 private:
  std::unique_ptr<detail::CursorImpl> impl_;
};

class QueryBuilder;

// A transaction over a set of stores. ReadOnly: a stable snapshot, writes
// throw ReadOnlyError. ReadWrite: holds the writer lock until commit/abort;
// reads see the transaction's own writes; commit() is one engine batch.
// Destruction without commit aborts. Every operation after commit/abort
// throws TransactionInactiveError. An operation that throws reverts its own
// changes only; the transaction stays usable.
class Transaction {
 public:
  explicit Transaction(std::shared_ptr<detail::TxnImpl> impl);
  Transaction(Transaction&&) noexcept;
  Transaction& operator=(Transaction&&) noexcept;
  ~Transaction();

  TransactionMode mode() const;
  void commit();
  void abort();
  bool active() const;

  // Inserts or replaces; returns the primary key. `key` only for out-of-line stores.
  value put(std::string_view store, const value& doc, std::optional<value> key = {});
  // Inserts; ConstraintError if the key exists.
  value add(std::string_view store, const value& doc, std::optional<value> key = {});
  // put() with a generated key (REQUIRES: an auto-increment store).
  value put_auto(std::string_view store, const value& doc);
  std::optional<value> get(std::string_view store, const value& key);
  void remove(std::string_view store, const value& key);
  void remove(std::string_view store, const KeyRange& range);
  void clear(std::string_view store);
  uint64_t count(std::string_view store, const std::optional<KeyRange>& range = {});
  std::vector<value> get_all(std::string_view store, const std::optional<KeyRange>& range = {},
                             std::optional<uint32_t> count = {});
  std::vector<value> get_all_keys(std::string_view store, const std::optional<KeyRange>& range = {},
                                  std::optional<uint32_t> count = {});
  // All records whose index key equals `key`, in primary key order.
  std::vector<value> get_by_index(std::string_view store, std::string_view index, const value& key);
  // Records with start <= index key <= end (absent bound = unbounded), in
  // (index key, primary key) order.
  std::vector<value> range_by_index(std::string_view store, std::string_view index,
                                    const std::optional<value>& start,
                                    const std::optional<value>& end);
  Cursor open_cursor(std::string_view store, std::optional<std::string> index = {},
                     std::optional<KeyRange> range = {}, Direction dir = Direction::Next);
  QueryBuilder query(std::string_view store);

 private:
  std::shared_ptr<detail::TxnImpl> impl_;
};

// A filtered, ordered query over one store. Filters are ANDed and applied
// before offset and limit. It drives from the most selective usable index
// (eq < in < range on a single-path, non-multiEntry index) or the primary
// key, and checks every filter on every candidate document. A field whose
// value is missing or not a valid key matches no filter and sorts last.
class QueryBuilder {
 public:
  QueryBuilder(std::shared_ptr<detail::TxnImpl> txn, std::string store);
  QueryBuilder& where_eq(std::string field, value v);
  QueryBuilder& where_range(std::string field, KeyRange range);
  QueryBuilder& where_in(std::string field, std::vector<value> values);
  QueryBuilder& order_by(std::string field, SortDir dir = SortDir::Asc);
  QueryBuilder& limit(size_t n);
  QueryBuilder& offset(size_t n);
  std::vector<value> collect();
  template <class T>
  std::vector<T> collect_as() {
    std::vector<T> out;
    for (auto& v : collect()) out.push_back(boost::json::value_to<T>(v));
    return out;
  }

  struct Filter {
    enum class Kind { Eq, In, Range } kind;
    std::string field;
    std::vector<value> values;      // Eq: one; In: many
    std::optional<KeyRange> range;  // Range
  };

 private:
  std::shared_ptr<detail::TxnImpl> txn_;
  std::string store_;
  std::vector<Filter> filters_;
  std::optional<std::pair<std::string, SortDir>> order_;
  std::optional<size_t> limit_;
  size_t offset_ = 0;
};

class JsonDB {
 public:
  // Opens the engine (Engine::open) and the JsonDB catalog in it.
  // InvalidArgument if config.default_ttl_secs is set (documents never expire).
  static std::unique_ptr<JsonDB> open(Config config);
  // Uses an already open engine; JsonDB keys live under the "\0J" prefix.
  static std::unique_ptr<JsonDB> from_engine(std::unique_ptr<Engine> engine);
  ~JsonDB();
  JsonDB(const JsonDB&) = delete;
  JsonDB& operator=(const JsonDB&) = delete;

  Engine& engine();
  void close();
  void shutdown();

  // --- Schema (each call is atomic and durable on its own).
  // SyntaxError: invalid key path; ConstraintError: name exists;
  // InvalidAccessError: auto_increment with "" or a list key path.
  void create_object_store(const std::string& name, std::optional<KeyPath> key_path = {},
                           bool auto_increment = false);
  void delete_object_store(const std::string& name);  // NotFoundError
  // ConstraintError if the name exists or `unique` and existing records
  // collide (no index is left behind); InvalidAccessError for multi_entry
  // with a list key path.
  void create_index(const std::string& store, const std::string& name, KeyPath key_path,
                    bool unique = false, bool multi_entry = false);
  void delete_index(const std::string& store, const std::string& name);
  std::vector<std::string> store_names() const;  // sorted
  std::optional<StoreDef> get_store(const std::string& name) const;
  // Creates the store or adds its missing indexes (existing ones are kept).
  void apply_store(const StoreSchema& schema);
  void apply_schemas(const std::vector<StoreSchema>& schemas);
  template <class T>
  void apply_schema() {
    apply_store(document_traits<T>::schema());
  }

  // --- Transactions. NotFoundError for an unknown store;
  // InvalidAccessError for an empty list.
  Transaction transaction(const std::vector<std::string>& stores, TransactionMode mode);

  // --- Data: each call is its own transaction (see Transaction).
  value put(std::string_view store, const value& doc, std::optional<value> key = {});
  value add(std::string_view store, const value& doc, std::optional<value> key = {});
  value put_auto(std::string_view store, const value& doc);
  std::optional<value> get(std::string_view store, const value& key);
  void remove(std::string_view store, const value& key);
  void remove(std::string_view store, const KeyRange& range);
  void clear(std::string_view store);
  uint64_t count(std::string_view store, const std::optional<KeyRange>& range = {});
  std::vector<value> get_all(std::string_view store, const std::optional<KeyRange>& range = {},
                             std::optional<uint32_t> count = {});
  std::vector<value> get_all_keys(std::string_view store, const std::optional<KeyRange>& range = {},
                                  std::optional<uint32_t> count = {});
  std::vector<value> get_by_index(std::string_view store, std::string_view index, const value& key);
  std::vector<value> range_by_index(std::string_view store, std::string_view index,
                                    const std::optional<value>& start,
                                    const std::optional<value>& end);
  // A cursor in its own read-only snapshot transaction (update/remove throw
  // ReadOnlyError; use Transaction::open_cursor to modify).
  Cursor open_cursor(std::string_view store, std::optional<std::string> index = {},
                     std::optional<KeyRange> range = {}, Direction dir = Direction::Next);
  // Every record of `store` in primary key order, streamed.
  Cursor scan(std::string_view store);
  QueryBuilder query(std::string_view store);

  // --- Typed documents (T described with Boost.Describe + document_traits).
  template <class T>
  value put_doc(const T& doc) {
    return put(store_of<T>(), boost::json::value_from(doc));
  }
  template <class T>
  std::optional<T> get_doc(const value& key) {
    auto v = get(store_of<T>(), key);
    if (!v) return std::nullopt;
    return boost::json::value_to<T>(*v);
  }
  template <class T>
  void remove_doc(const value& key) {
    remove(store_of<T>(), key);
  }

 private:
  explicit JsonDB(std::shared_ptr<detail::DbState> state);
  template <class T>
  static const std::string& store_of() {
    static const std::string name = document_traits<T>::schema().def().name;
    return name;
  }
  std::shared_ptr<detail::TxnImpl> begin(std::string_view store, TransactionMode mode,
                                         bool snapshot);
  std::shared_ptr<detail::DbState> state_;
};

}  // namespace flowdb::jsondb
