// mqtt export sink against a real mosquitto with a TLS listener and a password
// file (certificates from the openssl CLI, made at test time): delivery with
// the password from password_file, and kRetry for a wrong password or a broker
// certificate the configured CA did not sign (unless tls.verify is false).
#include <catch2/catch.hpp>

#include "export/mqtt/mqtt_sink.h"
#include "mqtt_sink_fixture.h"

using namespace flowdb::export_mqtt_test;
using flowdb::export_mqtt::make_mqtt_sink;
using flowdb::exporter::SendStatus;
namespace testing = flowdb::testing;

namespace {
// One PKI for the run (key generation is the slow part).
const testing::TestPki& test_pki() {
  static testing::TempDir dir;
  static const testing::TestPki pki(dir.path());
  return pki;
}
}  // namespace

TEST_CASE("mqtt export over TLS with a password file: delivered - wrong password or CA is kRetry",
          "[export][mqtt][integration][tls]") {
  const testing::TestPki& pki = test_pki();
  testing::TempDir dir;
  testing::BrokerOptions o;
  o.ca_file = pki.ca;
  o.cert_file = pki.server_cert;
  o.key_file = pki.server_key;
  o.users = {{"exporter", "Exp-pw-5b0c"}, {"reader", "Read-pw-91fa"}};
  testing::Mosquitto broker(dir.path(), o);
  REQUIRE(broker.uri().starts_with("ssl://"));
  testing::write_file(dir / "pw", "Exp-pw-5b0c\n");
  Subscriber sub(broker.port(), dir.path(), {"flowdb/#"}, 1,
                 {"--cafile", pki.ca, "-u", "reader", "-P", "Read-pw-91fa"});
  const std::string auth = "username: exporter, password_file: '" + (dir / "pw") + "'";
  const std::vector<Sample> batch = counter_batch(5, 1700000000000000);

  SECTION("trusted CA and the right password: delivered") {
    auto sink =
        make_mqtt_sink(*sink_table(broker.uri(), auth + ", tls: {ca_file: " + pki.ca + "}"));
    flowdb::exporter::SendResult r = sink->send(batch);
    INFO(r.message);
    REQUIRE(r.status == SendStatus::kOk);
    check_same(lp_samples(sub.drain()), batch);
  }
  SECTION("a wrong password: kRetry and nothing delivered") {
    testing::write_file(dir / "bad", "not-it\n");
    auto sink = make_mqtt_sink(*sink_table(broker.uri(), "username: exporter, password_file: '" +
                                                             (dir / "bad") +
                                                             "', tls: {ca_file: " + pki.ca + "}"));
    flowdb::exporter::SendResult r = sink->send(batch);
    CHECK(r.status == SendStatus::kRetry);
    CHECK(r.message.find("connect") != std::string::npos);
    CHECK(r.message.find("not-it") == std::string::npos);
    CHECK(sub.drain().empty());
  }
  SECTION("a CA that did not sign the broker certificate: kRetry - verify false: delivered") {
    auto sink =
        make_mqtt_sink(*sink_table(broker.uri(), auth + ", tls: {ca_file: " + pki.other_ca + "}"));
    CHECK(sink->send(batch).status == SendStatus::kRetry);
    CHECK(sub.drain().empty());
    auto lax = make_mqtt_sink(
        *sink_table(broker.uri(), auth + ", tls: {ca_file: " + pki.other_ca + ", verify: false}"));
    REQUIRE(lax->send(batch).status == SendStatus::kOk);
    check_same(lp_samples(sub.drain()), batch);
  }
}
