// Fixture of the mqtt export integration tests: a subscriber (mosquitto_sub)
// that reports exactly what reached the broker, sink tables and batches.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agent_util.h"
#include "mqtt_test_util.h"

namespace flowdb::export_mqtt_test {

inline const std::string kEndTopic = "flowdb-test/end";

// A message as the subscriber saw it.
struct Received {
  std::string topic;
  int qos = 0;
  bool retained = false;
  std::string content_type;   // MQTT 5 property ("" if absent)
  std::string user_property;  // MQTT 5, "key:value" ("" if absent)
  std::string payload;
};

// An MQTT 5 subscriber: a mosquitto_sub process writing one line per message
// to a file. (Not a Paho client: Paho C 1.3.11 starts a connection of a
// process that has another connected client only at its next 1 s poll, which
// would slow every sink connect of these tests down.) drain() returns what
// arrived before an end marker it publishes: as the sink's send() returned
// only after the broker acknowledged every message, those all precede it.
class Subscriber {
 public:
  // `client_args`: more mosquitto_sub / mosquitto_pub options (TLS, user).
  Subscriber(int port, const std::string& dir, const std::vector<std::string>& filters, int qos = 1,
             std::vector<std::string> client_args = {})
      : port_(port),
        out_(dir + "/sub" + std::to_string(++count_) + ".out"),
        client_args_(std::move(client_args)) {
    std::vector<std::string> argv = {"mosquitto_sub",
                                     "-h",
                                     "127.0.0.1",
                                     "-p",
                                     std::to_string(port),
                                     "-V",
                                     "5",
                                     "-q",
                                     std::to_string(qos),
                                     "-F",
                                     kLineFormat,
                                     "-t",
                                     kEndTopic};
    for (const std::string& f : filters) argv.insert(argv.end(), {"-t", f});
    argv.insert(argv.end(), client_args_.begin(), client_args_.end());
    proc_ = std::make_unique<testing::Process>(argv, out_);
    // Subscribed once a marker comes back.
    bool ready = false;
    for (int i = 0; i < 50 && !ready; ++i) {
      publish_marker("ready");
      ready =
          testing::wait_until([&] { return read_until("ready"); }, std::chrono::milliseconds(200));
    }
    REQUIRE(ready);
  }

  std::vector<Received> drain() {
    const std::string marker = "end" + std::to_string(++markers_);
    publish_marker(marker);
    REQUIRE(testing::wait_until([&] { return read_until(marker); }));
    return std::exchange(received_, {});
  }

 private:
  static constexpr char kLineFormat[] = "%t\t%q\t%r\t%C\t%P\t%x";

  void publish_marker(const std::string& text) {
    std::vector<std::string> argv = {
        "mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(port_), "-q", "1", "-t",
        kEndTopic,       "-m", text};
    argv.insert(argv.end(), client_args_.begin(), client_args_.end());
    testing::Process pub(argv, out_ + ".pub");
    REQUIRE(pub.wait(std::chrono::seconds(10)) == 0);
  }

  // Reads the lines that arrived up to a marker with payload `marker` into
  // received_ (markers left out). False, reading nothing, if it has not arrived.
  bool read_until(const std::string& marker) {
    const std::string text = testing::read_file(out_);
    std::vector<Received> lines;
    for (size_t pos = consumed_, nl; (nl = text.find('\n', pos)) != std::string::npos;) {
      Received r = parse(text.substr(pos, nl - pos));
      pos = nl + 1;
      if (r.topic != kEndTopic) {
        lines.push_back(std::move(r));
      } else if (r.payload == marker) {
        consumed_ = pos;
        for (Received& l : lines) received_.push_back(std::move(l));
        return true;
      }
    }
    return false;
  }

  static Received parse(const std::string& line) {
    std::vector<std::string> cols;
    size_t pos = 0;
    for (size_t tab; (tab = line.find('\t', pos)) != std::string::npos; pos = tab + 1) {
      cols.push_back(line.substr(pos, tab - pos));
    }
    cols.push_back(line.substr(pos));
    REQUIRE(cols.size() == 6);
    Received r{cols[0], std::stoi(cols[1]), cols[2] == "1", cols[3], cols[4], ""};
    for (size_t i = 0; i + 1 < cols[5].size(); i += 2) {
      r.payload.push_back(static_cast<char>(std::stoi(cols[5].substr(i, 2), nullptr, 16)));
    }
    return r;
  }

  static inline int count_ = 0;
  int port_;
  std::string out_;
  std::vector<std::string> client_args_;
  size_t consumed_ = 0;  // bytes of out_ read into received_
  std::vector<Received> received_;
  int markers_ = 0;
  std::unique_ptr<testing::Process> proc_;
};

// A sink table for `uri` with `extra` keys and a client id of its own.
inline std::shared_ptr<agent::ParsedTable> sink_table(const std::string& uri,
                                                      const std::string& extra) {
  static int sinks = 0;
  return table("{broker: '" + uri + "', client_id: flowdb-test-export-" + std::to_string(++sinks) +
               (extra.empty() ? "" : ", " + extra) + "}");
}

// n samples of series counter,k=i%3 field n = i at t0 + i.
inline std::vector<Sample> counter_batch(int n, int64_t t0) {
  std::vector<Sample> b;
  for (int i = 0; i < n; ++i) {
    b.push_back(make_sample("counter", {{"k", std::to_string(i % 3)}}, "n", int64_t{i}, t0 + i));
  }
  return b;
}

// Samples of the received messages (lp payloads), in arrival order.
inline std::vector<Sample> lp_samples(const std::vector<Received>& msgs) {
  std::vector<Sample> out;
  for (const auto& m : msgs) {
    for (Sample& s : samples_from_lp(m.payload)) out.push_back(std::move(s));
  }
  return out;
}

// Time since t0.
inline std::chrono::milliseconds since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               t0);
}

}  // namespace flowdb::export_mqtt_test
