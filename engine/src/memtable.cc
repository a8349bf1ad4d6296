#include "memtable.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>

#include "bloom.h"
#include "coding.h"

namespace flowdb {

namespace {

constexpr size_t kArenaBlock = 256 * 1024;
// Entry-list heads kept inside a series until one of its entries is taller.
constexpr int kInlineHeads = 2;
// Per-series chunks: the first holds the series and its first entry exactly;
// the next ones start at kFirstChunk bytes and grow by a quarter up to
// kMaxChunk (a quarter bounds the unused tail of a series' last chunk to a
// small share of its bytes). Larger entries get their own allocation.
constexpr size_t kFirstChunk = 256;
constexpr size_t kMaxChunk = 2048;
constexpr size_t kMaxChunkedEntry = 512;
constexpr size_t kMinIndexSlots = 256;

inline size_t round8(size_t n) { return (n + 7) & ~size_t{7}; }

// Orders two internal-key suffixes (fixed64(ts ^ sign bit), fixed64(seq << 8
// | type)) as compare_internal_keys does for equal user keys: ts ascending
// (the sign-flipped encoding orders as unsigned), then sequence descending.
inline int compare_suffix(const char* a, const char* b) {
  const uint64_t ta = decode_fixed64(a), tb = decode_fixed64(b);
  if (ta != tb) return ta < tb ? -1 : 1;
  const uint64_t sa = decode_fixed64(a + 8), sb = decode_fixed64(b + 8);
  if (sa != sb) return sa > sb ? -1 : 1;
  return 0;
}

}  // namespace

char* Arena::allocate(size_t bytes) {
  bytes = round8(bytes);
  if (bytes <= remaining_) {
    char* r = ptr_;
    ptr_ += bytes;
    remaining_ -= bytes;
    return r;
  }
  if (bytes > kArenaBlock / 4) return allocate_new_block(bytes);  // big entries get their own
  ptr_ = allocate_new_block(kArenaBlock);
  remaining_ = kArenaBlock;
  char* r = ptr_;
  ptr_ += bytes;
  remaining_ -= bytes;
  return r;
}

char* Arena::allocate_new_block(size_t bytes) {
  // Not zero-filled: every byte handed out is written before it is read.
  char* p = blocks_.emplace_back(std::make_unique_for_overwrite<char[]>(bytes)).get();
  memory_usage_.fetch_add(bytes + sizeof(char*), std::memory_order_relaxed);
  return p;
}

// One entry: its tower of next pointers in its series' list, then the 16-byte
// internal-key suffix (ts, sequence and type) and the value bytes.
struct MemTable::Node {
  uint32_t value_len;
  uint32_t height;
  // Followed by height-1 more atomics (flexible array idiom).
  std::atomic<Node*> next_[1];

  static size_t bytes(int height, size_t value_len) {
    return sizeof(Node) + sizeof(std::atomic<Node*>) * (height - 1) + kInternalSuffix + value_len;
  }
  Node* next(int n) const { return next_[n].load(std::memory_order_acquire); }
  void set_next(int n, Node* x) { next_[n].store(x, std::memory_order_release); }
  const char* suffix() const { return reinterpret_cast<const char*>(&next_[height]); }
  std::string_view value() const { return std::string_view(suffix() + kInternalSuffix, value_len); }
};

// One user key: the heads of its entry list, writer-only allocation state,
// its tower in the series list, then the user key bytes.
struct MemTable::Series {
  uint32_t key_len;
  uint32_t tower;                          // height of next_, fixed
  std::atomic<int> height;                 // levels in use in the entry list
  std::atomic<std::atomic<Node*>*> heads;  // inline_heads, or kMaxHeight slots
  // Writer only.
  Node* tail;  // last entry
  char* chunk;
  uint32_t chunk_left;
  uint32_t next_chunk;
  std::atomic<Node*> inline_heads[kInlineHeads];
  // Followed by tower-1 more atomics (flexible array idiom).
  std::atomic<Series*> next_[1];

  static size_t bytes(int tower, size_t key_len) {
    return round8(sizeof(Series) + sizeof(std::atomic<Series*>) * (tower - 1) + key_len);
  }
  Series* next(int n) const { return next_[n].load(std::memory_order_acquire); }
  void set_next(int n, Series* x) { next_[n].store(x, std::memory_order_release); }
  std::string_view key() const {
    return std::string_view(reinterpret_cast<const char*>(&next_[tower]), key_len);
  }
  Node* first() const {
    return heads.load(std::memory_order_acquire)[0].load(std::memory_order_acquire);
  }

  // Reader side: first entry with suffix >= sfx (or_equal false), or last
  // entry with suffix <= sfx (or_equal true: returns the predecessor).
  const Node* search(const char* sfx, bool last_le) const {
    const std::atomic<Node*>* h = heads.load(std::memory_order_acquire);
    const int cap = h == inline_heads ? kInlineHeads : kMaxHeight;
    int level = std::min(height.load(std::memory_order_relaxed), cap) - 1;
    const Node* x = nullptr;  // null: the heads
    while (true) {
      const Node* next = x != nullptr ? x->next(level) : h[level].load(std::memory_order_acquire);
      const int c = next != nullptr ? compare_suffix(next->suffix(), sfx) : 1;
      if (c < 0 || (last_le && c == 0)) {
        x = next;
      } else {
        if (level == 0) return last_le ? x : next;
        --level;
      }
    }
  }
};

namespace {

void fill_key(std::string_view user_key, const char* sfx, ParsedInternalKey* k) {
  const uint64_t st = decode_fixed64(sfx + 8);
  k->user_key = user_key;
  k->ts = static_cast<int64_t>(decode_fixed64(sfx) ^ (uint64_t{1} << 63));
  k->seq = st >> 8;
  k->type = static_cast<ValueType>(st & 0xff);
}

}  // namespace

MemTable::MemTable()
    : min_ts_(std::numeric_limits<int64_t>::max()), max_ts_(std::numeric_limits<int64_t>::min()) {
  char* mem = arena_.allocate(Series::bytes(kMaxHeight, 0));
  head_ = new (mem) Series;
  head_->key_len = 0;
  head_->tower = kMaxHeight;
  head_->height.store(1, std::memory_order_relaxed);
  head_->heads.store(head_->inline_heads, std::memory_order_relaxed);
  for (auto& h : head_->inline_heads) h.store(nullptr, std::memory_order_relaxed);
  for (int i = 0; i < kMaxHeight; ++i) new (&head_->next_[i]) std::atomic<Series*>(nullptr);
}

MemTable::~MemTable() = default;

int MemTable::random_height() {
  int h = 1;
  while (h < kMaxHeight && (rnd_() % 4) == 0) ++h;
  return h;
}

template <typename IsKey>
size_t MemTable::probe(const std::vector<Series*>& t, uint64_t hash, IsKey&& is_key) {
  const size_t mask = t.size() - 1;
  size_t i = hash & mask;
  while (t[i] != nullptr && !is_key(t[i])) i = (i + 1) & mask;
  return i;
}

MemTable::Series* MemTable::find_series(std::string_view user_key, uint64_t hash) const {
  auto is_key = [&](const Series* s) { return s->key() == user_key; };
  if (!index_.empty()) {
    if (Series* s = index_[probe(index_, hash, is_key)]) return s;
  }
  if (!old_index_.empty()) return old_index_[probe(old_index_, hash, is_key)];
  return nullptr;
}

void MemTable::index_migrate(size_t slots) noexcept {
  auto none = [](const Series*) { return false; };
  const size_t end = std::min(old_index_.size(), migrate_pos_ + slots);
  for (; migrate_pos_ < end; ++migrate_pos_) {
    Series* o = old_index_[migrate_pos_];
    if (o != nullptr) index_[probe(index_, bloom_hash(o->key()), none)] = o;
  }
  if (migrate_pos_ == old_index_.size()) {
    std::vector<Series*>().swap(old_index_);
    migrate_pos_ = 0;
    index_bytes_.store(index_.size() * sizeof(Series*), std::memory_order_relaxed);
  }
}

void MemTable::index_reserve_one() {
  // A grown table is filled from the old one a few slots per new series, so
  // no single write pays for rehashing millions of series (a latency spike).
  // At kMigrateSlots per insert the old table (half the new one's size) is
  // drained after new.size() / 16 inserts, long before the new one reaches
  // its growth point at load 1/2 (it starts at 1/4).
  constexpr size_t kMigrateSlots = 8;
  if (!old_index_.empty()) index_migrate(kMigrateSlots);
  // Keep the load at most 1/2 so that probes stay short.
  if ((index_count_ + 1) * 2 <= index_.size()) return;
  std::vector<Series*> grown(std::max(kMinIndexSlots, index_.size() * 2), nullptr);
  index_migrate(old_index_.size());  // a no-op by the bound above; keeps one old table
  old_index_.swap(index_);
  index_.swap(grown);
  migrate_pos_ = 0;
  index_bytes_.store((index_.size() + old_index_.size()) * sizeof(Series*),
                     std::memory_order_relaxed);
  if (!old_index_.empty()) index_migrate(kMigrateSlots);
}

void MemTable::index_insert(Series* s, uint64_t hash) noexcept {
  index_[probe(index_, hash, [](const Series*) { return false; })] = s;
  ++index_count_;
}

MemTable::Series* MemTable::new_series(std::string_view user_key, size_t first_entry_bytes) {
  const int tower = random_height();
  const size_t series_bytes = Series::bytes(tower, user_key.size());
  // The first entry shares the series' allocation: a key with one entry
  // (plain key-value use) costs one allocation and no unused chunk.
  const size_t entry_bytes = first_entry_bytes <= kMaxChunkedEntry ? round8(first_entry_bytes) : 0;
  char* mem = arena_.allocate(series_bytes + entry_bytes);
  Series* s = new (mem) Series;
  s->key_len = static_cast<uint32_t>(user_key.size());
  s->tower = static_cast<uint32_t>(tower);
  s->height.store(1, std::memory_order_relaxed);
  s->heads.store(s->inline_heads, std::memory_order_relaxed);
  s->tail = nullptr;
  s->chunk = mem + series_bytes;
  s->chunk_left = static_cast<uint32_t>(entry_bytes);
  s->next_chunk = kFirstChunk;
  for (auto& h : s->inline_heads) h.store(nullptr, std::memory_order_relaxed);
  for (int i = 1; i < tower; ++i) new (&s->next_[i]) std::atomic<Series*>(nullptr);
  s->next_[0].store(nullptr, std::memory_order_relaxed);
  std::memcpy(const_cast<char*>(s->key().data()), user_key.data(), user_key.size());
  return s;
}

char* MemTable::allocate_entry(Series* s, size_t bytes) {
  bytes = round8(bytes);
  if (bytes > kMaxChunkedEntry) return arena_.allocate(bytes);
  if (s->chunk_left < bytes) {
    const size_t c = std::max<size_t>(s->next_chunk, bytes);
    s->chunk = arena_.allocate(c);
    s->chunk_left = static_cast<uint32_t>(c);
    s->next_chunk =
        static_cast<uint32_t>(std::min<size_t>(kMaxChunk, s->next_chunk + s->next_chunk / 4));
  }
  char* r = s->chunk;
  s->chunk += bytes;
  s->chunk_left -= static_cast<uint32_t>(bytes);
  return r;
}

void MemTable::insert_entry(Series* s, Node* n, int height) {
  std::atomic<Node*>* heads = s->heads.load(std::memory_order_relaxed);
  const int cap = heads == s->inline_heads ? kInlineHeads : kMaxHeight;
  if (height > cap) {
    // A full-height head tower, published with release: a reader holding the
    // inline one still finds every entry it may see (the inline heads froze
    // at a consistent state; later entries are newer than its snapshot).
    auto* grown = reinterpret_cast<std::atomic<Node*>*>(
        allocate_entry(s, sizeof(std::atomic<Node*>) * kMaxHeight));
    for (int i = 0; i < kMaxHeight; ++i) {
      new (&grown[i])
          std::atomic<Node*>(i < cap ? heads[i].load(std::memory_order_relaxed) : nullptr);
    }
    s->heads.store(grown, std::memory_order_release);
    heads = grown;
  }
  const int top = s->height.load(std::memory_order_relaxed);
  const char* sfx = n->suffix();
  Node* prev[kMaxHeight];  // null: the series' heads
  if (height == 1 && (s->tail == nullptr || compare_suffix(s->tail->suffix(), sfx) < 0)) {
    prev[0] = s->tail;  // the common time-series case: a new newest point
  } else {
    Node* x = nullptr;
    for (int level = std::max(top, height) - 1; level >= 0; --level) {
      if (level < top) {
        while (true) {
          Node* next = x != nullptr ? x->next_[level].load(std::memory_order_relaxed)
                                    : heads[level].load(std::memory_order_relaxed);
          if (next == nullptr || compare_suffix(next->suffix(), sfx) >= 0) break;
          x = next;
        }
      }
      prev[level] = x;
    }
  }
  if (height > top) s->height.store(height, std::memory_order_relaxed);
  for (int i = 0; i < height; ++i) {
    std::atomic<Node*>& link = prev[i] != nullptr ? prev[i]->next_[i] : heads[i];
    n->next_[i].store(link.load(std::memory_order_relaxed), std::memory_order_relaxed);
    link.store(n, std::memory_order_release);
  }
  if (n->next_[0].load(std::memory_order_relaxed) == nullptr) s->tail = n;
}

void MemTable::add(std::string_view ikey, std::string_view value) {
  const std::string_view user_key = extract_user_key(ikey);
  const int height = random_height();
  const size_t node_bytes = Node::bytes(height, value.size());
  const uint64_t hash = bloom_hash(user_key);
  Series* s = find_series(user_key, hash);
  const bool fresh = s == nullptr;
  // A new series is indexed only once linked, and nothing after the link can
  // throw: an allocation failure before it leaves no half-added series that a
  // later add would find but readers and flush would not.
  if (fresh) {
    index_reserve_one();
    s = new_series(user_key, node_bytes);
  }

  Node* n = new (allocate_entry(s, node_bytes)) Node;
  n->value_len = static_cast<uint32_t>(value.size());
  n->height = static_cast<uint32_t>(height);
  for (int i = 1; i < height; ++i) new (&n->next_[i]) std::atomic<Node*>(nullptr);
  char* data = const_cast<char*>(n->suffix());
  std::memcpy(data, ikey.data() + user_key.size(), kInternalSuffix);
  if (!value.empty()) std::memcpy(data + kInternalSuffix, value.data(), value.size());
  insert_entry(s, n, height);

  if (fresh) {
    // Linked only now, with its first entry in place: readers never see an
    // empty series.
    Series* prev[kMaxHeight];
    find_series_ge(user_key, prev);
    const int top = max_height_.load(std::memory_order_relaxed);
    const int tower = static_cast<int>(s->tower);
    if (tower > top) {
      for (int i = top; i < tower; ++i) prev[i] = head_;
      max_height_.store(tower, std::memory_order_relaxed);
    }
    for (int i = 0; i < tower; ++i) {
      s->next_[i].store(prev[i]->next_[i].load(std::memory_order_relaxed),
                        std::memory_order_relaxed);
      prev[i]->set_next(i, s);
    }
    index_insert(s, hash);
  }
  const int64_t ts = extract_ts(ikey);
  if (ts < min_ts_.load(std::memory_order_relaxed)) min_ts_.store(ts, std::memory_order_relaxed);
  if (ts > max_ts_.load(std::memory_order_relaxed)) max_ts_.store(ts, std::memory_order_relaxed);
  num_entries_.fetch_add(1, std::memory_order_release);
}

MemTable::Series* MemTable::find_series_ge(std::string_view user_key, Series** prev) const {
  Series* x = head_;
  int level = max_height_.load(std::memory_order_relaxed) - 1;
  while (true) {
    Series* next = x->next(level);
    if (next != nullptr && next->key() < user_key) {
      x = next;
    } else {
      if (prev != nullptr) prev[level] = x;
      if (level == 0) return next;
      --level;
    }
  }
}

MemTable::Series* MemTable::find_series_eq(std::string_view user_key) const {
  Series* s = find_series_ge(user_key, nullptr);
  return s != nullptr && s->key() == user_key ? s : nullptr;
}

bool MemTable::seek(std::string_view target, ParsedInternalKey* key,
                    std::string_view* value) const {
  const Series* s = find_series_eq(extract_user_key(target));
  if (s == nullptr) return false;
  const Node* n = s->search(target.data() + target.size() - kInternalSuffix, false);
  if (n == nullptr) return false;
  fill_key(s->key(), n->suffix(), key);
  *value = n->value();
  return true;
}

bool MemTable::seek_last(std::string_view target, ParsedInternalKey* key,
                         std::string_view* value) const {
  const Series* s = find_series_eq(extract_user_key(target));
  if (s == nullptr) return false;
  const Node* n = s->search(target.data() + target.size() - kInternalSuffix, true);
  if (n == nullptr) return false;
  fill_key(s->key(), n->suffix(), key);
  *value = n->value();
  return true;
}

// Walks the series list, and within each series its entry list. key() is
// rebuilt in key_: the whole key when the series changes, else the suffix.
class MemTable::Iter final : public InternalIterator {
 public:
  explicit Iter(const MemTable* m) : mem_(m) {}
  bool valid() const override { return node_ != nullptr; }
  void seek_to_first() override { start_series(mem_->head_->next(0)); }
  void seek(std::string_view target) override {
    const std::string_view user_key = extract_user_key(target);
    Series* s = mem_->find_series_ge(user_key, nullptr);
    if (s != nullptr && s->key() == user_key) {
      const Node* n = s->search(target.data() + target.size() - kInternalSuffix, false);
      if (n != nullptr) {
        series_ = s;
        node_ = n;
        key_.assign(s->key());
        key_.append(n->suffix(), kInternalSuffix);
        return;
      }
      s = s->next(0);
    }
    start_series(s);
  }
  void next() override {
    const Node* n = node_->next(0);
    if (n == nullptr) {
      start_series(series_->next(0));
      return;
    }
    node_ = n;
    // A series' entries lie in ascending order in its chunks: fetch ahead.
    __builtin_prefetch(reinterpret_cast<const char*>(n) + 256);
    std::memcpy(key_.data() + key_.size() - kInternalSuffix, n->suffix(), kInternalSuffix);
  }
  std::string_view key() const override { return key_; }
  std::string_view value() const override { return node_->value(); }

 private:
  void start_series(const Series* s) {
    series_ = s;
    node_ = s != nullptr ? s->first() : nullptr;
    if (node_ != nullptr) {
      key_.assign(s->key());
      key_.append(node_->suffix(), kInternalSuffix);
    }
  }

  const MemTable* mem_;
  const Series* series_ = nullptr;
  const Node* node_ = nullptr;
  std::string key_;
};

std::unique_ptr<InternalIterator> MemTable::new_iterator() const {
  return std::make_unique<Iter>(this);
}

}  // namespace flowdb
