// A flowdb-agent process with an http input for the client tests: token
// `tok` (a file), max_body_bytes 64KiB, and helpers to write with curl and
// read back through the query API.
#pragma once
#include <cstdlib>

#include "agent_util.h"

namespace flowdb::testing {

// An agent with an http input, token `tok`, max_body_bytes 64KiB.
struct ClientAgent {
  TempDir dir;
  AgentProcess agent{FLOWDB_AGENT_BIN, dir.path()};
  ClientAgent() {
    write_file(dir / "tokens", "tok\n");
    agent.start("storage:\n  data_dir: " + (dir / "data") +
                "\nhttp:\n  listen: 127.0.0.1:" + std::to_string(agent.http_port()) +
                "\n  auth:\n    token_file: " + (dir / "tokens") +
                "\ninputs:\n  http:\n    - name: influx\n      max_body_bytes: 64KiB\n");
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(agent.http_port()) + path;
  }
  // curl --data-binary @file; returns the status code and the body in *body.
  int curl(const std::string& path, const std::string& file, std::vector<std::string> headers,
           std::string* body = nullptr) {
    const std::string out = dir / "curl.out", code = dir / "curl.code";
    std::filesystem::remove(code);
    std::vector<std::string> argv = {
        "curl",    "-sS",           "-o",      out, "-w", "%{http_code}", "-XPOST",
        url(path), "--data-binary", "@" + file};
    for (auto& h : headers) argv.insert(argv.end(), {"-H", h});
    if (run_command(argv, code) != 0) return -1;
    if (body) *body = read_file(out);
    return std::atoi(read_file(code).c_str());
  }
  std::string query(const std::string& params) {
    return http_request("GET", agent.http_port(), "/api/v1/export?" + params, "",
                        "Authorization: Token tok\r\n")
        .body;
  }
};

}  // namespace flowdb::testing
