// flowdb::Engine: the public face of DBImpl.
#include "flowdb/engine.h"

#include "db_impl.h"

namespace flowdb {

uint64_t Snapshot::sequence() const { return state_->seq; }

MaintenanceHandle::MaintenanceHandle(std::shared_ptr<DBImpl> db) : db_(std::move(db)) {}
MaintenanceHandle::MaintenanceHandle(MaintenanceHandle&& o) noexcept : db_(std::move(o.db_)) {}
MaintenanceHandle& MaintenanceHandle::operator=(MaintenanceHandle&& o) noexcept {
  if (this != &o) {
    stop();
    db_ = std::move(o.db_);
  }
  return *this;
}
MaintenanceHandle::~MaintenanceHandle() { stop(); }
void MaintenanceHandle::stop() {
  if (db_) db_->stop_maintenance();
  db_.reset();
}

Engine::Engine(std::shared_ptr<DBImpl> impl) : impl_(std::move(impl)) {}

std::unique_ptr<Engine> Engine::open(Config config) {
  auto impl = std::make_shared<DBImpl>(std::move(config));
  impl->open();
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Engine::~Engine() {
  // A destructor cannot throw: the error goes to Config::logger, and callers
  // who need it call close() first.
  try {
    impl_->close();
  } catch (const std::exception& e) {
    impl_->log_event(Logger::Level::kError, std::string("error while closing: ") + e.what());
  }
}

namespace {
WriteBatch to_batch(std::span<const Record> records) {
  WriteBatch b;
  for (const auto& r : records) b.put(r);
  return b;
}
}  // namespace

void Engine::write_batch(std::span<const Record> batch) {
  impl_->require_writable("write_batch");
  impl_->write(to_batch(batch), WriteOptions{});
}
void Engine::write_batch(std::vector<Record>&& batch) {
  impl_->require_writable("write_batch");
  WriteBatch b;
  for (auto& r : batch) b.put(std::move(r));
  impl_->write(b, WriteOptions{});
}
void Engine::write_batch_sync(std::span<const Record> batch) {
  impl_->require_writable("write_batch_sync");
  impl_->write(to_batch(batch), WriteOptions{.sync = true});
}
void Engine::write_batch_ttl(std::span<const Record> batch, std::optional<uint64_t> ttl_secs) {
  impl_->require_writable("write_batch_ttl");
  impl_->write(to_batch(batch), WriteOptions{.ttl_secs = ttl_secs});
}
void Engine::write(const WriteOptions& options, const WriteBatch& batch) {
  impl_->require_writable("write");
  impl_->write(batch, options);
}
void Engine::write(const WriteBatch& batch) { write(WriteOptions{}, batch); }
void Engine::delete_batch(std::span<const std::pair<std::string, int64_t>> keys_ts) {
  impl_->require_writable("delete_batch");
  WriteBatch b;
  for (const auto& [k, ts] : keys_ts) b.del(k, ts);
  impl_->write(b, WriteOptions{});
}
void Engine::delete_range(std::string_view start_key, std::string_view end_key) {
  impl_->require_writable("delete_range");
  WriteBatch b;
  b.delete_range(std::string(start_key), std::string(end_key));
  impl_->write(b, WriteOptions{});
}
Record Engine::patch_record(std::string_view key, int64_t ts, std::optional<std::string> new_value,
                            std::optional<uint64_t> new_ttl_secs) {
  impl_->require_writable("patch_record");
  return impl_->patch_record(key, ts, std::move(new_value), new_ttl_secs);
}

std::optional<Record> Engine::get(std::string_view key, int64_t ts, const ReadOptions& opts) {
  return impl_->get(key, ts, opts);
}
std::optional<Record> Engine::get_latest(std::string_view key, const ReadOptions& opts) {
  return impl_->get_latest(key, opts);
}
std::vector<Record> Engine::query(const Query& q, const ReadOptions& opts) {
  std::vector<Record> out;
  if (q.limit && *q.limit == 0) return out;
  ScanIterator it = impl_->new_scan(q.range, opts);
  while (const Record* r = it.next()) {
    out.push_back(*r);
    if (q.limit && out.size() >= *q.limit) break;  // after every filter
  }
  return out;
}
ScanIterator Engine::scan(const ScanRange& range, const ReadOptions& opts) {
  return impl_->new_scan(range, opts);
}
std::shared_ptr<const Snapshot> Engine::get_snapshot() {
  return std::make_shared<const Snapshot>(impl_->snapshot());
}

void Engine::flush() {
  impl_->require_writable("flush");
  impl_->flush();
}
bool Engine::trigger_compaction() {
  impl_->require_writable("trigger_compaction");
  return impl_->trigger_compaction();
}
GcResult Engine::trigger_gc() {
  impl_->require_writable("trigger_gc");
  return impl_->trigger_gc();
}
MaintenanceHandle Engine::spawn_background_maintenance() {
  impl_->require_writable("spawn_background_maintenance");
  impl_->start_maintenance();
  return MaintenanceHandle(impl_);
}
std::vector<BucketInfo> Engine::list_buckets() { return impl_->list_buckets(); }
GcResult Engine::drop_bucket(int64_t bucket) {
  impl_->require_writable("drop_bucket");
  return impl_->drop_bucket(bucket);
}
bool Engine::compact_bucket(int64_t bucket) {
  impl_->require_writable("compact_bucket");
  return impl_->compact_bucket(bucket);
}

bool Engine::maybe_compact_bucket(int64_t bucket, size_t max_files) {
  impl_->require_writable("maybe_compact_bucket");
  return impl_->compact_bucket_tiered(bucket, max_files, true);
}
uint64_t Engine::disk_usage() { return impl_->disk_usage(); }
std::unique_ptr<ChangeFeed> Engine::open_feed(const std::string& name) {
  impl_->require_writable("open_feed");
  return std::make_unique<ChangeFeed>(impl_, impl_->open_feed(name));
}
void Engine::drop_feed(const std::string& name) {
  impl_->require_writable("drop_feed");
  impl_->drop_feed(name);
}
std::vector<FeedInfo> Engine::list_feeds() { return impl_->list_feeds(); }
uint64_t Engine::trim_feed_backlog(uint64_t bytes) {
  impl_->require_writable("trim_feed_backlog");
  return impl_->trim_feed_backlog(bytes);
}
BackgroundError Engine::background_error() { return impl_->background_error(); }
void Engine::resume() {
  impl_->require_writable("resume");
  impl_->resume();
}
EngineStats Engine::stats() { return impl_->stats(); }
uint64_t Engine::verify_checksums() { return impl_->verify_checksums(); }
const Config& Engine::config() const { return impl_->config(); }
void Engine::close() { impl_->close(); }
void Engine::shutdown() {
  impl_->close();
  impl_->release_lock();
}

}  // namespace flowdb
