// A blocking HTTP/1.1 client (Boost.Beast and OpenSSL underneath, kept out of
// this header). One Client is safe to use from many threads at once.
//
//   http::ClientOptions options;
//   options.request_timeout = std::chrono::seconds(30);
//   auto client = http::Client::Create(options);
//   http::Request req{"GET", "https://rt.example.com/REST/2.0/rt"};
//   req.headers.Set("Authorization", "token " + token);
//   util::Result<http::Response> resp = (*client)->Send(req);
//
// What it does for the caller:
// - HTTPS: certificate chain checked against the system store (or ca_file),
//   SNI sent, host name checked against the certificate.
// - Keep-alive: idle connections are kept per scheme+host+port and reused,
//   because some servers (RT) make every new connection and request costly.
// - Retries with exponential backoff and jitter on 429, 5xx and connection
//   failures, honouring Retry-After. Non-idempotent requests (POST, PATCH) are
//   retried only when the request says so, or when the request certainly was
//   not processed (the connection could not be opened, or 429).
// - Limits: connect timeout, a deadline for the whole attempt, a cap on the
//   response body.
// - Errors name the method, host:port, path (never the query), the status and
//   a short excerpt of the body. Header values (Authorization, cookies, tokens)
//   and URL userinfo never appear in them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/http/retry.h"
#include "connectors/util/status.h"

namespace http {

// Header fields in order; names compare case-insensitively.
class Headers {
 public:
  void Add(std::string name, std::string value);
  // Replaces every field called `name` with one field.
  void Set(std::string name, std::string value);
  void Remove(std::string_view name);
  // The first value for `name`, or nullopt.
  std::optional<std::string> Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct Request {
  std::string method = "GET";
  std::string url;               // absolute: http(s)://host[:port]/path[?query]
  Headers headers;               // Host, Content-Length, User-Agent are added
  std::string body;
  // Retry a non-idempotent method (POST, PATCH) after 5xx or a failure
  // mid-request. Only for requests that are safe to repeat.
  bool retry_non_idempotent = false;
  // false: a final non-2xx response is returned as a Response instead of an
  // error (the caller wants to look at the status itself).
  bool fail_on_http_error = true;
};

struct Response {
  int status = 0;
  Headers headers;
  std::string body;
  int attempts = 1;              // how many tries it took
};

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{10000};   // DNS + TCP + TLS handshake
  std::chrono::milliseconds request_timeout{60000};   // one attempt: write + read all
  std::size_t max_body_bytes = 64u << 20;             // larger responses are refused
  std::string ca_file;           // PEM bundle to trust instead of the system store
  RetryPolicy retry;
  std::string user_agent = "deskbot/0.1";
  std::size_t max_idle_per_host = 4;                  // idle keep-alive connections kept
  std::chrono::milliseconds idle_timeout{30000};      // older idle connections are closed
  // Waits between attempts. Tests replace it to observe the delays.
  std::function<void(std::chrono::milliseconds)> sleep;
};

// Counters for tests and logs.
struct ClientStats {
  std::uint64_t connections_opened = 0;
  std::uint64_t requests_sent = 0;      // attempts written to the wire
  std::uint64_t connections_reused = 0;
};

class Client {
 public:
  // Fails when ca_file cannot be loaded.
  static util::Result<std::unique_ptr<Client>> Create(ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends `request`, retrying per the policy. A 2xx response (or any response
  // when fail_on_http_error is false) is returned; otherwise an error whose
  // code follows the status: 400/422 invalid argument, 401/403 unauthorized,
  // 404/410 not found, 409 already exists, 429/5xx/timeouts/connection
  // failures unavailable, anything else I/O error.
  util::Result<Response> Send(const Request& request);

  ClientStats stats() const;
  // Closes idle connections (e.g. before a fork or after a burst).
  void CloseIdle();

 private:
  class Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The Status code for a final HTTP status, as Send() uses it.
util::Status::Code CodeForHttpStatus(int status);

// Case-insensitive ASCII comparison (header names).
bool IEqualsAscii(std::string_view a, std::string_view b);

// True for header names whose values are credentials (Authorization,
// Proxy-Authorization, Cookie, Set-Cookie, and names containing "token",
// "secret", "password", "api-key"/"apikey").
bool IsSecretHeader(std::string_view name);

}  // namespace http
