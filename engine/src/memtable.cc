#include "memtable.h"

#include <cstring>
#include <limits>

#include "coding.h"
#include "dbformat.h"

namespace flowdb {

namespace {
constexpr size_t kArenaBlock = 256 * 1024;

// Entry layout in the arena: varint32 klen | key | varint32 vlen | value.
char* encode_varint32(char* p, uint32_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

std::string_view decode_entry_key(const char* p) {
  std::string_view in(p, 5);
  uint32_t n = 0;
  get_varint32(&in, &n);
  return std::string_view(in.data(), n);
}
std::string_view decode_entry_value(const char* p) {
  std::string_view k = decode_entry_key(p);
  std::string_view in(k.data() + k.size(), 5);
  uint32_t n = 0;
  get_varint32(&in, &n);
  return std::string_view(in.data(), n);
}
}  // namespace

char* Arena::allocate(size_t bytes) {
  bytes = (bytes + 7) & ~size_t{7};
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
  blocks_.push_back(std::make_unique<char[]>(bytes));
  memory_usage_.fetch_add(bytes + sizeof(char*), std::memory_order_relaxed);
  return blocks_.back().get();
}

struct MemTable::Node {
  const char* entry;
  // Node layout is followed by height-1 more atomics (flexible array idiom).
  std::atomic<Node*> next_[1];

  Node* next(int n) const { return next_[n].load(std::memory_order_acquire); }
  void set_next(int n, Node* x) { next_[n].store(x, std::memory_order_release); }
  std::string_view key() const { return decode_entry_key(entry); }
};

MemTable::MemTable()
    : head_(new_node(nullptr, kMaxHeight)),
      min_ts_(std::numeric_limits<int64_t>::max()),
      max_ts_(std::numeric_limits<int64_t>::min()) {
  for (int i = 0; i < kMaxHeight; ++i) head_->set_next(i, nullptr);
}

MemTable::~MemTable() = default;

MemTable::Node* MemTable::new_node(const char* entry, int height) {
  char* mem = arena_.allocate(sizeof(Node) + sizeof(std::atomic<Node*>) * (height - 1));
  Node* n = new (mem) Node;
  n->entry = entry;
  for (int i = 1; i < height; ++i) new (&n->next_[i]) std::atomic<Node*>(nullptr);
  return n;
}

int MemTable::random_height() {
  int h = 1;
  while (h < kMaxHeight && (rnd_() % 4) == 0) ++h;
  return h;
}

MemTable::Node* MemTable::find_greater_or_equal(std::string_view ikey, Node** prev) const {
  Node* x = head_;
  int level = max_height_.load(std::memory_order_relaxed) - 1;
  while (true) {
    Node* next = x->next(level);
    if (next != nullptr && compare_internal_keys(next->key(), ikey) < 0) {
      x = next;
    } else {
      if (prev != nullptr) prev[level] = x;
      if (level == 0) return next;
      --level;
    }
  }
}

void MemTable::add(std::string_view ikey, std::string_view value) {
  char* buf = arena_.allocate(10 + ikey.size() + value.size());
  char* p = encode_varint32(buf, static_cast<uint32_t>(ikey.size()));
  std::memcpy(p, ikey.data(), ikey.size());
  p = encode_varint32(p + ikey.size(), static_cast<uint32_t>(value.size()));
  std::memcpy(p, value.data(), value.size());

  Node* prev[kMaxHeight];
  find_greater_or_equal(ikey, prev);
  int height = random_height();
  int cur = max_height_.load(std::memory_order_relaxed);
  if (height > cur) {
    for (int i = cur; i < height; ++i) prev[i] = head_;
    max_height_.store(height, std::memory_order_relaxed);
  }
  Node* x = new_node(buf, height);
  for (int i = 0; i < height; ++i) {
    x->next_[i].store(prev[i]->next(i), std::memory_order_relaxed);
    prev[i]->set_next(i, x);
  }
  int64_t ts = extract_ts(ikey);
  if (ts < min_ts_.load(std::memory_order_relaxed)) min_ts_.store(ts, std::memory_order_relaxed);
  if (ts > max_ts_.load(std::memory_order_relaxed)) max_ts_.store(ts, std::memory_order_relaxed);
  num_entries_.fetch_add(1, std::memory_order_release);
}

class MemTable::Iter final : public InternalIterator {
 public:
  explicit Iter(const MemTable* m) : mem_(m) {}
  bool valid() const override { return node_ != nullptr; }
  void seek_to_first() override { node_ = mem_->head_->next(0); }
  void seek(std::string_view target) override {
    node_ = mem_->find_greater_or_equal(target, nullptr);
  }
  void next() override { node_ = node_->next(0); }
  std::string_view key() const override { return node_->key(); }
  std::string_view value() const override { return decode_entry_value(node_->entry); }

 private:
  const MemTable* mem_;
  Node* node_ = nullptr;
};

std::unique_ptr<InternalIterator> MemTable::new_iterator() const {
  return std::make_unique<Iter>(this);
}

}  // namespace flowdb
