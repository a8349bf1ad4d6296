#include "merger.h"

#include <algorithm>

#include "dbformat.h"

namespace flowdb {

namespace {

// A binary min-heap of the valid children, ordered by current key. Children
// already positioned (e.g. sought one by one by the caller) are merged from
// where they stand, so no second seek is needed; unpositioned ones are
// invalid and join at the next seek.
class MergingIterator final : public InternalIterator {
 public:
  explicit MergingIterator(std::vector<std::unique_ptr<InternalIterator>> children)
      : children_(std::move(children)) {
    heap_.reserve(children_.size());
    rebuild();
  }

  bool valid() const override { return !heap_.empty(); }
  void seek_to_first() override {
    for (auto& c : children_) c->seek_to_first();
    rebuild();
  }
  void seek(std::string_view target) override {
    for (auto& c : children_) c->seek(target);
    rebuild();
  }
  void next() override {
    InternalIterator* top = heap_.front();
    top->next();
    if (top->valid()) {
      sift_down(0);
    } else {
      heap_.front() = heap_.back();
      heap_.pop_back();
      if (!heap_.empty()) sift_down(0);
    }
  }
  std::string_view key() const override { return heap_.front()->key(); }
  std::string_view value() const override { return heap_.front()->value(); }

 private:
  static bool less(InternalIterator* a, InternalIterator* b) {
    return compare_internal_keys(a->key(), b->key()) < 0;
  }
  void rebuild() {
    heap_.clear();
    for (auto& c : children_) {
      if (c->valid()) heap_.push_back(c.get());
    }
    for (size_t i = heap_.size() / 2; i-- > 0;) sift_down(i);
  }
  void sift_down(size_t i) {
    const size_t n = heap_.size();
    while (true) {
      size_t l = 2 * i + 1, r = l + 1, m = i;
      if (l < n && less(heap_[l], heap_[m])) m = l;
      if (r < n && less(heap_[r], heap_[m])) m = r;
      if (m == i) return;
      std::swap(heap_[i], heap_[m]);
      i = m;
    }
  }

  std::vector<std::unique_ptr<InternalIterator>> children_;
  std::vector<InternalIterator*> heap_;
};

class EmptyIterator final : public InternalIterator {
 public:
  bool valid() const override { return false; }
  void seek_to_first() override {}
  void seek(std::string_view) override {}
  void next() override {}
  std::string_view key() const override { return {}; }
  std::string_view value() const override { return {}; }
};

}  // namespace

std::unique_ptr<InternalIterator> new_merging_iterator(
    std::vector<std::unique_ptr<InternalIterator>> children) {
  if (children.empty()) return std::make_unique<EmptyIterator>();
  if (children.size() == 1) return std::move(children[0]);
  return std::make_unique<MergingIterator>(std::move(children));
}

}  // namespace flowdb
