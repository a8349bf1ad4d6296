// Prometheus remote read 1.0, SAMPLES response type (PromApi::read): the
// queries of a snappy-compressed ReadRequest answered from the engine as a
// snappy-compressed ReadResponse, as Prometheus's storage/remote
// read_handler.go does (its sample limit and error replies included).
#include <snappy.h>

#include <algorithm>

#include "agent/prom_api.h"
#include "agent/prom_storage.h"
#include "flowdb/error.h"
#include "prompb/remote.pb.h"

namespace flowdb::agent {
namespace {

HttpResponse text_error(int status, std::string message) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(message) + "\n";
  return r;
}

promql::Matchers to_matchers(const prometheus::Query& q) {
  promql::Matchers out;
  for (const prometheus::LabelMatcher& m : q.matchers()) {
    promql::MatchOp op = promql::MatchOp::kEqual;
    switch (m.type()) {
      case prometheus::LabelMatcher::EQ:
        op = promql::MatchOp::kEqual;
        break;
      case prometheus::LabelMatcher::NEQ:
        op = promql::MatchOp::kNotEqual;
        break;
      case prometheus::LabelMatcher::RE:
        op = promql::MatchOp::kRegexMatch;
        break;
      case prometheus::LabelMatcher::NRE:
        op = promql::MatchOp::kRegexNoMatch;
        break;
      default:
        throw std::invalid_argument("invalid matcher type " + std::to_string(m.type()));
    }
    out.emplace_back(m.name(), op, m.value());
  }
  return out;
}

bool accepts_samples(const prometheus::ReadRequest& req) {
  if (req.accepted_response_types_size() == 0) return true;  // remote read 1.0 clients
  for (int t : req.accepted_response_types()) {
    if (t == prometheus::ReadRequest::SAMPLES) return true;
  }
  return false;
}

}  // namespace

HttpResponse PromApi::read(std::string_view body) {
  std::string raw;
  if (!snappy::Uncompress(body.data(), body.size(), &raw)) {
    return text_error(400, "snappy: corrupt input");
  }
  prometheus::ReadRequest req;
  if (!req.ParseFromString(raw)) return text_error(400, "proto: cannot parse a ReadRequest");
  if (!accepts_samples(req)) {
    return text_error(400,
                      "server does not support any of the requested response types; it "
                      "supports SAMPLES");
  }
  prometheus::ReadResponse resp;
  size_t samples = 0, series = 0;
  const size_t max_samples = options_.limits.max_samples;
  const size_t max_series = options_.limits.max_series;
  try {
    for (const prometheus::Query& q : req.queries()) {
      const promql::Matchers matchers = to_matchers(q);
      prometheus::QueryResult* result = resp.add_results();
      // Bounded while reading too, not only once a series is complete.
      EngineQuerier querier(engine_, max_samples - std::min(samples, max_samples));
      bool over = false;
      querier.select(matchers, q.start_timestamp_ms(), q.end_timestamp_ms(),
                     [&](promql::Series&& s) {
                       samples += s.samples.size();
                       ++series;
                       if (samples > max_samples || (max_series != 0 && series > max_series)) {
                         over = true;
                         return false;
                       }
                       prometheus::TimeSeries* ts = result->add_timeseries();
                       for (const promql::Label& l : s.labels) {
                         prometheus::Label* pl = ts->add_labels();
                         pl->set_name(l.name);
                         pl->set_value(l.value);
                       }
                       for (const promql::Sample& x : s.samples) {
                         prometheus::Sample* ps = ts->add_samples();
                         ps->set_timestamp(x.t);
                         ps->set_value(x.v);
                       }
                       return true;
                     });
      if (over) {
        return text_error(400, samples > max_samples
                                   ? "exceeded sample limit (" + std::to_string(max_samples) + ")"
                                   : "exceeded series limit (" + std::to_string(max_series) +
                                         ", http.promql.max_series)");
      }
    }
  } catch (const promql::EvalError&) {  // the querier's sample bound
    return text_error(400, "exceeded sample limit (" + std::to_string(max_samples) + ")");
  } catch (const std::invalid_argument& e) {
    return text_error(400, e.what());
  } catch (const promql::StorageError& e) {
    return text_error(500, e.what());
  } catch (const Error& e) {
    return text_error(e.code() == Errc::Closed ? 503 : 500, e.what());
  }
  std::string out;
  resp.SerializeToString(&raw);
  snappy::Compress(raw.data(), raw.size(), &out);
  HttpResponse r;
  r.content_type = "application/x-protobuf";
  r.headers.emplace_back("Content-Encoding", "snappy");
  r.body = std::move(out);
  return r;
}

}  // namespace flowdb::agent
