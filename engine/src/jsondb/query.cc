// QueryBuilder: filters, index selection, ordering, offset and limit.
#include <algorithm>
#include <boost/json.hpp>

#include "flowdb/jsondb.h"
#include "jsondb/key_codec.h"
#include "jsondb/keypath.h"
#include "jsondb/txn.h"

namespace flowdb::jsondb {
namespace {

using detail::Extracted;

bool matches(const value& doc, const QueryBuilder::Filter& f) {
  Extracted ex = detail::extract_key(doc, KeyPath(f.field));
  if (ex.kind != Extracted::Kind::Key) return false;
  switch (f.kind) {
    case QueryBuilder::Filter::Kind::Eq:
    case QueryBuilder::Filter::Kind::In:
      for (const auto& v : f.values) {
        if (compare_keys(ex.key, v) == 0) return true;
      }
      return false;
    case QueryBuilder::Filter::Kind::Range:
      return f.range->includes(ex.key);
  }
  return false;
}

void check_field(const std::string& field) {
  if (!KeyPath(field).valid() || field.empty()) {
    throw Error(Errc::SyntaxError, "jsondb: invalid query field: " + field);
  }
}

}  // namespace

QueryBuilder::QueryBuilder(std::shared_ptr<detail::TxnImpl> txn, std::string store)
    : txn_(std::move(txn)), store_(std::move(store)) {}

QueryBuilder& QueryBuilder::where_eq(std::string field, value v) {
  check_field(field);
  filters_.push_back({Filter::Kind::Eq, std::move(field), {detail::normalize_key(v)}, {}});
  return *this;
}

QueryBuilder& QueryBuilder::where_range(std::string field, KeyRange range) {
  check_field(field);
  filters_.push_back({Filter::Kind::Range, std::move(field), {}, std::move(range)});
  return *this;
}

QueryBuilder& QueryBuilder::where_in(std::string field, std::vector<value> values) {
  check_field(field);
  std::vector<value> keys;
  for (const auto& v : values) keys.push_back(detail::normalize_key(v));
  std::sort(keys.begin(), keys.end(),
            [](const value& a, const value& b) { return compare_keys(a, b) < 0; });
  keys.erase(std::unique(keys.begin(), keys.end(),
                         [](const value& a, const value& b) { return compare_keys(a, b) == 0; }),
             keys.end());
  filters_.push_back({Filter::Kind::In, std::move(field), std::move(keys), {}});
  return *this;
}

QueryBuilder& QueryBuilder::order_by(std::string field, SortDir dir) {
  check_field(field);
  order_ = {std::move(field), dir};
  return *this;
}

QueryBuilder& QueryBuilder::limit(size_t n) {
  limit_ = n;
  return *this;
}

QueryBuilder& QueryBuilder::offset(size_t n) {
  offset_ = n;
  return *this;
}

std::vector<value> QueryBuilder::collect() {
  const StoreDef& s = txn_->store(store_);
  detail::Kv& kv = txn_->kv();
  // Choose the driving source: the filter with the best rank (Eq < In < Range)
  // on the primary key path or a single-path, non-multiEntry index.
  const Filter* driver = nullptr;
  const IndexDef* driver_ix = nullptr;
  for (const auto& f : filters_) {
    const IndexDef* ix = nullptr;
    bool on_pk = s.key_path && !s.key_path->is_list() && s.key_path->str() == f.field;
    if (!on_pk) {
      for (const auto& i : s.indexes) {
        if (!i.multi_entry && !i.key_path.is_list() && i.key_path.str() == f.field) ix = &i;
      }
      if (!ix) continue;
    }
    if (!driver || static_cast<int>(f.kind) < static_cast<int>(driver->kind) ||
        (f.kind == driver->kind && on_pk && driver_ix)) {
      driver = &f;
      driver_ix = ix;
    }
  }
  const bool on_pk_path = [&] {
    return s.key_path && !s.key_path->is_list() && order_ && s.key_path->str() == order_->first;
  }();
  // Streaming order: the driver's own order when it is the ordered field.
  bool ordered_by_driver = false;
  bool backward = false;
  if (order_) {
    if (driver && driver->field == order_->first && driver->kind != Filter::Kind::In) {
      ordered_by_driver = true;
    } else if (!driver && on_pk_path) {
      ordered_by_driver = true;
    }
    backward = ordered_by_driver && order_->second == SortDir::Desc;
  }
  const size_t want = limit_ ? offset_ + *limit_ : SIZE_MAX;
  const bool can_stop = !order_ || ordered_by_driver;

  std::vector<value> out;
  auto consider = [&](const value& doc) {
    for (const auto& f : filters_) {
      if (!matches(doc, f)) return true;
    }
    out.push_back(doc);
    return !(can_stop && out.size() >= want);
  };
  const std::string dp = detail::data_prefix(s.id);
  const std::string prefix = driver_ix ? detail::index_prefix(s.id, driver_ix->id) : dp;
  // Visits [lo, hi) under prefix; returns false once `consider` asks to stop.
  auto visit = [&](const std::optional<KeyRange>& r) {
    auto [lo, hi] = detail::range_bounds(prefix, r);
    auto handle = [&](const detail::Entry& e) {
      if (!driver_ix) return consider(boost::json::parse(e.value));
      std::string_view rest = std::string_view(e.key).substr(prefix.size());
      detail::decode_key(&rest);
      auto raw = kv.get(dp + std::string(rest));
      return !raw || consider(boost::json::parse(*raw));
    };
    if (backward) {
      detail::BackwardIter it(&kv, lo, hi);
      while (const detail::Entry* e = it.next()) {
        if (!handle(*e)) return false;
      }
    } else {
      detail::ForwardIter it(&kv, lo, hi);
      while (const detail::Entry* e = it.next()) {
        if (!handle(*e)) return false;
      }
    }
    return true;
  };
  if (!driver) {
    visit(std::nullopt);
  } else if (driver->kind == Filter::Kind::Range) {
    visit(driver->range);
  } else {
    for (const auto& v : driver->values) {
      if (!visit(KeyRange::only(v))) break;
    }
  }

  if (order_ && !ordered_by_driver) {
    std::vector<std::pair<std::optional<value>, value>> keyed;
    keyed.reserve(out.size());
    for (auto& d : out) {
      Extracted ex = detail::extract_key(d, KeyPath(order_->first));
      keyed.emplace_back(
          ex.kind == Extracted::Kind::Key ? std::optional<value>(ex.key) : std::nullopt,
          std::move(d));
    }
    const bool desc = order_->second == SortDir::Desc;
    std::stable_sort(keyed.begin(), keyed.end(), [desc](const auto& a, const auto& b) {
      if (!a.first || !b.first) return a.first.has_value() && !b.first.has_value();
      int c = compare_keys(*a.first, *b.first);
      return desc ? c > 0 : c < 0;
    });
    out.clear();
    for (auto& [k, d] : keyed) out.push_back(std::move(d));
  }
  if (offset_ >= out.size()) return {};
  out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(offset_));
  if (limit_ && out.size() > *limit_) out.resize(*limit_);
  return out;
}

}  // namespace flowdb::jsondb
