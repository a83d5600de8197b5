// Tests for http::server: real sockets on loopback, a raw Beast client.
#include "connectors/http/server.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;
using http::server::Request;
using http::server::Response;
using http::server::Router;
using http::server::Server;
using http::server::ServerOptions;

namespace {

// One client connection to the server under test.
class Client {
 public:
  explicit Client(uint16_t port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }

  bhttp::response<bhttp::string_body> Send(const std::string& method, const std::string& target,
                                           const std::string& body = "",
                                           bool keep_alive = true) {
    bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
    req.set(bhttp::field::host, "localhost");
    req.body() = body;
    req.keep_alive(keep_alive);
    req.prepare_payload();
    bhttp::write(socket_, req);
    return Read();
  }

  void SendRaw(const std::string& bytes) { net::write(socket_, net::buffer(bytes)); }

  bhttp::response<bhttp::string_body> Read() {
    bhttp::response<bhttp::string_body> res;
    bhttp::read(socket_, buffer_, res);
    return res;
  }

  // Reads until the server closes; returns the bytes (and whether it was EOF).
  std::string ReadToEof(beast::error_code& ec) {
    std::string out;
    char buf[4096];
    for (;;) {
      size_t n = socket_.read_some(net::buffer(buf), ec);
      out.append(buf, n);
      if (ec) return out;
    }
  }

 private:
  net::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

Router EchoRouter() {
  Router router;
  router.Add("GET", "/hello", [](const Request& r) {
    return Response::Text(200, "hello " + r.query);
  });
  router.Add("POST", "/echo", [](const Request& r) {
    Response res = Response::Text(200, r.body);
    res.headers.Set("X-Got-Sig", r.headers.Get("x-slack-signature"));
    res.headers.Set("X-Remote", r.remote_address);
    res.headers.Set("X-Path", r.path);
    return res;
  });
  router.AddPrefix("GET", "/static/", [](const Request& r) {
    return Response::Text(200, "static " + r.path);
  });
  router.AddPrefix("GET", "/static/deep/", [](const Request& r) {
    return Response::Text(200, "deep " + r.path);
  });
  return router;
}

}  // namespace

TEST_CASE("server routes by exact path and prefix, passes query, headers and raw body") {
  Router router = EchoRouter();
  Server server(ServerOptions{}, router.AsHandler());
  REQUIRE(server.Start().ok());
  REQUIRE(server.port() != 0);

  Client c(server.port());
  auto r = c.Send("GET", "/hello?name=a%20b&x=1");
  CHECK(r.result_int() == 200);
  CHECK(r.body() == "hello name=a%20b&x=1");

  // Body bytes arrive untouched (a form body with '+' and %-escapes).
  const std::string raw = "payload=%7B%22a%22%3A1%7D&x=a+b\r\n\x01";
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/echo?q=1", 11};
  req.set(bhttp::field::host, "x");
  req.set("X-Slack-Signature", "v0=abc");
  req.body() = raw;
  req.prepare_payload();
  Client c2(server.port());
  auto r2 = c2.Send("POST", "/echo", raw);
  CHECK(r2.body() == raw);
  CHECK(std::string(r2["X-Path"]) == "/echo");
  CHECK(std::string(r2["X-Remote"]).rfind("127.0.0.1:", 0) == 0);

  Client c3(server.port());
  c3.SendRaw("POST /echo HTTP/1.1\r\nHost: x\r\nX-SLACK-SIGNATURE: v0=abc\r\nContent-Length: 2\r\n\r\nhi");
  auto r3 = c3.Read();
  CHECK(std::string(r3["X-Got-Sig"]) == "v0=abc");

  CHECK(c.Send("GET", "/static/a.css").body() == "static /static/a.css");
  CHECK(c.Send("GET", "/static/deep/b.js").body() == "deep /static/deep/b.js");
  server.Stop();
  CHECK(server.requests_served() >= 5);
}

TEST_CASE("server answers 404 for unknown paths and 405 with Allow for wrong methods") {
  Router router = EchoRouter();
  router.Add("PUT", "/echo", [](const Request&) { return Response::Text(200, "put"); });
  Server server(ServerOptions{}, router.AsHandler());
  REQUIRE(server.Start().ok());
  Client c(server.port());
  CHECK(c.Send("GET", "/nope").result_int() == 404);
  CHECK(c.Send("GET", "/hello/more").result_int() == 404);  // exact, not prefix
  auto r = c.Send("GET", "/echo");
  CHECK(r.result_int() == 405);
  CHECK(std::string(r[bhttp::field::allow]) == "POST, PUT");
  CHECK(c.Send("PUT", "/echo").body() == "put");
  CHECK(c.Send("POST", "/static/x").result_int() == 405);
}

TEST_CASE("server refuses an oversized body with 413 before reading it") {
  std::atomic<int> calls{0};
  Router router;
  router.Add("POST", "/in", [&](const Request&) {
    ++calls;
    return Response::Text(200, "ok");
  });
  ServerOptions opt;
  opt.max_body_bytes = 1000;
  Server server(opt, router.AsHandler());
  REQUIRE(server.Start().ok());

  SECTION("announced by Content-Length: answered without sending the body") {
    Client c(server.port());
    c.SendRaw("POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n");
    auto r = c.Read();  // would hang if the server waited for 50 MB
    CHECK(r.result_int() == 413);
    CHECK_FALSE(r.keep_alive());
  }
  SECTION("chunked: cut off at the limit") {
    Client c(server.port());
    std::string chunk(600, 'x');
    c.SendRaw("POST /in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              "258\r\n" + chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n");
    CHECK(c.Read().result_int() == 413);
  }
  SECTION("a body at the limit is fine") {
    Client c(server.port());
    CHECK(c.Send("POST", "/in", std::string(1000, 'y')).result_int() == 200);
  }
  server.Stop();
  CHECK(calls.load() <= 1);
}

TEST_CASE("server keeps a connection alive across several requests") {
  std::mutex mu;
  std::set<std::string> remotes;
  Router router;
  router.Add("POST", "/n", [&](const Request& r) {
    std::lock_guard<std::mutex> lock(mu);
    remotes.insert(r.remote_address);
    return Response::Text(200, "got " + r.body);
  });
  Server server(ServerOptions{}, router.AsHandler());
  REQUIRE(server.Start().ok());
  Client c(server.port());
  for (int i = 0; i < 5; ++i) {
    auto r = c.Send("POST", "/n", std::to_string(i));
    CHECK(r.body() == "got " + std::to_string(i));
    CHECK(r.keep_alive());
  }
  CHECK(remotes.size() == 1);  // one connection served all five
  auto last = c.Send("POST", "/n", "bye", /*keep_alive=*/false);
  CHECK_FALSE(last.keep_alive());
  beast::error_code ec;
  c.ReadToEof(ec);
  CHECK(ec == net::error::eof);
}

TEST_CASE("server handles concurrent clients") {
  std::atomic<int> in_handler{0}, max_in_handler{0};
  Router router;
  router.Add("POST", "/work", [&](const Request& r) {
    int now = ++in_handler;
    int prev = max_in_handler.load();
    while (now > prev && !max_in_handler.compare_exchange_weak(prev, now)) {}
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    --in_handler;
    return Response::Text(200, r.body);
  });
  ServerOptions opt;
  opt.threads = 4;
  Server server(opt, router.AsHandler());
  REQUIRE(server.Start().ok());
  constexpr int kClients = 8, kRequests = 25;
  std::vector<std::future<int>> results;
  for (int t = 0; t < kClients; ++t) {
    results.push_back(std::async(std::launch::async, [&, t] {
      Client c(server.port());
      int good = 0;
      for (int i = 0; i < kRequests; ++i) {
        std::string body = std::to_string(t) + ":" + std::to_string(i);
        auto r = c.Send("POST", "/work", body);
        if (r.result_int() == 200 && r.body() == body) ++good;
      }
      return good;
    }));
  }
  int total = 0;
  for (auto& f : results) total += f.get();
  CHECK(total == kClients * kRequests);
  CHECK(max_in_handler.load() > 1);  // handlers really ran in parallel
  server.Stop();
  CHECK(server.requests_served() == kClients * kRequests);
}

TEST_CASE("server stop finishes in-flight requests, closes idle ones, refuses new ones") {
  std::promise<void> entered;
  std::atomic<bool> entered_once{false};
  Router router;
  router.Add("POST", "/slow", [&](const Request& r) {
    if (!entered_once.exchange(true)) entered.set_value();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return Response::Text(200, "done " + r.body);
  });
  Server server(ServerOptions{}, router.AsHandler());
  REQUIRE(server.Start().ok());
  uint16_t port = server.port();

  Client idle(port);  // connected, never sends
  auto busy = std::async(std::launch::async, [port] {
    Client c(port);
    auto r = c.Send("POST", "/slow", "x");
    return std::make_pair(r.result_int(), r.body() + (r.keep_alive() ? "" : "|close"));
  });
  entered.get_future().wait();
  auto t0 = std::chrono::steady_clock::now();
  server.Stop();
  auto waited = std::chrono::steady_clock::now() - t0;

  auto [status, body] = busy.get();
  CHECK(status == 200);
  CHECK(body == "done x|close");
  CHECK(waited < std::chrono::seconds(5));  // did not wait for the idle client's timeout

  beast::error_code ec;
  idle.ReadToEof(ec);
  CHECK(ec);  // the idle keep-alive connection was closed

  net::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  CHECK(ec);  // nobody listens any more
  server.Stop();  // idempotent
}

TEST_CASE("server answers 400 to a malformed request line") {
  Router router = EchoRouter();
  Server server(ServerOptions{}, router.AsHandler());
  REQUIRE(server.Start().ok());
  for (std::string bad : {"GARBAGE\r\n\r\n", "GET /hello HTTP/9\r\n\r\n",
                          "GET  HTTP/1.1\r\nHost: x\r\n\r\n",
                          "POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n"}) {
    Client c(server.port());
    c.SendRaw(bad);
    beast::error_code ec;
    std::string reply = c.ReadToEof(ec);
    INFO(bad);
    CHECK(reply.rfind("HTTP/1.1 400", 0) == 0);
  }
  // The server is still fine afterwards.
  Client ok(server.port());
  CHECK(ok.Send("GET", "/hello").result_int() == 200);
}

TEST_CASE("server times out a client that never finishes its headers") {
  Router router = EchoRouter();
  ServerOptions opt;
  opt.header_timeout = std::chrono::milliseconds(200);
  Server server(opt, router.AsHandler());
  REQUIRE(server.Start().ok());
  Client c(server.port());
  c.SendRaw("GET /hello HTTP/1.1\r\nHost:");
  beast::error_code ec;
  c.ReadToEof(ec);
  CHECK(ec);  // closed by the server, not left hanging
}

TEST_CASE("server start fails cleanly on a port in use") {
  Router router = EchoRouter();
  Server a(ServerOptions{}, router.AsHandler());
  REQUIRE(a.Start().ok());
  ServerOptions opt;
  opt.port = a.port();
  Server b(opt, router.AsHandler());
  auto st = b.Start();
  CHECK(st.code() == util::Status::Code::kIOError);
  CHECK(st.message().find(std::to_string(a.port())) != std::string::npos);
}

TEST_CASE("ParseUrlEncoded decodes form bodies and rejects bad escapes") {
  auto r = http::server::ParseUrlEncoded("a=1&b=x+y%21&&c&d=%7B%22k%22%3A1%7D");
  REQUIRE(r.ok());
  REQUIRE(r->size() == 4);
  CHECK((*r)[1] == std::make_pair(std::string("b"), std::string("x y!")));
  CHECK((*r)[2] == std::make_pair(std::string("c"), std::string("")));
  CHECK((*r)[3].second == "{\"k\":1}");
  CHECK_FALSE(http::server::ParseUrlEncoded("a=%4").ok());
  CHECK_FALSE(http::server::ParseUrlEncoded("a=%zz").ok());
}

TEST_CASE("StaticFiles serves files under its root and nothing outside") {
  namespace fs = std::filesystem;
  fs::path root = fs::temp_directory_path() / ("deskbot_static_" + std::to_string(::getpid()));
  fs::create_directories(root / "css");
  std::ofstream(root / "index.html") << "<p>hi</p>";
  std::ofstream(root / "css" / "a.css") << "p{}";
  std::ofstream(root / ".secret") << "no";
  Router router;
  router.AddPrefix("GET", "/ui/", http::server::StaticFiles("/ui/", root.string()));
  Server server(ServerOptions{}, router.AsHandler());
  REQUIRE(server.Start().ok());
  Client c(server.port());
  auto idx = c.Send("GET", "/ui/");
  CHECK(idx.body() == "<p>hi</p>");
  CHECK(std::string(idx[bhttp::field::content_type]).rfind("text/html", 0) == 0);
  CHECK(c.Send("GET", "/ui/css/a.css").body() == "p{}");
  CHECK(c.Send("GET", "/ui/../etc/passwd").result_int() == 404);
  CHECK(c.Send("GET", "/ui/css/../../x").result_int() == 404);
  CHECK(c.Send("GET", "/ui/.secret").result_int() == 404);
  CHECK(c.Send("GET", "/ui/%2e%2e/x").result_int() == 404);
  CHECK(c.Send("GET", "/ui/missing.js").result_int() == 404);
  server.Stop();
  fs::remove_all(root);
}

TEST_CASE("server answers 500 when a handler throws or returns an unsendable response") {
  Router router;
  router.Add("GET", "/throw", [](const Request&) -> Response { throw std::runtime_error("boom"); });
  router.Add("GET", "/bad-status", [](const Request&) { return Response::Text(42, "x"); });
  router.Add("GET", "/bad-header", [](const Request&) {
    Response r = Response::Text(200, "x");
    r.headers.Set("X-Evil", "a\r\nSet-Cookie: pwned=1");
    return r;
  });
  Server server(ServerOptions{}, router.AsHandler());
  REQUIRE(server.Start().ok());
  Client c(server.port());
  CHECK(c.Send("GET", "/throw").result_int() == 500);
  Client c2(server.port());
  CHECK(c2.Send("GET", "/bad-status").result_int() == 500);
  Client c3(server.port());
  auto r = c3.Send("GET", "/bad-header");
  CHECK(r.result_int() == 500);
  CHECK(r.find("Set-Cookie") == r.end());
}

TEST_CASE("async routes answer from another thread, many at once, on one I/O thread") {
  Router router;
  std::mutex mu;
  std::vector<http::server::Responder> waiting;
  router.AddAsync("POST", "/later", [&](const Request& r, http::server::Responder respond) {
    std::lock_guard<std::mutex> lock(mu);
    // Answered later by the test thread, the way a group commit acks a batch.
    waiting.push_back([respond, body = r.body](Response) { respond(Response::Text(200, "stored " + body)); });
  });
  router.AddAsync("GET", "/dropped", [](const Request&, http::server::Responder) {});
  router.AddAsync("GET", "/twice", [](const Request&, http::server::Responder respond) {
    respond(Response::Text(201, "first"));
    respond(Response::Text(202, "second"));
  });
  ServerOptions opt;
  opt.threads = 1;  // the one I/O thread must not be blocked by waiting handlers
  Server server(opt, router.AsAsyncHandler());
  REQUIRE(server.Start().ok());

  constexpr int kClients = 16;
  std::vector<std::future<std::string>> answers;
  for (int i = 0; i < kClients; ++i)
    answers.push_back(std::async(std::launch::async, [&, i] {
      Client c(server.port());
      return c.Send("POST", "/later", std::to_string(i)).body();
    }));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (waiting.size() == kClients) break;
    }
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::thread committer([&] {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& w : waiting) w(Response{});
  });
  committer.join();
  std::set<std::string> bodies;
  for (auto& a : answers) bodies.insert(a.get());
  CHECK(bodies.size() == kClients);
  CHECK(bodies.count("stored 7") == 1);

  Client c(server.port());
  CHECK(c.Send("GET", "/dropped").result_int() == 500);
  auto twice = c.Send("GET", "/twice");
  CHECK(twice.result_int() == 201);
  CHECK(twice.body() == "first");
  CHECK(c.Send("GET", "/nowhere").result_int() == 404);
  server.Stop();
}

TEST_CASE("RunAfterThisRound queues work on the handler's own I/O thread, to run after the handler") {
  CHECK_FALSE(http::server::OnIoThread());
  CHECK_FALSE(http::server::RunAfterThisRound([] { FAIL("ran though not on an I/O thread"); }));
  Router router;
  router.AddAsync("GET", "/round", [](const Request&, http::server::Responder respond) {
    auto order = std::make_shared<std::string>("handler");
    const auto handler_thread = std::this_thread::get_id();
    const bool queued = http::server::RunAfterThisRound([order, handler_thread, respond] {
      *order += handler_thread == std::this_thread::get_id() ? ", then on the same thread" : ", then elsewhere";
      respond(Response::Text(200, *order));
    });
    *order += http::server::OnIoThread() ? " on an I/O thread" : " elsewhere";
    if (!queued) respond(Response::Text(500, "not queued"));
  });
  ServerOptions opt;
  opt.threads = 2;
  Server server(opt, router.AsAsyncHandler());
  REQUIRE(server.Start().ok());
  for (int i = 0; i < 4; ++i) {  // both threads (connections are dealt round robin)
    Client c(server.port());
    CHECK(c.Send("GET", "/round").body() == "handler on an I/O thread, then on the same thread");
  }
  server.Stop();
}

TEST_CASE("server stop closes the listening socket: a later connect is refused, not left hanging") {
  Router router = EchoRouter();
  for (int round = 0; round < 20; ++round) {
    Server server(ServerOptions{}, router.AsHandler());
    REQUIRE(server.Start().ok());
    const uint16_t port = server.port();
    server.Stop();
    net::io_context ioc;
    tcp::socket s(ioc);
    beast::error_code ec;
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
    INFO("round " << round);
    CHECK(ec == net::error::connection_refused);
  }
}
