// http.auth: the write routes and the query API need a token (Token, Bearer,
// Basic with the token as password, or 1.x ?p=); metrics, health, ready and
// ping stay open; tokens never reach the log.
#include "agent/http_auth.h"

#include <catch2/catch.hpp>
#include <cstdlib>

#include "agent/agent.h"
#include "agent/agent_config.h"
#include "agent_util.h"
#include "stderr_capture.h"

using namespace flowdb;
using namespace flowdb::testing;
using Catch::Matchers::Contains;

namespace {

// An agent with an http input and `auth_yaml` under http.auth.
struct AuthAgent {
  TempDir dir;
  std::unique_ptr<agent::Agent> a;
  explicit AuthAgent(const std::string& auth_yaml) {
    a = std::make_unique<agent::Agent>(agent::parse_config(
        "storage:\n  data_dir: " + (dir / "data") + "\nhttp:\n  listen: 127.0.0.1:0\n" + auth_yaml +
            "inputs:\n  http:\n    - name: influx\n",
        "<test>"));
    a->start();
  }
  int port() const { return a->http_port(); }
  int write(const std::string& path, const std::string& headers = "") {
    return http_request("POST", port(), path, "m v=1 1700000000\n", headers).status;
  }
};

}  // namespace

TEST_CASE("Authorization headers yield their token", "[http][auth]") {
  using agent::token_from_authorization;
  CHECK(token_from_authorization("Token abc") == "abc");
  CHECK(token_from_authorization("token  abc ") == "abc");
  CHECK(token_from_authorization("Bearer abc") == "abc");
  CHECK(token_from_authorization("Basic dGVsZWdyYWY6czNjcmV0LXRva2Vu") == "s3cret-token");
  CHECK(token_from_authorization("Basic bm9jb2xvbg==") == std::nullopt);  // no user:password
  CHECK(token_from_authorization("Basic !!!") == std::nullopt);
  CHECK(token_from_authorization("Digest abc") == std::nullopt);
  CHECK(token_from_authorization("Tokenabc") == std::nullopt);
  CHECK(agent::constant_time_equal("abc", "abc"));
  CHECK_FALSE(agent::constant_time_equal("abc", "abd"));
  CHECK_FALSE(agent::constant_time_equal("abc", "abcabc"));
  CHECK_FALSE(agent::constant_time_equal("", "a"));
  CHECK(agent::split_tokens("a\n\n b \r\nc") == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("http.auth: a missing or wrong token is 401 - the right one in any form writes",
          "[http][auth][agent]") {
  TempDir keys;
  const std::string file = keys / "tokens";
  write_file(file, "other-token\ns3cret-token\n");
  StderrCapture err;
  AuthAgent t("  auth:\n    token_file: " + file + "\n");
  CHECK(t.write("/api/v2/write?precision=s") == 401);
  CHECK(t.write("/api/v2/write?precision=s", "Authorization: Token wrong\r\n") == 401);
  CHECK(t.write("/api/v2/write?precision=s", "Authorization: Token s3cret-tokenX\r\n") == 401);
  CHECK(t.write("/write?precision=s", "Authorization: Basic dGVsZWdyYWY6d3Jvbmc=\r\n") == 401);
  CHECK(t.write("/write?precision=s&u=telegraf&p=wrong") == 401);
  auto body = http_request("POST", t.port(), "/write", "m v=1\n").body;
  CHECK_THAT(body, Contains("\"code\":\"unauthorized\""));
  CHECK_THAT(body, Contains("\"error\":"));
  CHECK(t.a->engine()->query(Query::prefix("")).empty());  // nothing got in

  CHECK(t.write("/api/v2/write?precision=s", "Authorization: Token s3cret-token\r\n") == 204);
  CHECK(t.write("/api/v2/write?precision=s", "Authorization: Bearer other-token\r\n") == 204);
  CHECK(t.write("/write?precision=s", "Authorization: Basic dGVsZWdyYWY6czNjcmV0LXRva2Vu\r\n") ==
        204);
  CHECK(t.write("/write?precision=s&u=telegraf&p=s3cret-token") == 204);

  // The query API needs it too; metrics, health, ready and ping do not.
  CHECK(http_get(t.port(), "/api/v1/export").status == 401);
  CHECK(http_request("GET", t.port(), "/api/v1/export", "", "Authorization: Token s3cret-token\r\n")
            .status == 200);
  CHECK(http_get(t.port(), "/metrics").status == 200);
  CHECK(http_get(t.port(), "/health").status == 200);
  CHECK(http_get(t.port(), "/ready").status == 200);
  CHECK(http_get(t.port(), "/ping").status == 204);
  t.a->stop();
  CHECK(err.text().find("s3cret-token") == std::string::npos);
  CHECK(err.text().find("other-token") == std::string::npos);
}

TEST_CASE("http.auth: tokens from the environment - none given is a config error",
          "[http][auth][config]") {
  ::setenv("FLOWDB_TEST_HTTP_TOKEN", "env-token", 1);
  {
    AuthAgent t("  auth:\n    token_env: FLOWDB_TEST_HTTP_TOKEN\n");
    CHECK(t.write("/api/v2/write", "Authorization: Token env-token\r\n") == 204);
    CHECK(t.write("/api/v2/write", "Authorization: Token s3cret-token\r\n") == 401);
  }
  ::unsetenv("FLOWDB_TEST_HTTP_TOKEN");
  CHECK_THROWS_WITH(agent::parse_config("http:\n  auth: {}\n", "<test>"),
                    Contains("no token given"));
  // Without http.auth every write passes.
  AuthAgent open("");
  CHECK(open.write("/api/v2/write") == 204);
}
