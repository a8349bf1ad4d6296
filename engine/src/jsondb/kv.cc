#include "jsondb/kv.h"

#include <algorithm>
#include <deque>

#include "flowdb/error.h"

namespace flowdb::jsondb::detail {
namespace {

void put_be32(std::string* s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s->push_back(static_cast<char>(v >> (8 * i)));
}

// A string m with a < m < b in byte order, found by averaging a and b read
// as base-256 fractions past their common prefix. REQUIRES: a < b.
std::optional<std::string> midpoint(const std::string& a, const std::string& b) {
  size_t p = 0;
  while (p < a.size() && p < b.size() && a[p] == b[p]) ++p;
  // One digit past the longer string makes the average strictly between
  // them; long keys are truncated (the check below catches a bad result).
  const size_t n = std::min<size_t>(std::max(a.size(), b.size()) - p + 1, 32);
  auto digit = [](const std::string& s, size_t i) -> unsigned {
    return i < s.size() ? static_cast<unsigned char>(s[i]) : 0u;
  };
  std::vector<unsigned> sum(n);
  unsigned carry = 0;
  for (size_t i = n; i-- > 0;) {
    unsigned v = digit(a, p + i) + digit(b, p + i) + carry;
    sum[i] = v % 256;
    carry = v / 256;
  }
  // Halve (carry . sum[0] sum[1] ...) digit by digit.
  std::string m = a.substr(0, p);
  unsigned rem = carry;
  for (size_t i = 0; i < n; ++i) {
    unsigned cur = rem * 256 + sum[i];
    m.push_back(static_cast<char>(cur / 2));
    rem = cur % 2;
  }
  if (!(a < m && m < b)) return std::nullopt;
  return m;
}

}  // namespace

std::string data_prefix(uint32_t store_id) {
  std::string s = kNamespace;
  s.push_back('d');
  put_be32(&s, store_id);
  return s;
}

std::string index_prefix(uint32_t store_id, uint32_t index_id) {
  std::string s = kNamespace;
  s.push_back('i');
  put_be32(&s, store_id);
  put_be32(&s, index_id);
  return s;
}

std::string meta_key(char kind, uint32_t id) {
  std::string s = kNamespace;
  s.push_back('m');
  s.push_back(kind);
  put_be32(&s, id);
  return s;
}

std::string next_id_key() { return kNamespace + "mN"; }

std::string successor(std::string_view p) {
  auto s = prefix_successor(p);
  if (!s) throw Error(Errc::InvalidArgument, "jsondb: key has no successor");
  return *s;
}

// ---------------------------------------------------------------- Kv

Kv::Kv(Engine* engine, std::shared_ptr<const Snapshot> snapshot) : engine_(engine) {
  ro_.snapshot = std::move(snapshot);
}

bool Kv::hidden(std::string_view key) const {
  if (writes_.find(key) != writes_.end()) return true;
  for (const auto& [b, e] : cleared_) {
    if (key >= b && key < e) return true;
  }
  return false;
}

std::optional<std::string> Kv::get(const std::string& key) const {
  auto it = writes_.find(key);
  if (it != writes_.end()) return it->second;
  if (hidden(key)) return std::nullopt;
  auto r = engine_->get(key, 0, ro_);
  if (!r) return std::nullopt;
  return std::move(r->value);
}

void Kv::log(const std::string& key) {
  if (!in_request_) return;
  auto it = writes_.find(key);
  Undo u{false, key, std::nullopt};
  if (it != writes_.end()) u.prev = it->second;
  undo_.push_back(std::move(u));
}

void Kv::put(const std::string& key, std::string value) {
  log(key);
  writes_[key] = std::move(value);
}

void Kv::del(const std::string& key) {
  log(key);
  writes_[key] = std::nullopt;
}

void Kv::clear_range(const std::string& begin, const std::string& end) {
  auto it = writes_.lower_bound(begin);
  while (it != writes_.end() && it->first < end) {
    log(it->first);
    it = writes_.erase(it);
  }
  cleared_.emplace_back(begin, end);
  if (in_request_) undo_.push_back(Undo{true, {}, std::nullopt});
}

void Kv::discard() {
  writes_.clear();
  cleared_.clear();
  undo_.clear();
}

void Kv::to_batch(WriteBatch* batch) const {
  for (const auto& [b, e] : cleared_) batch->delete_range(b, e);
  for (const auto& [k, v] : writes_) {
    if (v) {
      batch->put(Record(k, 0, *v));
    } else {
      batch->del(k, 0);
    }
  }
}

void Kv::begin_request() {
  in_request_ = true;
  undo_.clear();
}

void Kv::end_request(bool keep) {
  if (!keep) {
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
      if (it->is_clear) {
        cleared_.pop_back();
      } else if (it->prev) {
        writes_[it->key] = *it->prev;
      } else {
        writes_.erase(it->key);
      }
    }
  }
  undo_.clear();
  in_request_ = false;
}

// ---------------------------------------------------------------- ForwardIter

ForwardIter::ForwardIter(const Kv* kv, std::string lo, std::string hi)
    : kv_(kv), lo_(std::move(lo)), hi_(std::move(hi)), from_(lo_) {}

void ForwardIter::seek(std::string target, bool inclusive) {
  if (target < lo_) {
    target = lo_;
    inclusive = true;
  }
  from_ = std::move(target);
  inclusive_ = inclusive;
  scan_.reset();
  head_ = nullptr;
}

const Entry* ForwardIter::next() {
  if (from_ >= hi_) return nullptr;
  if (!scan_) {
    scan_.emplace(kv_->engine()->scan(ScanRange::key_range(from_, hi_), kv_->read_options()));
    head_ = scan_->next();
  }
  while (head_ &&
         (head_->key < from_ || (!inclusive_ && head_->key == from_) || kv_->hidden(head_->key))) {
    head_ = scan_->next();
  }
  const auto& w = kv_->writes();
  auto it = inclusive_ ? w.lower_bound(from_) : w.upper_bound(from_);
  while (it != w.end() && it->first < hi_ && !it->second) ++it;
  const bool have_overlay = it != w.end() && it->first < hi_;
  if (!head_ && !have_overlay) {
    from_ = hi_;
    return nullptr;
  }
  if (have_overlay && (!head_ || it->first < head_->key)) {
    cur_.key = it->first;
    cur_.value = *it->second;
  } else {
    cur_.key = head_->key;
    cur_.value = head_->value;
    head_ = scan_->next();
  }
  from_ = cur_.key;
  inclusive_ = false;
  return &cur_;
}

// ---------------------------------------------------------------- BackwardIter

BackwardIter::BackwardIter(const Kv* kv, std::string lo, std::string hi)
    : kv_(kv), lo_(std::move(lo)), hi_(std::move(hi)), bound_(hi_), window_start_(hi_) {}

void BackwardIter::seek(std::string target, bool inclusive) {
  if (target >= hi_) {
    target = hi_;
    inclusive = false;
  }
  bound_ = std::move(target);
  inclusive_ = inclusive;
  batch_.clear();
  idx_ = 0;
  window_start_ = inclusive_ ? bound_ + '\0' : bound_;
  if (window_start_ > hi_) window_start_ = hi_;
}

// Loads the engine records just below window_start_ (at most kChunk) and
// moves window_start_ down to the start of the window they cover.
void BackwardIter::fetch() {
  batch_.clear();
  idx_ = 0;
  std::string hi = window_start_;
  if (hi <= lo_) return;
  Engine* e = kv_->engine();
  const ReadOptions& ro = kv_->read_options();
  // Reads [from, hi) keeping up to max+1 records; returns how many it saw.
  auto probe = [&](const std::string& from, size_t max) {
    batch_.clear();
    size_t n = 0;
    auto it = e->scan(ScanRange::key_range(from, hi), ro);
    while (const Record* r = it.next()) {
      if (++n > max) break;
      batch_.push_back(*r);
    }
    return n;
  };
  // Cheap case first: the whole remaining range is small.
  if (probe(lo_, kChunk) <= kChunk) {
    window_start_ = lo_;
    idx_ = batch_.size();
    return;
  }
  std::string a = lo_;
  for (int i = 0; i < 48; ++i) {
    auto m = midpoint(a, hi);
    if (!m) break;
    size_t n = probe(*m, kChunk);
    if (n == 0) {
      hi = *m;  // nothing in [m, hi): look lower
    } else if (n <= kChunk) {
      window_start_ = *m;
      idx_ = batch_.size();
      return;
    } else {
      a = *m;  // too many: look higher
    }
  }
  // Fallback: stream [a, hi) keeping the last kChunk records.
  std::deque<Record> ring;
  bool dropped = false;
  auto it = e->scan(ScanRange::key_range(a, hi), ro);
  while (const Record* r = it.next()) {
    ring.push_back(*r);
    if (ring.size() > kChunk) {
      ring.pop_front();
      dropped = true;
    }
  }
  batch_.assign(ring.begin(), ring.end());
  window_start_ = dropped ? batch_.front().key : a;
  idx_ = batch_.size();
}

const Entry* BackwardIter::next() {
  auto beyond = [this](const std::string& k) {
    return k > bound_ || (!inclusive_ && k == bound_) || k >= hi_;
  };
  const Record* eng = nullptr;
  while (true) {
    while (idx_ > 0 && (beyond(batch_[idx_ - 1].key) || kv_->hidden(batch_[idx_ - 1].key))) {
      --idx_;
    }
    if (idx_ > 0) {
      eng = &batch_[idx_ - 1];
      break;
    }
    if (window_start_ <= lo_) break;
    fetch();
  }
  const auto& w = kv_->writes();
  auto it = inclusive_ ? w.upper_bound(bound_) : w.lower_bound(bound_);
  const std::pair<const std::string, std::optional<std::string>>* ov = nullptr;
  while (it != w.begin()) {
    --it;
    if (it->first < lo_) break;
    if (it->first >= hi_) continue;
    if (it->second) {
      ov = &*it;
      break;
    }
  }
  if (!eng && !ov) {
    bound_ = lo_;
    inclusive_ = false;
    return nullptr;
  }
  if (ov && (!eng || ov->first > eng->key)) {
    cur_.key = ov->first;
    cur_.value = *ov->second;
  } else {
    cur_.key = eng->key;
    cur_.value = eng->value;
    --idx_;
  }
  bound_ = cur_.key;
  inclusive_ = false;
  return &cur_;
}

}  // namespace flowdb::jsondb::detail
