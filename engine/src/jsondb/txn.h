// Internal state shared by JsonDB, its transactions and cursors.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "flowdb/engine.h"
#include "flowdb/jsondb.h"
#include "jsondb/kv.h"
#include "mutex.h"

namespace flowdb::jsondb::detail {

// The schema: stores by name. Immutable once published (copy on write).
struct Catalog {
  std::map<std::string, StoreDef, std::less<>> stores;
  uint32_t next_id = 1;
};

// StoreDef <-> JSON (persisted under meta_key('S', id)).
value store_def_to_json(const StoreDef& s);
StoreDef store_def_from_json(const value& v);

// Owned by JsonDB and shared with every transaction (so that none outlives
// the engine). Thread-safe.
class DbState {
 public:
  explicit DbState(std::unique_ptr<Engine> e) : engine(std::move(e)) {}
  std::unique_ptr<Engine> engine;

  std::shared_ptr<const Catalog> catalog() const {
    MutexLock l(&catalog_mu_);
    return catalog_;
  }
  void publish(std::shared_ptr<const Catalog> c) {
    MutexLock l(&catalog_mu_);
    catalog_ = std::move(c);
  }
  // The writer lock. Throws InvalidStateError if this thread already holds it.
  std::unique_lock<std::mutex> lock_writer();
  void unlock_writer(std::unique_lock<std::mutex>* l);
  void check_open() const {
    if (closed.load()) throw Error(Errc::Closed, "jsondb: database is closed");
  }
  std::atomic<bool> closed{false};

 private:
  mutable Mutex catalog_mu_;
  std::shared_ptr<const Catalog> catalog_ GUARDED_BY(catalog_mu_);
  // Serialises read-write transactions; it guards no member here. A
  // transaction holds it from creation to commit or abort, moving the
  // unique_lock between objects, which Clang's scoped analysis cannot follow
  // (hence std::mutex, not Mutex).
  std::mutex writer_mu_;
  std::atomic<std::thread::id> writer_owner_{};
};

// One transaction: the overlay (Kv) plus the data operations of the API.
class TxnImpl {
 public:
  // `scope` empty = every store of the catalog. ReadWrite: pass the held writer lock.
  TxnImpl(std::shared_ptr<DbState> db, std::shared_ptr<const Catalog> catalog,
          std::vector<std::string> scope, TransactionMode mode, bool snapshot,
          std::unique_lock<std::mutex> writer);
  ~TxnImpl();

  TransactionMode mode() const { return mode_; }
  bool active() const { return active_; }
  void commit();
  void abort();

  // Throws TransactionInactiveError / NotFoundError.
  const StoreDef& store(std::string_view name) const;
  const IndexDef& index(const StoreDef& s, std::string_view name) const;
  void check_active() const;
  void check_writable() const;

  value put(std::string_view store, const value& doc, const std::optional<value>& key,
            bool no_overwrite);
  std::optional<value> get(std::string_view store, const value& key);
  void remove(std::string_view store, const value& key);
  void remove(std::string_view store, const KeyRange& range);
  void clear(std::string_view store);
  uint64_t count(std::string_view store, const std::optional<KeyRange>& range);
  // keys_only: primary keys instead of documents.
  std::vector<value> get_all(std::string_view store, const std::optional<KeyRange>& range,
                             std::optional<uint32_t> count, bool keys_only);
  // Documents whose index key is in `range`, in (index key, pk) order.
  std::vector<value> index_range(std::string_view store, std::string_view index,
                                 const std::optional<KeyRange>& range,
                                 std::optional<size_t> limit = {});

  // Runs one request: on exception its changes are undone, then it rethrows.
  template <class F>
  auto request(F&& f) {
    check_active();
    kv_.begin_request();
    try {
      if constexpr (std::is_void_v<decltype(f())>) {
        f();
        kv_.end_request(true);
      } else {
        auto r = f();
        kv_.end_request(true);
        return r;
      }
    } catch (...) {
      kv_.end_request(false);
      throw;
    }
  }

  Kv& kv() { return kv_; }
  const std::shared_ptr<const Catalog>& catalog() const { return catalog_; }
  std::shared_ptr<DbState> db() const { return db_; }

  // Index maintenance for one record (used by put/remove and create_index).
  void add_index_entries(const StoreDef& s, const IndexDef& ix, const value& doc,
                         const std::string& enc_pk);
  void remove_index_entries(const StoreDef& s, const value& doc, const std::string& enc_pk);

 private:
  void remove_record(const StoreDef& s, const std::string& data_key, const std::string& raw_doc,
                     std::string_view enc_pk);
  int64_t read_counter(const std::string& key, int64_t dflt);
  void add_count(const StoreDef& s, int64_t delta);

  std::shared_ptr<DbState> db_;
  std::shared_ptr<const Catalog> catalog_;
  std::vector<std::string> scope_;
  TransactionMode mode_;
  std::unique_lock<std::mutex> writer_;
  Kv kv_;
  bool active_ = true;
};

Cursor open_cursor(std::shared_ptr<TxnImpl> txn, std::string_view store,
                   std::optional<std::string> index, std::optional<KeyRange> range, Direction dir);

// [lo, hi) engine keys under `prefix` for the keys in `range` (all if none).
std::pair<std::string, std::string> range_bounds(const std::string& prefix,
                                                 const std::optional<KeyRange>& range);

}  // namespace flowdb::jsondb::detail
