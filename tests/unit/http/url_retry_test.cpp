#include <catch2/catch.hpp>

#include "connectors/http/retry.h"
#include "connectors/http/url.h"

using namespace std::chrono_literals;

TEST_CASE("ParseUrl splits scheme, host, port and target", "[http][url]") {
  auto u = http::ParseUrl("http://127.0.0.1:8089/REST/2.0/tickets?query=a%20b&page=2");
  REQUIRE(u.ok());
  CHECK(u->scheme == "http");
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == 8089);
  CHECK(u->path == "/REST/2.0/tickets");
  CHECK(u->target == "/REST/2.0/tickets?query=a%20b&page=2");
  CHECK(u->authority() == "127.0.0.1:8089");
  CHECK_FALSE(u->tls());

  auto s = http::ParseUrl("HTTPS://rt.example.com");
  REQUIRE(s.ok());
  CHECK(s->tls());
  CHECK(s->port == 443);
  CHECK(s->target == "/");

  auto v6 = http::ParseUrl("http://[::1]:9000/x");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->authority() == "[::1]:9000");

  auto creds = http::ParseUrl("https://bob:hunter2@rt.example.com/");
  REQUIRE(creds.ok());
  CHECK(creds->has_userinfo);
}

TEST_CASE("ParseUrl refuses what it cannot send to", "[http][url]") {
  CHECK_FALSE(http::ParseUrl("ftp://example.com/").ok());
  CHECK_FALSE(http::ParseUrl("/relative/path").ok());
  CHECK_FALSE(http::ParseUrl("http://").ok());
  CHECK_FALSE(http::ParseUrl("not a url at all").ok());
  auto bad = http::ParseUrl("gopher://user:s3cret@host/");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("s3cret") == std::string::npos);
}

TEST_CASE("EncodeQuery keeps order and repeats and escapes everything reserved", "[http][url]") {
  http::QueryParams p = {{"query", "Queue = 'Help desk' AND id > 5"},
                         {"orderby", "LastUpdated"},
                         {"orderby", "id"},
                         {"fields[Requestor]", "EmailAddress,RealName"},
                         {"q", "caf\xC3\xA9&x=1"}};
  CHECK(http::EncodeQuery(p) ==
        "query=Queue%20%3D%20%27Help%20desk%27%20AND%20id%20%3E%205&orderby=LastUpdated&orderby=id"
        "&fields%5BRequestor%5D=EmailAddress%2CRealName&q=caf%C3%A9%26x%3D1");
  CHECK(http::WithQuery("http://h/x", {{"a", "1"}}) == "http://h/x?a=1");
  CHECK(http::WithQuery("http://h/x?z=0", {{"a", "1"}}) == "http://h/x?z=0&a=1");
  CHECK(http::WithQuery("http://h/x", {}) == "http://h/x");
}

TEST_CASE("BackoffDelay grows exponentially, is capped and jittered", "[http][retry]") {
  http::RetryPolicy p;
  p.initial_delay = 100ms;
  p.multiplier = 2;
  p.max_delay = 1000ms;
  p.jitter = 0;
  CHECK(http::BackoffDelay(p, 1, 0.5) == 100ms);
  CHECK(http::BackoffDelay(p, 2, 0.5) == 200ms);
  CHECK(http::BackoffDelay(p, 3, 0.5) == 400ms);
  CHECK(http::BackoffDelay(p, 10, 0.5) == 1000ms);
  p.jitter = 0.5;
  CHECK(http::BackoffDelay(p, 2, 0.0) == 100ms);   // 200 * 0.5
  CHECK(http::BackoffDelay(p, 2, 0.999) >= 299ms);  // 200 * ~1.5
  CHECK(http::BackoffDelay(p, 10, 0.999) == 1000ms);  // never above the cap
}

TEST_CASE("ParseRetryAfter reads seconds and HTTP dates", "[http][retry]") {
  // 2015-10-21 07:28:00 UTC
  auto now = std::chrono::system_clock::from_time_t(1445412480);
  CHECK(http::ParseRetryAfter("120", now) == std::chrono::milliseconds(120000));
  CHECK(http::ParseRetryAfter(" 0 ", now) == std::chrono::milliseconds(0));
  CHECK(http::ParseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now) == std::chrono::milliseconds(30000));
  CHECK(http::ParseRetryAfter("Wednesday, 21-Oct-15 07:29:00 GMT", now) == std::chrono::milliseconds(60000));
  CHECK(http::ParseRetryAfter("Wed Oct 21 07:28:05 2015", now) == std::chrono::milliseconds(5000));
  CHECK(http::ParseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now) == std::chrono::milliseconds(0));
  CHECK_FALSE(http::ParseRetryAfter("soon", now).has_value());
  CHECK_FALSE(http::ParseRetryAfter("", now).has_value());
  CHECK_FALSE(http::ParseRetryAfter("-5", now).has_value());
}

TEST_CASE("Idempotent methods and retryable statuses", "[http][retry]") {
  CHECK(http::IsIdempotent("GET"));
  CHECK(http::IsIdempotent("PUT"));
  CHECK(http::IsIdempotent("DELETE"));
  CHECK_FALSE(http::IsIdempotent("POST"));
  CHECK_FALSE(http::IsIdempotent("PATCH"));
  CHECK(http::IsRetryableStatus(429));
  CHECK(http::IsRetryableStatus(500));
  CHECK(http::IsRetryableStatus(503));
  CHECK_FALSE(http::IsRetryableStatus(501));
  CHECK_FALSE(http::IsRetryableStatus(404));
  CHECK_FALSE(http::IsRetryableStatus(200));
}
