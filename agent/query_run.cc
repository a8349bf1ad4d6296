// Query execution: a snapshot scan streamed to a QuerySink with bounded
// memory (see query_format.h).
#include <algorithm>

#include "agent/query_format.h"
#include "ingest/series_key.h"
#include "ingest/value_codec.h"

namespace flowdb::agent {
namespace {

// Records of one order=desc time window are held at most this many at a
// time (~150 bytes each); a fuller window is halved and read again.
constexpr size_t kWindowCap = 8192;
constexpr int64_t kFirstWindowUs = 60'000'000;
constexpr int64_t kMaxWindowUs = int64_t{1} << 62;

std::string scan_prefix(const QueryRequest& req) {
  return req.measurement.empty() ? "" : ingest::measurement_prefix(req.measurement);
}

// Decodes `r` into *parts / *value; false if it is not an agent record or
// fails the field and tag filters.
bool match(const QueryRequest& req, const Record& r, ingest::SeriesKeyParts* parts,
           ingest::FieldValue* value) {
  if (!ingest::decode_series_key(r.key, parts)) return false;
  if (!req.field.empty() && parts->field != req.field) return false;
  for (const auto& [k, v] : req.tags) {
    bool found = false;
    for (const auto& [pk, pv] : parts->tags) found |= (pk == k && pv == v);
    if (!found) return false;
  }
  return ingest::decode_value(r.value, value);
}

using MatchFn =
    std::function<bool(const Record&, const ingest::SeriesKeyParts&, const ingest::FieldValue&)>;

// Key order, then time. Stops when fn returns false.
void scan_asc(Engine& e, const QueryRequest& req, const ReadOptions& opts, const MatchFn& fn) {
  ingest::SeriesKeyParts parts;
  ingest::FieldValue value;
  ScanRange range = ScanRange::prefix_time_range(scan_prefix(req), req.start_us, req.end_us);
  for (const Record& r : e.scan(range, opts)) {
    if (match(req, r, &parts, &value) && !fn(r, parts, value)) return;
  }
}

// Reads the matches of [lo, hi] into *win; false if there are more than
// kWindowCap of them and the window can still shrink.
bool read_window(Engine& e, const QueryRequest& req, const ReadOptions& opts, int64_t lo,
                 int64_t hi, std::vector<Record>* win) {
  ingest::SeriesKeyParts parts;
  ingest::FieldValue value;
  win->clear();
  for (const Record& r : e.scan(ScanRange::prefix_time_range(scan_prefix(req), lo, hi), opts)) {
    if (!match(req, r, &parts, &value)) continue;
    if (win->size() == kWindowCap && lo < hi) return false;
    win->push_back(r);
  }
  return true;
}

// Newest first across series: time windows from end_us back to start_us,
// each sorted by time (descending), key order within one timestamp. A window
// with too many matches is halved; a sparse one doubles the next.
void scan_desc(Engine& e, const QueryRequest& req, const ReadOptions& opts, const MatchFn& fn) {
  std::vector<Record> win;
  ingest::SeriesKeyParts parts;
  ingest::FieldValue value;
  int64_t hi = req.end_us, width = kFirstWindowUs;
  for (;;) {
    int64_t span, lo;
    lo = (__builtin_sub_overflow(hi, req.start_us, &span) || span >= width) ? hi - (width - 1)
                                                                            : req.start_us;
    if (!read_window(e, req, opts, lo, hi, &win)) {
      width = std::max<int64_t>(1, width / 2);
      continue;
    }
    std::stable_sort(win.begin(), win.end(),
                     [](const Record& a, const Record& b) { return a.ts > b.ts; });
    for (const Record& r : win) {
      if (match(req, r, &parts, &value) && !fn(r, parts, value)) return;
    }
    if (lo == req.start_us) return;
    hi = lo - 1;
    if (win.size() < kWindowCap / 4) width = std::min(kMaxWindowUs, width * 2);
    if (win.empty()) {  // anything left at all?
      ScanIterator rest =
          e.scan(ScanRange::prefix_time_range(scan_prefix(req), req.start_us, hi), opts);
      if (rest.next() == nullptr) return;
    }
  }
}

// Whether more than `limit` records match (order does not matter).
bool more_than(Engine& e, const QueryRequest& req, const ReadOptions& opts, size_t limit) {
  size_t n = 0;
  scan_asc(e, req, opts, [&](const Record&, const auto&, const auto&) { return ++n <= limit; });
  return n > limit;
}

// Output buffered up to flush_bytes; begin() is sent with the first flush.
class Streamer {
 public:
  Streamer(QuerySink& sink, std::string_view type, size_t flush_bytes)
      : sink_(sink), type_(type), flush_bytes_(flush_bytes) {}
  std::string& buf() { return buf_; }
  bool started() const { return started_; }
  // Flushes if the buffer is full; `truncated` is asked for only then.
  bool maybe_flush(const std::function<bool()>& truncated) {
    if (buf_.size() < flush_bytes_ || !ok_) return ok_;
    if (!started_) ok_ = start(truncated(), std::nullopt);
    if (ok_) ok_ = sink_.write(buf_);
    buf_.clear();
    return ok_;
  }
  void finish(bool truncated) {
    if (!started_) ok_ = start(truncated, buf_.size());
    if (ok_ && !buf_.empty()) sink_.write(buf_);
  }

 private:
  bool start(bool truncated, std::optional<size_t> total) {
    started_ = true;
    return sink_.begin(type_, truncated, total);
  }
  QuerySink& sink_;
  std::string type_;
  size_t flush_bytes_;
  std::string buf_;
  bool started_ = false, ok_ = true;
};

ReadOptions bulk_read_options(Engine& e) {
  ReadOptions opts;
  opts.snapshot = e.get_snapshot();
  // A bulk read must not flush the block cache (and grow RSS by its size);
  // blocks already cached are still used.
  opts.fill_cache = false;
  return opts;
}

}  // namespace

QueryStats run_query(Engine& engine, const QueryRequest& req, QuerySink& sink, size_t flush_bytes) {
  const ReadOptions opts = bulk_read_options(engine);
  QueryStats st;
  Streamer out(sink, content_type(req.format), flush_bytes);
  out.buf() = result_header(req.format);
  auto truncated = [&] { return more_than(engine, req, opts, req.limit); };
  auto emit = [&](const Record& r, const ingest::SeriesKeyParts& parts,
                  const ingest::FieldValue& value) {
    if (st.count == req.limit) {
      st.truncated = true;
      return false;
    }
    append_record(&out.buf(), req.format, r, parts, value, st.count == 0);
    ++st.count;
    return out.maybe_flush(truncated);
  };
  if (req.desc) {
    scan_desc(engine, req, opts, emit);
  } else {
    scan_asc(engine, req, opts, emit);
  }
  out.buf() += result_footer(req.format, st);
  out.finish(st.truncated);
  return st;
}

namespace {

void append_series_open(std::string* out, const ingest::SeriesKeyParts& p, bool first) {
  if (!first) out->push_back(',');
  *out += "{\"measurement\":";
  append_json_string(out, p.measurement);
  *out += ",\"tags\":";
  append_json_tags(out, p.tags);
  *out += ",\"fields\":[";
  append_json_string(out, p.field);
}

}  // namespace

void list_series(Engine& engine, const QueryRequest& req, QuerySink& sink, size_t flush_bytes) {
  // After this many points of one key, seek past the key instead of stepping.
  constexpr int kStepsBeforeSeek = 16;
  const ReadOptions opts = bulk_read_options(engine);
  Streamer out(sink, "application/json", flush_bytes);
  out.buf() = "{\"series\":[";
  ScanRange range = ScanRange::prefix_time_range(scan_prefix(req), req.start_us, req.end_us);
  ScanIterator it = engine.scan(range, opts);
  std::string key;
  ingest::SeriesKeyParts parts, group;
  ingest::FieldValue value;
  size_t count = 0;
  int same = 0;
  while (const Record* r = it.next()) {
    if (r->key == key) {
      if (++same >= kStepsBeforeSeek) {
        range.start_key = key + '\0';
        it = engine.scan(range, opts);
        same = 0;
      }
      continue;
    }
    key = r->key;
    same = 0;
    if (!match(req, *r, &parts, &value)) continue;
    if (count > 0 && parts.measurement == group.measurement && parts.tags == group.tags) {
      out.buf() += ',';
      append_json_string(&out.buf(), parts.field);
    } else {
      if (count > 0) out.buf() += "]}";
      append_series_open(&out.buf(), parts, count == 0);
      group = parts;
      ++count;
    }
    if (!out.maybe_flush([] { return false; })) return;
  }
  if (count > 0) out.buf() += "]}";
  out.buf() += "],\"count\":" + std::to_string(count) + "}\n";
  out.finish(false);
}

QueryResult run_query(Engine& engine, const QueryRequest& req) {
  struct Collect : QuerySink {
    QueryResult* res;
    bool begin(const std::string& type, bool, std::optional<size_t>) override {
      res->content_type = type;
      return true;
    }
    bool write(std::string_view d) override {
      res->body.append(d);
      return true;
    }
  };
  QueryResult res;
  Collect c;
  c.res = &res;
  QueryStats st = run_query(engine, req, c, SIZE_MAX);
  res.count = st.count;
  res.truncated = st.truncated;
  return res;
}

}  // namespace flowdb::agent
