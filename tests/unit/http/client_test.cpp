// The HTTP client against a real local server: keep-alive, retries,
// Retry-After, timeouts, body limits, TLS verification, secret-free errors.
#include <atomic>
#include <catch2/catch.hpp>
#include <ctime>
#include <mutex>
#include <thread>

#include "connectors/http/client.h"
#include "tests/unit/http/test_server.h"
#include "tests/unit/http/test_tls.h"

using namespace std::chrono_literals;
using testing_http::Received;
using testing_http::Reply;
using testing_http::TestServer;

namespace {

// Options that record the waits instead of sleeping, so retry tests are fast
// and can check the delays exactly.
struct Recorded {
  std::mutex mu;
  std::vector<std::chrono::milliseconds> waits;
};

http::ClientOptions FastOptions(Recorded* rec) {
  http::ClientOptions o;
  o.connect_timeout = 2000ms;
  o.request_timeout = 2000ms;
  o.retry.max_attempts = 4;
  o.retry.initial_delay = 100ms;
  o.retry.max_delay = 5000ms;
  o.sleep = [rec](std::chrono::milliseconds d) {
    std::lock_guard lock(rec->mu);
    rec->waits.push_back(d);
  };
  return o;
}

std::unique_ptr<http::Client> MakeClient(http::ClientOptions o) {
  auto c = http::Client::Create(std::move(o));
  REQUIRE(c.ok());
  return std::move(c).value();
}

http::Request Get(const std::string& url) {
  http::Request r;
  r.url = url;
  return r;
}

// A port nothing listens on: bind one, then close it.
uint16_t DeadPort() {
  TestServer s([](const Received&) { return Reply{}; });
  uint16_t port = s.port();
  s.Stop();
  return port;
}

}  // namespace

TEST_CASE("GET and POST round-trip status, headers and body", "[http][client]") {
  TestServer server([](const Received& r) {
    if (r.method == "POST")
      return Reply::Json(201, "{\"got\":\"" + r.body + "\",\"type\":\"" + r.header("Content-Type") + "\"}");
    return Reply{200, {{"X-Thing", "42"}, {"Content-Type", "text/plain"}}, "hello " + r.target};
  });
  Recorded rec;
  auto client = MakeClient(FastOptions(&rec));

  auto get = Get(server.url("/a/b?x=1"));
  get.headers.Set("Accept", "text/plain");
  auto res = client->Send(get);
  REQUIRE(res.ok());
  CHECK(res->status == 200);
  CHECK(res->body == "hello /a/b?x=1");
  CHECK(res->headers.Get("x-thing") == std::optional<std::string>("42"));
  CHECK(res->attempts == 1);

  http::Request post;
  post.method = "POST";
  post.url = server.url("/create");
  post.headers.Set("Content-Type", "application/json");
  post.body = "abc";
  auto created = client->Send(post);
  REQUIRE(created.ok());
  CHECK(created->status == 201);
  CHECK(created->body == "{\"got\":\"abc\",\"type\":\"application/json\"}");

  auto seen = server.received();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].header("Host") == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(seen[0].header("User-Agent") == "deskbot/0.1");
  CHECK(seen[0].header("Accept") == "text/plain");
  CHECK(seen[1].header("Content-Length") == "3");
  CHECK(rec.waits.empty());
}

TEST_CASE("Keep-alive: sequential requests share one connection", "[http][client]") {
  TestServer server([](const Received&) { return Reply{200, {}, "ok"}; });
  Recorded rec;
  auto client = MakeClient(FastOptions(&rec));
  for (int i = 0; i < 5; ++i) REQUIRE(client->Send(Get(server.url("/n"))).ok());
  CHECK(server.connections() == 1);
  CHECK(server.requests() == 5);
  CHECK(client->stats().connections_opened == 1);
  CHECK(client->stats().connections_reused == 4);
}

TEST_CASE("Keep-alive: a connection the server closed is not reused blindly", "[http][client]") {
  std::atomic<int> n{0};
  TestServer server([&](const Received&) {
    Reply r{200, {}, "ok"};
    // The 1st answer says "close"; the 2nd is followed by a silent close,
    // as a server does when its keep-alive idle timer fires.
    int i = ++n;
    r.close_after = i == 1;
    r.drop_after = i == 2;
    return r;
  });
  Recorded rec;
  auto client = MakeClient(FastOptions(&rec));
  REQUIRE(client->Send(Get(server.url("/1"))).ok());
  REQUIRE(client->Send(Get(server.url("/2"))).ok());
  std::this_thread::sleep_for(100ms);  // let the close arrive
  auto third = client->Send(Get(server.url("/3")));
  REQUIRE(third.ok());
  CHECK(third->attempts == 1);
  CHECK(server.connections() == 3);
  CHECK(server.requests() == 3);
  CHECK(rec.waits.empty());
}

TEST_CASE("Concurrent use from several threads", "[http][client]") {
  TestServer server([](const Received& r) { return Reply{200, {}, r.path}; });
  Recorded rec;
  auto client = MakeClient(FastOptions(&rec));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string path = "/t" + std::to_string(t) + "/" + std::to_string(i);
        auto res = client->Send(Get(server.url(path)));
        if (res.ok() && res->body == path) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(ok == 40);
  CHECK(server.connections() <= 4);
}

TEST_CASE("A 500 then 200 is retried with backoff", "[http][client][retry]") {
  std::atomic<int> n{0};
  TestServer server([&](const Received&) {
    return ++n == 1 ? Reply{500, {}, "boom"} : Reply{200, {}, "fine"};
  });
  Recorded rec;
  auto client = MakeClient(FastOptions(&rec));
  auto res = client->Send(Get(server.url("/flaky")));
  REQUIRE(res.ok());
  CHECK(res->body == "fine");
  CHECK(res->attempts == 2);
  REQUIRE(rec.waits.size() == 1);
  CHECK(rec.waits[0] >= 75ms);   // 100 ms +-25 %
  CHECK(rec.waits[0] <= 125ms);
}

TEST_CASE("Persistent 503 gives up after max attempts with an Unavailable error", "[http][client][retry]") {
  TestServer server([](const Received&) { return Reply{503, {}, "down for maintenance"}; });
  Recorded rec;
  auto client = MakeClient(FastOptions(&rec));
  auto res = client->Send(Get(server.url("/down")));
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == util::Status::Code::kUnavailable);
  CHECK_THAT(res.status().message(), Catch::Contains("HTTP 503"));
  CHECK_THAT(res.status().message(), Catch::Contains("after 4 attempts"));
  CHECK(server.requests() == 4);
  REQUIRE(rec.waits.size() == 3);
  CHECK(rec.waits[1] > rec.waits[0]);  // exponential: 100, 200, 400 (+-25 %)
  CHECK(rec.waits[2] > rec.waits[1]);
}

TEST_CASE("POST is not retried after a 500 unless the caller allows it", "[http][client][retry]") {
  std::atomic<int> n{0};
  TestServer server([&](const Received&) {
    return ++n < 3 ? Reply{500, {}, "oops"} : Reply{201, {}, "made"};
  });
  Recorded rec;
  auto client = MakeClient(FastOptions(&rec));
  http::Request post;
  post.method = "POST";
  post.url = server.url("/tickets");
  post.body = "{}";
  auto once = client->Send(post);
  REQUIRE_FALSE(once.ok());
  CHECK(server.requests() == 1);

  post.retry_non_idempotent = true;
  auto twice = client->Send(post);
  REQUIRE(twice.ok());
  CHECK(twice->status == 201);
  CHECK(twice->attempts == 2);
  CHECK(server.requests() == 3);
}

TEST_CASE("429 with Retry-After in seconds is honoured", "[http][client][retry]") {
  std::atomic<int> n{0};
  TestServer server([&](const Received&) {
    if (++n == 1) return Reply{429, {{"Retry-After", "2"}}, "slow down"};
    return Reply{200, {}, "ok"};
  });
  Recorded rec;
  auto client = MakeClient(FastOptions(&rec));
  http::Request post;  // 429: refused before acting, so even a POST is retried
  post.method = "POST";
  post.url = server.url("/x");
  auto res = client->Send(post);
  REQUIRE(res.ok());
  REQUIRE(rec.waits.size() == 1);
  CHECK(rec.waits[0] == 2000ms);
}

TEST_CASE("429 with Retry-After as an HTTP date is honoured", "[http][client][retry]") {
  std::atomic<int> n{0};
  TestServer server([&](const Received&) {
    if (++n == 1) {
      std::time_t when = std::time(nullptr) + 3;
      char buf[64];
      std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", std::gmtime(&when));
      return Reply{429, {{"Retry-After", buf}}, ""};
    }
    return Reply{200, {}, "ok"};
  });
  Recorded rec;
  auto client = MakeClient(FastOptions(&rec));
  REQUIRE(client->Send(Get(server.url("/x"))).ok());
  REQUIRE(rec.waits.size() == 1);
  CHECK(rec.waits[0] >= 1000ms);   // 3 s minus clock second boundaries
  CHECK(rec.waits[0] <= 3000ms);
}

TEST_CASE("Retry-After is really waited for with the default sleep", "[http][client][retry]") {
  std::atomic<int> n{0};
  TestServer server([&](const Received&) {
    return ++n == 1 ? Reply{503, {{"Retry-After", "1"}}, ""} : Reply{200, {}, "ok"};
  });
  http::ClientOptions o;
  o.request_timeout = 5000ms;
  auto client = MakeClient(o);
  auto start = std::chrono::steady_clock::now();
  REQUIRE(client->Send(Get(server.url("/x"))).ok());
  CHECK(std::chrono::steady_clock::now() - start >= 950ms);
}

TEST_CASE("A Retry-After longer than max_delay ends the retries", "[http][client][retry]") {
  TestServer server([](const Received&) { return Reply{429, {{"Retry-After", "3600"}}, "quota"}; });
  Recorded rec;
  auto client = MakeClient(FastOptions(&rec));
  auto res = client->Send(Get(server.url("/x")));
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == util::Status::Code::kUnavailable);
  CHECK_THAT(res.status().message(), Catch::Contains("retry after 3600 s"));
  CHECK(rec.waits.empty());
  CHECK(server.requests() == 1);
}

TEST_CASE("A server that never answers times out", "[http][client]") {
  TestServer server([](const Received&) { Reply r; r.hang = true; return r; });
  Recorded rec;
  auto o = FastOptions(&rec);
  o.request_timeout = 300ms;
  o.retry.max_attempts = 2;
  auto client = MakeClient(o);
  auto start = std::chrono::steady_clock::now();
  auto res = client->Send(Get(server.url("/slow")));
  auto took = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == util::Status::Code::kUnavailable);
  CHECK_THAT(res.status().message(), Catch::Contains("timed out after 300 ms"));
  CHECK_THAT(res.status().message(), Catch::Contains("GET 127.0.0.1:"));
  CHECK(server.requests() == 2);       // a GET is retried after a timeout
  CHECK(took < 10s);

  // A POST that timed out may have been processed: not repeated.
  http::Request post;
  post.method = "POST";
  post.url = server.url("/slow");
  REQUIRE_FALSE(client->Send(post).ok());
  CHECK(server.requests() == 3);
}

TEST_CASE("Connection refused is retried, then reported", "[http][client]") {
  Recorded rec;
  auto client = MakeClient(FastOptions(&rec));
  http::Request post;  // never reached the server: safe to retry even a POST
  post.method = "POST";
  post.url = "http://127.0.0.1:" + std::to_string(DeadPort()) + "/x";
  auto res = client->Send(post);
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == util::Status::Code::kUnavailable);
  CHECK_THAT(res.status().message(), Catch::Contains("connect"));
  CHECK(rec.waits.size() == 3);
}

TEST_CASE("An oversized body is refused and not retried", "[http][client]") {
  TestServer server([](const Received&) { return Reply{200, {}, std::string(5000, 'x')}; });
  Recorded rec;
  auto o = FastOptions(&rec);
  o.max_body_bytes = 1000;
  auto client = MakeClient(o);
  auto res = client->Send(Get(server.url("/big")));
  REQUIRE_FALSE(res.ok());
  CHECK_THAT(res.status().message(), Catch::Contains("larger than the limit of 1000 bytes"));
  CHECK(server.requests() == 1);
  // Just under the limit is fine.
  o.max_body_bytes = 5000;
  auto roomy = MakeClient(o);
  auto ok = roomy->Send(Get(server.url("/big")));
  REQUIRE(ok.ok());
  CHECK(ok->body.size() == 5000);
}

TEST_CASE("HTTP errors map to status codes, fail_on_http_error=false returns them", "[http][client]") {
  TestServer server([](const Received& r) {
    if (r.path == "/missing") return Reply::Json(404, "{\"message\":\"Not Found\"}");
    if (r.path == "/bad") return Reply::Json(400, "{\"message\":\"Couldn't parse query\"}");
    return Reply::Json(401, "{\"message\":\"Unauthorized\"}");
  });
  Recorded rec;
  auto client = MakeClient(FastOptions(&rec));
  auto missing = client->Send(Get(server.url("/missing")));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == util::Status::Code::kNotFound);
  CHECK(missing.status().message() ==
        "GET 127.0.0.1:" + std::to_string(server.port()) + "/missing: HTTP 404 Not Found: {\"message\":\"Not Found\"}");
  CHECK(client->Send(Get(server.url("/bad"))).status().code() == util::Status::Code::kInvalidArgument);
  CHECK(client->Send(Get(server.url("/auth"))).status().code() == util::Status::Code::kUnauthorized);

  auto raw = Get(server.url("/missing"));
  raw.fail_on_http_error = false;
  auto res = client->Send(raw);
  REQUIRE(res.ok());
  CHECK(res->status == 404);
  CHECK(rec.waits.empty());
}

TEST_CASE("Secrets never appear in error text", "[http][client]") {
  const std::string token = "1-30-0123456789abcdef0123456789abcdef";
  // A careless server echoing the credentials it got.
  TestServer server([](const Received& r) {
    return Reply::Json(401, "{\"message\":\"bad credentials: " + r.header("Authorization") + " cookie " +
                                r.header("Cookie") + " key " + r.header("X-Api-Key") + "\"}");
  });
  Recorded rec;
  auto client = MakeClient(FastOptions(&rec));
  auto req = Get(server.url("/REST/2.0/tickets?token=" + token + "&query=x"));
  req.headers.Set("Authorization", "token " + token);
  req.headers.Set("Cookie", "RT_SID_helpdesk.8089=sessionsecret1234");
  req.headers.Set("X-Api-Key", "apikeyvalue9876");
  auto res = client->Send(req);
  REQUIRE_FALSE(res.ok());
  const std::string msg = res.status().ToString();
  CHECK(msg.find(token) == std::string::npos);
  CHECK(msg.find("sessionsecret1234") == std::string::npos);
  CHECK(msg.find("apikeyvalue9876") == std::string::npos);
  CHECK(msg.find("query=x") == std::string::npos);   // no query strings at all
  CHECK_THAT(msg, Catch::Contains("GET 127.0.0.1:" + std::to_string(server.port()) + "/REST/2.0/tickets"));
  CHECK_THAT(msg, Catch::Contains("HTTP 401"));
  CHECK_THAT(msg, Catch::Contains("[redacted]"));

  // Credentials in the URL are refused without being echoed.
  auto userinfo = client->Send(Get("http://bob:hunter2@127.0.0.1:" + std::to_string(server.port()) + "/"));
  REQUIRE_FALSE(userinfo.ok());
  CHECK(userinfo.status().message().find("hunter2") == std::string::npos);

  // Connection failures too.
  auto dead = Get("http://127.0.0.1:" + std::to_string(DeadPort()) + "/x?token=" + token);
  dead.headers.Set("Authorization", "token " + token);
  auto failed = client->Send(dead);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().message().find(token) == std::string::npos);
}

TEST_CASE("A long body is cut to a short one-line excerpt in errors", "[http][client]") {
  TestServer server([](const Received&) { return Reply{400, {}, "line one\n\n\tline two " + std::string(5000, 'z')}; });
  Recorded rec;
  auto client = MakeClient(FastOptions(&rec));
  auto res = client->Send(Get(server.url("/x")));
  REQUIRE_FALSE(res.ok());
  CHECK_THAT(res.status().message(), Catch::Contains("line one line two zzz"));
  CHECK_THAT(res.status().message(), Catch::EndsWith("..."));
  CHECK(res.status().message().size() < 400);
}

TEST_CASE("HTTPS with a trusted CA: verified, SNI sent, reused", "[http][client][tls]") {
  auto ca = testing_http::MakeCa("deskbot test CA");
  auto leaf = testing_http::IssueServerCert(ca, {"localhost"}, {"127.0.0.1"});
  TestServer server([](const Received& r) { return Reply{200, {}, "secure " + r.path}; }, leaf);
  Recorded rec;
  auto o = FastOptions(&rec);
  o.ca_file = testing_http::WriteTempFile("ca.pem", ca.cert_pem);
  auto client = MakeClient(o);
  auto res = client->Send(Get(server.url("/hello", "localhost")));
  REQUIRE(res.ok());
  CHECK(res->body == "secure /hello");
  REQUIRE(client->Send(Get(server.url("/again", "localhost"))).ok());
  CHECK(server.connections() == 1);
  // An IP address in subjectAltName is checked too.
  REQUIRE(client->Send(Get(server.url("/ip", "127.0.0.1"))).ok());
}

TEST_CASE("HTTPS refuses an untrusted certificate and a wrong host name", "[http][client][tls]") {
  auto ca = testing_http::MakeCa("deskbot test CA");
  auto rogue_ca = testing_http::MakeCa("someone else");
  Recorded rec;
  auto o = FastOptions(&rec);
  o.ca_file = testing_http::WriteTempFile("ca.pem", ca.cert_pem);
  auto client = MakeClient(o);

  {
    auto leaf = testing_http::IssueServerCert(rogue_ca, {"localhost"}, {"127.0.0.1"});
    TestServer server([](const Received&) { return Reply{200, {}, "should not be read"}; }, leaf);
    auto res = client->Send(Get(server.url("/", "localhost")));
    REQUIRE_FALSE(res.ok());
    CHECK(res.status().code() == util::Status::Code::kUnauthorized);
    CHECK_THAT(res.status().message(), Catch::Contains("not trusted"));
    CHECK(server.requests() == 0);
    CHECK(rec.waits.empty());  // not worth retrying
  }
  {
    auto leaf = testing_http::IssueServerCert(ca, {"other.test"}, {});
    TestServer server([](const Received&) { return Reply{200, {}, "should not be read"}; }, leaf);
    auto res = client->Send(Get(server.url("/", "localhost")));
    REQUIRE_FALSE(res.ok());
    CHECK(res.status().code() == util::Status::Code::kUnauthorized);
    CHECK(server.requests() == 0);
  }
  {
    // Without a CA file the system store is used, which does not know our CA.
    auto leaf = testing_http::IssueServerCert(ca, {"localhost"}, {});
    TestServer server([](const Received&) { return Reply{200, {}, "x"}; }, leaf);
    auto system = MakeClient(FastOptions(&rec));
    auto res = system->Send(Get(server.url("/", "localhost")));
    REQUIRE_FALSE(res.ok());
    CHECK_THAT(res.status().message(), Catch::Contains("not trusted"));
  }
}

TEST_CASE("A missing CA file is a clear error at creation", "[http][client][tls]") {
  http::ClientOptions o;
  o.ca_file = "/nonexistent/ca.pem";
  auto c = http::Client::Create(o);
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.status().message(), Catch::Contains("/nonexistent/ca.pem"));
}
