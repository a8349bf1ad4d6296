// PrometheusText: builds the Prometheus text exposition format (0.0.4) for
// the numbers components report as plain structs, without a metrics library
// (EngineStats, retention::Stats). Not thread-safe; build one per scrape.
#pragma once

#include <string>
#include <string_view>

namespace flowdb::agent {

class PrometheusText {
 public:
  // Starts a family: its # HELP and # TYPE lines. `type` is "counter",
  // "gauge" or "histogram".
  void family(std::string_view name, std::string_view type, std::string_view help);
  // One sample of the current family; `labels` is empty or the text inside
  // the braces (`reason="quota"`), already escaped.
  void sample(std::string_view name, std::string_view labels, double value);
  // A family with a single unlabelled sample.
  void metric(std::string_view name, std::string_view type, std::string_view help, double value) {
    family(name, type, help);
    sample(name, {}, value);
  }

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace flowdb::agent
