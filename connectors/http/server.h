// A small asynchronous HTTP/1.1 server (Boost.Beast underneath, kept out of
// this header).
//
// deskbot sits behind a TLS-terminating reverse proxy, so this server speaks
// plain HTTP only. It is built for webhook receivers: every request body is
// capped (413 before the body is buffered), slow clients are timed out, and
// Stop() drains in-flight requests before returning so a delivery that was
// received is always answered.
//
//   http::server::Router router;
//   router.Add("POST", "/slack/events", [](const Request& r) { ... });
//   http::server::Server server({.port = 0}, router.AsHandler());
//   DESK_RETURN_IF_ERROR(server.Start());
//   ... server.port() ...
//   server.Stop();
//
// Handlers run on the server's I/O threads: keep them quick (persist, then
// answer) and thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/util/status.h"

namespace http::server {

// Header fields in arrival order; names compare case-insensitively.
class Headers {
 public:
  void Add(std::string name, std::string value);
  // Replaces every field called `name` with one field.
  void Set(std::string name, std::string value);
  // The first value for `name`, or "" when absent.
  std::string Get(std::string_view name) const;
  bool Has(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct Request {
  std::string method;   // "GET", "POST", ...
  std::string target;   // as sent: "/path?x=1"
  std::string path;     // "/path" (not percent-decoded)
  std::string query;    // "x=1" (raw, without '?')
  Headers headers;
  std::string body;            // raw bytes exactly as received (signatures need them)
  std::string remote_address;  // "127.0.0.1:53122"
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  static Response Text(int status, std::string body);
  static Response Json(int status, std::string body);
};

using Handler = std::function<Response(const Request&)>;

// Asynchronous handlers answer through a Responder instead of returning: the
// I/O thread is free while, e.g., a group commit makes the request durable.
// A Responder may be called from any thread, once (later calls are ignored);
// the write is posted to the connection's I/O thread. If every copy of a
// Responder is destroyed without being called, the request is answered 500
// (so a lost answer makes a webhook sender retry rather than hang). The
// Request is valid only during the handler call: copy what is needed later.
using Responder = std::function<void(Response)>;
using AsyncHandler = std::function<void(const Request&, Responder)>;

// Whether the calling thread is one of a server's I/O threads.
bool OnIoThread();
// On one of a server's I/O threads: queues `fn` to run on this same thread
// after the handlers already due there (the rest of this round of reads),
// and returns true. Elsewhere returns false and does nothing. Lets a handler
// gather work from the requests that arrived together and do it once (the
// inbox writer's group commit).
bool RunAfterThisRound(std::function<void()> fn);

// Routes by exact path or by path prefix, then by method. A path that is known
// but has no handler for the method gets 405 with an Allow header; an unknown
// path gets 404. Exact routes win over prefixes; the longest prefix wins.
class Router {
 public:
  void Add(std::string method, std::string path, Handler handler);
  void AddPrefix(std::string method, std::string prefix, Handler handler);
  void AddAsync(std::string method, std::string path, AsyncHandler handler);
  void AddPrefixAsync(std::string method, std::string prefix, AsyncHandler handler);

  void RouteAsync(const Request& request, Responder respond) const;
  // Synchronous routing (blocks until an asynchronous route has answered).
  Response Route(const Request& request) const;
  // A handler that routes through this router (which must outlive it).
  Handler AsHandler() const;
  AsyncHandler AsAsyncHandler() const;

 private:
  struct Entry {
    std::string method;
    std::string path;
    bool prefix;
    AsyncHandler handler;
  };
  std::vector<Entry> routes_;
};

// A handler serving regular files below `root` for a prefix route: the request
// path minus `prefix` names the file. Refuses "..", hidden files and anything
// that is not a regular file (404). Content-Type from the extension.
Handler StaticFiles(std::string prefix, std::string root);

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;            // 0 = an ephemeral port; see Server::port()
  int threads = 2;              // I/O threads running handlers
  std::size_t max_body_bytes = 1 << 20;    // larger requests get 413
  std::size_t max_header_bytes = 16 << 10; // larger headers get 431
  // Time allowed to receive a whole request, headers and body (also the
  // keep-alive idle time).
  std::chrono::milliseconds header_timeout{10000};
  // Time allowed to write the answer.
  std::chrono::milliseconds read_timeout{30000};
  // Stop() waits at most this long for in-flight requests.
  std::chrono::milliseconds drain_timeout{10000};
  std::string server_name = "deskbot";
};

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  Server(ServerOptions options, AsyncHandler handler);
  ~Server();  // calls Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the I/O threads. Fails on a bad host or a port
  // in use.
  util::Status Start();
  // The bound port (useful when options.port was 0). 0 before Start().
  uint16_t port() const;
  // Stops accepting (the listening socket is closed before Stop() goes on, so
  // a later connect is refused rather than left hanging), closes idle keep-alive connections, lets requests already
  // being read or handled finish (up to drain_timeout), then returns. Idempotent.
  void Stop();

  // Number of requests answered so far (all statuses).
  uint64_t requests_served() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-decodes an application/x-www-form-urlencoded or query string into
// name/value pairs ('+' is a space). Fails on a bad %-escape.
util::Result<std::vector<std::pair<std::string, std::string>>> ParseUrlEncoded(
    std::string_view text);

}  // namespace http::server
