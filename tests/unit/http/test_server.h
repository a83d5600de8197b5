// A small HTTP/1.1 server for tests (plain or TLS), run on its own threads on
// 127.0.0.1 with an ephemeral port. Each connection gets a thread; requests on
// a connection are answered in order, kept alive unless the reply says not.
//
//   testing_http::TestServer server([](const Received& r) {
//     return Reply{200, {{"Content-Type", "application/json"}}, "{}"};
//   });
//   client.Send({"GET", server.url("/x")});
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/unit/http/test_tls.h"

namespace testing_http {

struct Received {
  std::string method;
  std::string target;   // "/path?query" as sent
  std::string path;     // without the query, not decoded
  std::string query;    // raw, without '?'
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int connection = 0;   // 1-based number of the connection it came on

  std::string header(const std::string& name) const;   // "" when absent
  // The decoded values of query parameter `name`, in order.
  std::vector<std::string> params(const std::string& name) const;
  std::string param(const std::string& name) const;    // first value or ""
};

struct Reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool hang = false;          // never answer (until the server stops)
  bool close_after = false;   // send "Connection: close" and close
  bool drop_after = false;    // close the connection after answering, silently

  static Reply Json(int status, std::string body) {
    return Reply{status, {{"Content-Type", "application/json"}}, std::move(body)};
  }
};

using Handler = std::function<Reply(const Received&)>;

class TestServer {
 public:
  // With `tls`, the server speaks HTTPS with that certificate and key.
  explicit TestServer(Handler handler, std::optional<KeyAndCert> tls = std::nullopt);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  uint16_t port() const;
  // "http://127.0.0.1:<port><path>" (https:// and `host` for TLS tests).
  std::string url(const std::string& path, const std::string& host = "127.0.0.1") const;

  int connections() const;
  int requests() const;
  std::vector<Received> received() const;

  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-decodes a query component ('+' is a space).
std::string UrlDecode(const std::string& s);

}  // namespace testing_http
