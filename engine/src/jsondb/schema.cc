// JsonDB: opening, the catalog, and schema changes.
#include <boost/json.hpp>

#include "flowdb/jsondb.h"
#include "jsondb/key_codec.h"
#include "jsondb/keypath.h"
#include "jsondb/txn.h"

namespace flowdb::jsondb {
namespace {

using detail::Catalog;
using detail::DbState;
using detail::TxnImpl;

std::shared_ptr<const Catalog> load_catalog(Engine* engine) {
  auto cat = std::make_shared<Catalog>();
  const std::string prefix = detail::kNamespace + "mS";
  for (const Record& r : engine->scan(ScanRange::prefix(prefix))) {
    StoreDef s = detail::store_def_from_json(boost::json::parse(r.value));
    std::string name = s.name;
    cat->stores.emplace(std::move(name), std::move(s));
  }
  if (auto r = engine->get(detail::next_id_key(), 0)) {
    cat->next_id = static_cast<uint32_t>(std::stoul(r->value));
  }
  return cat;
}

// Runs `f(catalog copy, txn)` under the writer lock, writes the txn's
// changes as one batch and publishes the new catalog.
template <class F>
void schema_change(const std::shared_ptr<DbState>& st, F&& f) {
  st->check_open();
  auto lock = st->lock_writer();
  auto cat = std::make_shared<Catalog>(*st->catalog());
  try {
    TxnImpl txn(st, cat, {}, TransactionMode::ReadWrite, false, std::unique_lock<std::mutex>());
    f(*cat, txn);
    WriteBatch batch;
    txn.kv().to_batch(&batch);
    batch.put(Record(detail::next_id_key(), 0, std::to_string(cat->next_id)));
    st->engine->write(batch);
    st->publish(std::move(cat));
  } catch (...) {
    st->unlock_writer(&lock);
    throw;
  }
  st->unlock_writer(&lock);
}

void save_store(TxnImpl& txn, const StoreDef& s) {
  txn.kv().put(detail::meta_key('S', s.id), boost::json::serialize(detail::store_def_to_json(s)));
}

}  // namespace

JsonDB::JsonDB(std::shared_ptr<DbState> state) : state_(std::move(state)) {}

JsonDB::~JsonDB() {
  try {
    shutdown();  // releases the directory even if transactions are still referenced
  } catch (const std::exception&) {
  }
}

std::unique_ptr<JsonDB> JsonDB::open(Config config) {
  if (config.default_ttl_secs) {
    throw Error(Errc::InvalidArgument,
                "jsondb: default_ttl_secs must be unset (documents never expire)");
  }
  return from_engine(Engine::open(std::move(config)));
}

std::unique_ptr<JsonDB> JsonDB::from_engine(std::unique_ptr<Engine> engine) {
  if (!engine) throw Error(Errc::InvalidArgument, "jsondb: null engine");
  auto st = std::make_shared<DbState>(std::move(engine));
  st->publish(load_catalog(st->engine.get()));
  return std::unique_ptr<JsonDB>(new JsonDB(std::move(st)));
}

Engine& JsonDB::engine() { return *state_->engine; }

void JsonDB::close() {
  if (state_->closed.exchange(true)) return;
  state_->engine->close();
}

void JsonDB::shutdown() {
  state_->closed.store(true);
  state_->engine->shutdown();
}

void JsonDB::create_object_store(const std::string& name, std::optional<KeyPath> key_path,
                                 bool auto_increment) {
  if (key_path) detail::check_key_path(*key_path);
  schema_change(state_, [&](Catalog& cat, TxnImpl& txn) {
    if (cat.stores.count(name)) {
      throw Error(Errc::ConstraintError, "jsondb: object store exists: " + name);
    }
    if (auto_increment && key_path && (key_path->is_list() || key_path->str().empty())) {
      throw Error(Errc::InvalidAccessError,
                  "jsondb: auto_increment needs out-of-line keys or a non-empty string key path");
    }
    StoreDef s;
    s.name = name;
    s.key_path = key_path;
    s.auto_increment = auto_increment;
    s.id = cat.next_id++;
    save_store(txn, s);
    cat.stores.emplace(name, std::move(s));
  });
}

void JsonDB::delete_object_store(const std::string& name) {
  schema_change(state_, [&](Catalog& cat, TxnImpl& txn) {
    auto it = cat.stores.find(name);
    if (it == cat.stores.end()) throw Error(Errc::NotFoundError, "jsondb: no such store: " + name);
    const uint32_t id = it->second.id;
    const std::string dp = detail::data_prefix(id);
    txn.kv().clear_range(dp, detail::successor(dp));
    std::string ip = detail::index_prefix(id, 0).substr(0, detail::kNamespace.size() + 5);
    txn.kv().clear_range(ip, detail::successor(ip));
    for (char k : {'S', 'G', 'C'}) txn.kv().del(detail::meta_key(k, id));
    cat.stores.erase(it);
  });
}

void JsonDB::create_index(const std::string& store, const std::string& name, KeyPath key_path,
                          bool unique, bool multi_entry) {
  schema_change(state_, [&](Catalog& cat, TxnImpl& txn) {
    auto it = cat.stores.find(store);
    if (it == cat.stores.end()) throw Error(Errc::NotFoundError, "jsondb: no such store: " + store);
    StoreDef& s = it->second;
    if (s.find_index(name)) throw Error(Errc::ConstraintError, "jsondb: index exists: " + name);
    detail::check_key_path(key_path);
    if (multi_entry && key_path.is_list()) {
      throw Error(Errc::InvalidAccessError, "jsondb: multi_entry index with a list key path");
    }
    IndexDef ix{name, std::move(key_path), unique, multi_entry, cat.next_id++};
    // Index the existing records (a unique violation throws: nothing is written).
    const std::string dp = detail::data_prefix(s.id);
    detail::ForwardIter rit(&txn.kv(), dp, detail::successor(dp));
    while (const detail::Entry* e = rit.next()) {
      const std::string enc_pk = e->key.substr(dp.size());
      txn.add_index_entries(s, ix, boost::json::parse(e->value), enc_pk);
    }
    s.indexes.push_back(std::move(ix));
    save_store(txn, s);
  });
}

void JsonDB::delete_index(const std::string& store, const std::string& name) {
  schema_change(state_, [&](Catalog& cat, TxnImpl& txn) {
    auto it = cat.stores.find(store);
    if (it == cat.stores.end()) throw Error(Errc::NotFoundError, "jsondb: no such store: " + store);
    StoreDef& s = it->second;
    auto ix = std::find_if(s.indexes.begin(), s.indexes.end(),
                           [&](const IndexDef& i) { return i.name == name; });
    if (ix == s.indexes.end()) throw Error(Errc::NotFoundError, "jsondb: no such index: " + name);
    const std::string ip = detail::index_prefix(s.id, ix->id);
    txn.kv().clear_range(ip, detail::successor(ip));
    s.indexes.erase(ix);
    save_store(txn, s);
  });
}

std::vector<std::string> JsonDB::store_names() const {
  std::vector<std::string> out;
  for (const auto& [n, s] : state_->catalog()->stores) out.push_back(n);
  return out;
}

std::optional<StoreDef> JsonDB::get_store(const std::string& name) const {
  auto cat = state_->catalog();
  auto it = cat->stores.find(name);
  if (it == cat->stores.end()) return std::nullopt;
  return it->second;
}

void JsonDB::apply_store(const StoreSchema& schema) {
  const StoreDef& d = schema.def();
  auto existing = get_store(d.name);
  if (!existing) {
    for (const auto& ix : d.indexes) detail::check_key_path(ix.key_path);
    create_object_store(d.name, d.key_path, d.auto_increment);
  }
  for (const auto& ix : d.indexes) {
    if (existing && existing->find_index(ix.name)) continue;
    create_index(d.name, ix.name, ix.key_path, ix.unique, ix.multi_entry);
  }
}

void JsonDB::apply_schemas(const std::vector<StoreSchema>& schemas) {
  for (const auto& s : schemas) apply_store(s);
}

}  // namespace flowdb::jsondb
