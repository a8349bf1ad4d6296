// Cursors over object stores and indexes (IDBCursor), streaming from the
// engine through ForwardIter / BackwardIter.
#include <boost/json.hpp>

#include "flowdb/jsondb.h"
#include "jsondb/key_codec.h"
#include "jsondb/keypath.h"
#include "jsondb/txn.h"

namespace flowdb::jsondb {
namespace detail {

class CursorImpl {
 public:
  CursorImpl(std::shared_ptr<TxnImpl> txn, const StoreDef& s, const IndexDef* ix,
             const std::optional<KeyRange>& range, Direction dir)
      : txn_(std::move(txn)),
        store_(s),
        is_index_(ix != nullptr),
        dir_(dir),
        prefix_(ix ? index_prefix(s.id, ix->id) : data_prefix(s.id)),
        dprefix_(data_prefix(s.id)) {
    auto [lo, hi] = range_bounds(prefix_, range);
    if (forward()) {
      fwd_.emplace(&txn_->kv(), lo, hi);
    } else {
      bwd_.emplace(&txn_->kv(), lo, hi);
    }
    lo_ = std::move(lo);
    hi_ = std::move(hi);
  }

  bool forward() const { return dir_ == Direction::Next || dir_ == Direction::NextUnique; }
  bool unique() const { return dir_ == Direction::NextUnique || dir_ == Direction::PrevUnique; }

  void check() const { txn_->check_active(); }
  void check_valid() const {
    check();
    if (!valid_) throw Error(Errc::InvalidStateError, "jsondb: cursor is past its end");
  }

  // Moves to the next record in the cursor's direction; returns valid_.
  bool step() {
    while (true) {
      const Entry* e = forward() ? fwd_->next() : bwd_->next();
      if (!e) return valid_ = false;
      std::string_view rest = std::string_view(e->key).substr(prefix_.size());
      std::string_view key_start = rest;
      value k = decode_key(&rest);
      if (!is_index_) {
        value pk = k;  // primary keys are unique: *Unique directions change nothing
        set(std::move(k), std::move(pk), e->value, std::string(e->key));
        return valid_ = true;
      }
      std::string enc_ik(key_start.substr(0, key_start.size() - rest.size()));
      std::string enc_pk(rest);
      if (dir_ == Direction::PrevUnique) {
        // The lowest primary key of this index key: first entry >= prefix+enc_ik.
        ForwardIter first(&txn_->kv(), prefix_ + enc_ik, successor(prefix_ + enc_ik));
        const Entry* f = first.next();
        if (f) {
          std::string_view r2 = std::string_view(f->key).substr(prefix_.size() + enc_ik.size());
          enc_pk = std::string(r2);
        }
        bwd_->seek(prefix_ + enc_ik, false);
      }
      auto raw = txn_->kv().get(dprefix_ + enc_pk);
      if (!raw) continue;  // (dangling entry; cannot happen in a consistent store)
      std::string_view pkv(enc_pk);
      value pk = decode_key(&pkv);
      set(std::move(k), std::move(pk), *raw, prefix_ + enc_ik + enc_pk);
      if (dir_ == Direction::NextUnique) fwd_->seek(successor(prefix_ + enc_ik), true);
      return valid_ = true;
    }
  }

  void set(value k, value pk, const std::string& raw, std::string pos) {
    key_ = std::move(k);
    pk_ = std::move(pk);
    value_ = boost::json::parse(raw);
    pos_ = std::move(pos);
  }

  bool continue_to(const value& key) {
    check_valid();
    if (!is_valid_key(key)) throw Error(Errc::DataError, "jsondb: invalid key");
    int c = compare_keys(key, key_);
    if ((forward() && c <= 0) || (!forward() && c >= 0)) {
      throw Error(Errc::DataError, "jsondb: continue_to key is not beyond the cursor");
    }
    const std::string target = prefix_ + encode_key(key);
    if (forward()) {
      fwd_->seek(target, true);
    } else {
      bwd_->seek(is_index_ ? successor(target) : target, !is_index_);
    }
    return step();
  }

  bool continue_primary_key(const value& key, const value& pk) {
    check_valid();
    if (!is_index_) throw Error(Errc::InvalidAccessError, "jsondb: not an index cursor");
    if (unique()) throw Error(Errc::InvalidAccessError, "jsondb: unique cursor direction");
    if (!is_valid_key(key) || !is_valid_key(pk)) throw Error(Errc::DataError, "invalid key");
    int c = compare_keys(key, key_);
    int cp = compare_keys(pk, pk_);
    if (forward() ? (c < 0 || (c == 0 && cp <= 0)) : (c > 0 || (c == 0 && cp >= 0))) {
      throw Error(Errc::DataError, "jsondb: continue_primary_key target is not beyond the cursor");
    }
    const std::string target = prefix_ + encode_key(key) + encode_key(pk);
    if (forward()) {
      fwd_->seek(target, true);
    } else {
      bwd_->seek(target, true);
    }
    return step();
  }

  std::shared_ptr<TxnImpl> txn_;
  StoreDef store_;
  bool is_index_;
  Direction dir_;
  std::string prefix_, dprefix_, lo_, hi_;
  std::optional<ForwardIter> fwd_;
  std::optional<BackwardIter> bwd_;
  bool valid_ = false;
  value key_, pk_, value_;
  std::string pos_;
};

Cursor open_cursor(std::shared_ptr<TxnImpl> txn, std::string_view store,
                   std::optional<std::string> index, std::optional<KeyRange> range, Direction dir) {
  const StoreDef& s = txn->store(store);
  const IndexDef* ix = index ? &txn->index(s, *index) : nullptr;
  auto impl = std::make_unique<CursorImpl>(std::move(txn), s, ix, range, dir);
  impl->step();
  return Cursor(std::move(impl));
}

}  // namespace detail

Cursor::Cursor(std::unique_ptr<detail::CursorImpl> impl) : impl_(std::move(impl)) {}
Cursor::Cursor(Cursor&&) noexcept = default;
Cursor& Cursor::operator=(Cursor&&) noexcept = default;
Cursor::~Cursor() = default;

bool Cursor::valid() const { return impl_->valid_; }
const value& Cursor::key() const {
  impl_->check_valid();
  return impl_->key_;
}
const value& Cursor::primary_key() const {
  impl_->check_valid();
  return impl_->pk_;
}
const value& Cursor::value() const {
  impl_->check_valid();
  return impl_->value_;
}

bool Cursor::continue_() {
  impl_->check_valid();
  return impl_->step();
}
bool Cursor::continue_to(const boost::json::value& key) { return impl_->continue_to(key); }
bool Cursor::continue_primary_key(const boost::json::value& key,
                                  const boost::json::value& primary_key) {
  return impl_->continue_primary_key(key, primary_key);
}
bool Cursor::advance(uint32_t n) {
  if (n == 0) throw Error(Errc::InvalidArgument, "jsondb: advance(0)");
  impl_->check_valid();
  while (n-- > 0) {
    if (!impl_->step()) return false;
  }
  return true;
}

boost::json::value Cursor::update(const boost::json::value& v) {
  auto& c = *impl_;
  c.txn_->check_writable();
  c.check_valid();
  if (c.store_.key_path) {
    detail::Extracted ex = detail::extract_key(v, *c.store_.key_path);
    if (ex.kind != detail::Extracted::Kind::Key || compare_keys(ex.key, c.pk_) != 0) {
      throw Error(Errc::DataError, "jsondb: update changes the record's in-line key");
    }
    return c.txn_->put(c.store_.name, v, std::nullopt, false);
  }
  return c.txn_->put(c.store_.name, v, c.pk_, false);
}

void Cursor::remove() {
  auto& c = *impl_;
  c.txn_->check_writable();
  c.check_valid();
  c.txn_->remove(c.store_.name, c.pk_);
}

}  // namespace flowdb::jsondb
