#include "memtable.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "coding.h"
#include "dbformat.h"

namespace flowdb {

namespace {
constexpr size_t kArenaBlock = 256 * 1024;
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

// One allocation per entry: the node, its tower of next pointers, then the
// internal key and value bytes.
struct MemTable::Node {
  const char* data;
  uint32_t key_len;
  uint32_t value_len;
  // Followed by height-1 more atomics (flexible array idiom).
  std::atomic<Node*> next_[1];

  Node* next(int n) const { return next_[n].load(std::memory_order_acquire); }
  void set_next(int n, Node* x) { next_[n].store(x, std::memory_order_release); }
  std::string_view key() const { return std::string_view(data, key_len); }
  std::string_view value() const { return std::string_view(data + key_len, value_len); }
};

MemTable::MemTable()
    : head_(new_node({}, {}, kMaxHeight)),
      min_ts_(std::numeric_limits<int64_t>::max()),
      max_ts_(std::numeric_limits<int64_t>::min()) {
  for (int i = 0; i < kMaxHeight; ++i) {
    head_->set_next(i, nullptr);
    hint_[i] = head_;
  }
}

MemTable::~MemTable() = default;

MemTable::Node* MemTable::new_node(std::string_view key, std::string_view value, int height) {
  const size_t node_bytes = sizeof(Node) + sizeof(std::atomic<Node*>) * (height - 1);
  char* mem = arena_.allocate(node_bytes + key.size() + value.size());
  Node* n = new (mem) Node;
  char* data = mem + node_bytes;
  if (!key.empty()) std::memcpy(data, key.data(), key.size());
  if (!value.empty()) std::memcpy(data + key.size(), value.data(), value.size());
  n->data = data;
  n->key_len = static_cast<uint32_t>(key.size());
  n->value_len = static_cast<uint32_t>(value.size());
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
  Node* prev[kMaxHeight];
  const int top = max_height_.load(std::memory_order_relaxed);
  // Finger search: when keys arrive in ascending order (the engine sorts each
  // group), the previous insert's predecessors are predecessors of this key
  // too, so each level resumes from there instead of from the head.
  const bool use_hint = last_ != nullptr && compare_internal_keys(last_->key(), ikey) < 0;
  Node* x = head_;
  for (int level = top - 1; level >= 0; --level) {
    if (use_hint) {
      Node* h = hint_[level];
      if (h != head_ && (x == head_ || compare_internal_keys(h->key(), x->key()) > 0)) x = h;
    }
    while (true) {
      Node* next = x->next(level);
      if (next == nullptr || compare_internal_keys(next->key(), ikey) >= 0) break;
      x = next;
    }
    prev[level] = x;
  }
  int height = random_height();
  if (height > top) {
    for (int i = top; i < height; ++i) prev[i] = head_;
    max_height_.store(height, std::memory_order_relaxed);
  }
  Node* n = new_node(ikey, value, height);
  for (int i = 0; i < height; ++i) {
    n->next_[i].store(prev[i]->next(i), std::memory_order_relaxed);
    prev[i]->set_next(i, n);
  }
  const int levels = std::max(height, top);
  for (int i = 0; i < levels; ++i) hint_[i] = i < height ? n : prev[i];
  last_ = n;
  int64_t ts = extract_ts(ikey);
  if (ts < min_ts_.load(std::memory_order_relaxed)) min_ts_.store(ts, std::memory_order_relaxed);
  if (ts > max_ts_.load(std::memory_order_relaxed)) max_ts_.store(ts, std::memory_order_relaxed);
  num_entries_.fetch_add(1, std::memory_order_release);
}

bool MemTable::seek(std::string_view target, std::string_view* key, std::string_view* value) const {
  Node* n = find_greater_or_equal(target, nullptr);
  if (n == nullptr) return false;
  *key = n->key();
  *value = n->value();
  return true;
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
  std::string_view value() const override { return node_->value(); }

 private:
  const MemTable* mem_;
  Node* node_ = nullptr;
};

std::unique_ptr<InternalIterator> MemTable::new_iterator() const {
  return std::make_unique<Iter>(this);
}

}  // namespace flowdb
