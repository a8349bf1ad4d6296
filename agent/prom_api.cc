// The Prometheus HTTP API v1 (prom_api.h).
#include "agent/prom_api.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "agent/core/ingest_context.h"
#include "agent/prom_storage.h"
#include "agent/promql/parser.h"
#include "agent/query_format.h"
#include "flowdb/error.h"

namespace flowdb::agent {
namespace {

HttpResponse json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

HttpResponse success(std::string_view data) {
  std::string b = "{\"status\":\"success\",\"data\":";
  b += data;
  b += "}";
  return json(200, std::move(b));
}

// Prometheus's errorType -> HTTP status (web/api/v1 respondError).
HttpResponse failure(std::string_view type, std::string_view message) {
  int status = 500;
  if (type == "bad_data") status = 400;
  if (type == "execution") status = 422;
  if (type == "timeout" || type == "canceled" || type == "unavailable") status = 503;
  std::string b = "{\"status\":\"error\",\"errorType\":";
  append_json_string(&b, type);
  b += ",\"error\":";
  append_json_string(&b, message);
  b += "}";
  return json(status, std::move(b));
}

// "1:5: parse error: ..." as Prometheus 2.x reports a ParseErr.
std::string parse_error_text(std::string_view query, const promql::ParseError& e) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < e.pos && i < query.size(); ++i) {
    if (query[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col) + ": parse error: " + e.message;
}

promql::ExprPtr parse_query(std::string_view q) {
  promql::ParseResult r = promql::parse(q);
  if (!r.ok()) throw BadData("invalid parameter \"query\": " + parse_error_text(q, r.error()));
  return r.take_expr();
}

promql::Matchers parse_selector(const std::string& s) {
  promql::ParseResult r = promql::parse(s);
  if (!r.ok()) throw BadData(parse_error_text(s, r.error()));
  const promql::VectorSelector* vs = r.expr().as<promql::VectorSelector>();
  if (vs == nullptr || vs->offset) {
    throw BadData(
        "invalid parameter \"match[]\": 1:1: parse error: expected a metric selector, "
        "got " +
        s);
  }
  try {
    return promql::compile(*vs);
  } catch (const std::invalid_argument& e) {
    throw BadData(e.what());
  }
}

std::vector<promql::Matchers> match_params(const PromParams& p, bool required) {
  std::vector<promql::Matchers> out;
  for (const std::string& m : p.all("match[]")) out.push_back(parse_selector(m));
  if (required && out.empty()) throw BadData("no match[] parameter provided");
  return out;
}

int64_t time_param(const PromParams& p, std::string_view name, int64_t dflt) {
  std::optional<std::string> v = p.get(name);
  return v && !v->empty() ? parse_prom_time(*v, name) : dflt;
}

promql::Limits with_timeout(promql::Limits l, const PromParams& p) {
  if (std::optional<std::string> t = p.get("timeout"); t && !t->empty()) {
    const int64_t ms = parse_prom_duration(*t, "timeout");
    if (ms > 0 && ms < l.timeout.count()) l.timeout = std::chrono::milliseconds(ms);
  }
  return l;
}

void append_string_array(std::string* out, const std::set<std::string>& v) {
  out->push_back('[');
  bool first = true;
  for (const std::string& s : v) {
    if (!first) out->push_back(',');
    first = false;
    append_json_string(out, s);
  }
  out->push_back(']');
}

void append_labels(std::string* out, const promql::Labels& ls) {
  out->push_back('{');
  for (size_t i = 0; i < ls.size(); ++i) {
    if (i > 0) out->push_back(',');
    append_json_string(out, ls[i].name);
    out->push_back(':');
    append_json_string(out, ls[i].value);
  }
  out->push_back('}');
}

bool valid_label_name(std::string_view n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

int64_t wall_now_ms() { return now_us() / 1000; }

}  // namespace

PromApi::PromApi(Engine& engine, PromApiOptions options)
    : engine_(engine), options_(std::move(options)) {}

PromApi::~PromApi() {
  if (routes_ == nullptr) return;
  for (const std::string& p : paths_) routes_->remove(p);
}

template <typename Fn>
HttpResponse PromApi::guarded(Fn&& fn) {
  try {
    return fn();
  } catch (const BadData& e) {
    return failure("bad_data", e.what());
  } catch (const promql::EvalError& e) {
    return failure(e.type(), e.what());
  } catch (const promql::StorageError& e) {
    return failure("execution", e.what());
  } catch (const Error& e) {
    return failure(e.code() == Errc::Closed ? "unavailable" : "internal", e.what());
  }
}

HttpResponse PromApi::query(const PromParams& p, int64_t now_ms) {
  return guarded([&] {
    const int64_t t = time_param(p, "time", now_ms);
    const promql::Limits limits = with_timeout(options_.limits, p);
    const std::string q = p.get("query").value_or("");
    if (q.empty() && p.get("series")) {  // a client of the pre-PromQL API
      throw BadData(
          "/api/v1/query is the Prometheus API now (query=PROMQL); FlowDB's "
          "series= export moved to /api/v1/export");
    }
    promql::ExprPtr e = parse_query(q);
    EngineQuerier querier(engine_, limits.max_samples);
    return success(promql::to_json(promql::eval_instant(*e, querier, t, limits)));
  });
}

HttpResponse PromApi::query_range(const PromParams& p) {
  return guarded([&] {
    auto need = [&](std::string_view name) {
      std::optional<std::string> v = p.get(name);
      return v.value_or("");
    };
    const int64_t start = parse_prom_time(need("start"), "start");
    const int64_t end = parse_prom_time(need("end"), "end");
    if (end < start) throw BadData("end timestamp must not be before start time");
    const int64_t step = parse_prom_duration(need("step"), "step");
    if (step <= 0) {
      throw BadData(
          "zero or negative query resolution step widths are not accepted. Try a positive "
          "integer");
    }
    if ((end - start) / step > options_.max_points_per_series) {
      throw BadData(
          "exceeded maximum resolution of 11,000 points per timeseries. Try "
          "decreasing the query resolution (?step=XX)");
    }
    const promql::Limits limits = with_timeout(options_.limits, p);
    promql::ExprPtr e = parse_query(need("query"));
    EngineQuerier querier(engine_, limits.max_samples);
    return success(
        promql::to_json(promql::Value(promql::eval_range(*e, querier, start, end, step, limits))));
  });
}

HttpResponse PromApi::series(const PromParams& p) {
  return guarded([&] {
    const std::vector<promql::Matchers> sets = match_params(p, true);
    const int64_t start = time_param(p, "start", kPromMinTime);
    const int64_t end = time_param(p, "end", kPromMaxTime);
    std::set<promql::Labels> found;
    EngineQuerier querier(engine_);
    const size_t cap = options_.limits.max_series;
    for (const promql::Matchers& m : sets) {
      querier.series(m, start, end, [&](promql::Labels&& ls) {
        found.insert(std::move(ls));
        if (cap != 0 && found.size() > cap) {
          throw promql::EvalError("execution", "the query hit the series limit of " +
                                                   std::to_string(cap) +
                                                   " (http.promql.max_series)");
        }
        return true;
      });
    }
    std::string data = "[";
    for (const promql::Labels& ls : found) {
      if (data.size() > 1) data.push_back(',');
      append_labels(&data, ls);
    }
    data.push_back(']');
    return success(data);
  });
}

HttpResponse PromApi::labels(const PromParams& p) {
  return guarded([&] {
    std::vector<promql::Matchers> sets = match_params(p, false);
    if (sets.empty()) sets.emplace_back();  // every series
    const int64_t start = time_param(p, "start", kPromMinTime);
    const int64_t end = time_param(p, "end", kPromMaxTime);
    std::set<std::string> names;
    EngineQuerier querier(engine_);
    for (const promql::Matchers& m : sets) {
      querier.series(m, start, end, [&](promql::Labels&& ls) {
        for (promql::Label& l : ls) names.insert(std::move(l.name));
        return true;
      });
    }
    std::string data;
    append_string_array(&data, names);
    return success(data);
  });
}

HttpResponse PromApi::label_values(std::string_view name, const PromParams& p) {
  return guarded([&] {
    if (!valid_label_name(name)) {
      throw BadData("invalid label name: \"" + std::string(name) + "\"");
    }
    std::vector<promql::Matchers> sets = match_params(p, false);
    if (sets.empty()) sets.emplace_back();
    const int64_t start = time_param(p, "start", kPromMinTime);
    const int64_t end = time_param(p, "end", kPromMaxTime);
    std::set<std::string> values;
    EngineQuerier querier(engine_);
    for (const promql::Matchers& m : sets) {
      querier.series(m, start, end, [&](promql::Labels&& ls) {
        std::string_view v = promql::label_value(ls, name);
        if (!v.empty()) values.emplace(v);
        return true;
      });
    }
    std::string data;
    append_string_array(&data, values);
    return success(data);
  });
}

// No series here carries scrape metadata (TYPE/HELP): like a Prometheus fed
// only by remote write, the answer is empty.
HttpResponse PromApi::metadata(const PromParams&) { return success("{}"); }

HttpResponse PromApi::buildinfo() {
  std::string data = "{\"version\":";
  append_json_string(&data, options_.version);
  data +=
      ",\"revision\":\"\",\"branch\":\"\",\"buildUser\":\"\",\"buildDate\":\"\","
      "\"goVersion\":\"\",\"application\":\"flowdb-agent\"}";
  return success(data);
}

void PromApi::serve(HttpRequest& req, HttpResponse* resp) {
  PromParams p;
  if (req.method() == "POST" && req.path() != "/api/v1/read") {
    const std::string ct = req.header("Content-Type").value_or("");
    if (ct.rfind("application/x-www-form-urlencoded", 0) == 0) {
      std::string body;
      if (req.read_body(options_.max_body_bytes, &body) != HttpRequest::BodyStatus::kOk) {
        *resp = failure("bad_data", "cannot read the form body (too large or cut off)");
        return;
      }
      p.add_form(body);
    }
  }
  p.add_form(req.query());
  const std::string_view path = req.path();
  if (path == "/api/v1/query") {
    *resp = query(p, wall_now_ms());
  } else if (path == "/api/v1/query_range") {
    *resp = query_range(p);
  } else if (path == "/api/v1/series") {
    *resp = series(p);
  } else if (path == "/api/v1/labels") {
    *resp = labels(p);
  } else if (path == "/api/v1/metadata") {
    *resp = metadata(p);
  } else if (path == "/api/v1/status/buildinfo") {
    *resp = buildinfo();
  } else if (path == "/api/v1/read") {
    std::string body;
    if (req.read_body(options_.max_body_bytes, &body) != HttpRequest::BodyStatus::kOk) {
      *resp = failure("bad_data", "cannot read the remote-read body (too large or cut off)");
      resp->content_type = "text/plain";
      return;
    }
    *resp = read(body);
  } else {
    // /api/v1/label/<name>/values
    constexpr std::string_view kPre = "/api/v1/label/", kSuf = "/values";
    if (path.size() > kPre.size() + kSuf.size() && path.substr(path.size() - kSuf.size()) == kSuf) {
      *resp = label_values(path.substr(kPre.size(), path.size() - kPre.size() - kSuf.size()), p);
    } else {
      *resp = failure("bad_data", "unknown endpoint " + std::string(path));
      resp->status = 404;
    }
  }
}

void PromApi::add_routes(HttpRoutes& routes) {
  routes_ = &routes;
  auto handler = [this](HttpRequest& q, HttpResponse* r) { serve(q, r); };
  struct R {
    const char* path;
    std::vector<std::string> methods;
    bool prefix = false;
  };
  const R rs[] = {
      {"/api/v1/query", {"GET", "POST"}},
      {"/api/v1/query_range", {"GET", "POST"}},
      {"/api/v1/series", {"GET", "POST"}},
      {"/api/v1/labels", {"GET", "POST"}},
      {"/api/v1/label/", {"GET"}, true},
      {"/api/v1/metadata", {"GET"}},
      {"/api/v1/status/buildinfo", {"GET"}},
#ifdef FLOWDB_WITH_REMOTE_WRITE
      {"/api/v1/read", {"POST"}},
#endif
  };
  for (const R& r : rs) {
    routes.add({.path = r.path,
                .methods = r.methods,
                .auth = true,
                .handler = handler,
                .prefix = r.prefix});
    paths_.push_back(r.path);
  }
}

#ifndef FLOWDB_WITH_REMOTE_WRITE
HttpResponse PromApi::read(std::string_view) {
  return failure("bad_data", "remote read needs a build with FLOWDB_WITH_REMOTE_WRITE");
}
#endif

}  // namespace flowdb::agent
