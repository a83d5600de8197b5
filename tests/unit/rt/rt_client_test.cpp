// The RT REST2 client against a fake RT serving RT 5's real JSON shapes.
#include <catch2/catch.hpp>

#include "connectors/rt/client.h"
#include "tests/unit/rt/fake_rt.h"

namespace {

template <typename T>
T Ok(util::Result<T> r) {
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::unique_ptr<rt::Client> TokenClient(const fake_rt::FakeRt& fake) {
  rt::ClientOptions o;
  o.base_url = fake.base_url();
  o.auth.token = fake.token;
  o.http.retry.initial_delay = std::chrono::milliseconds(1);
  return Ok(rt::Client::Create(o));
}

std::unique_ptr<rt::Client> PasswordClient(const fake_rt::FakeRt& fake, const std::string& password,
                                           bool sessions = true) {
  rt::ClientOptions o;
  o.base_url = fake.base_url() + "/";
  o.auth.user = "helpdesk-bot";
  o.auth.password = password;
  o.auth.session_login = sessions;
  o.http.retry.initial_delay = std::chrono::milliseconds(1);
  return Ok(rt::Client::Create(o));
}

}  // namespace

TEST_CASE("TicketSQL times and quoting", "[rt]") {
  CHECK(rt::TicketSqlTime(1795500000) == "'2026-11-24 06:00:00'");
  CHECK(rt::TicketSqlTime(0) == "'1970-01-01 00:00:00'");
  CHECK(rt::TicketSqlQuote("Helpdesk") == "'Helpdesk'");
  CHECK(rt::TicketSqlQuote("O'Brien\\x") == "'O\\'Brien\\\\x'");
}

TEST_CASE("ParseRtTime reads RT's two forms and refuses the rest", "[rt]") {
  CHECK(Ok(rt::ParseRtTime("2026-11-24T06:00:00Z")) == 1795500000);
  CHECK(Ok(rt::ParseRtTime("2026-11-24 06:00:10")) == 1795500010);
  CHECK(Ok(rt::ParseRtTime("1970-01-01T00:00:00Z")) == 0);  // RT's "not set"
  for (const char* bad : {"", "2026-11-24", "2026-11-24T00:00:00+01:00", "2026-13-01T00:00:00Z",
                          "yesterday at noon", "2026-11-24T00:00:00ZZ"})
    CHECK_FALSE(rt::ParseRtTime(bad).ok());
}

TEST_CASE("PickBody prefers text/plain, then text/html, never a file", "[rt]") {
  rt::Attachment multipart{1, 9, "multipart/alternative", "", "", "", 0};
  rt::Attachment plain{2, 9, "text/plain; charset=\"utf-8\"", "", "", "hello", 5};
  rt::Attachment html{3, 9, "text/html", "", "", "<p>hello</p>", 12};
  rt::Attachment file{4, 9, "text/plain", "log.txt", "", "file content", 12};
  CHECK(rt::PickBody({&multipart, &html, &plain}) == &plain);
  CHECK(rt::PickBody({&multipart, &html}) == &html);
  CHECK(rt::PickBody({&file, &html}) == &html);
  CHECK(rt::PickBody({&file, &multipart}) == nullptr);
  CHECK(rt::PickBody({}) == nullptr);
}

TEST_CASE("SearchTickets sends RT's parameters and reads string ids, requestors and times", "[rt]") {
  fake_rt::FakeRt fake;
  auto client = TokenClient(fake);
  rt::TicketPage page = Ok(client->SearchTickets("Queue = 'Helpdesk' AND (Status = 'resolved')", 1, 3));
  REQUIRE(page.tickets.size() == 3);
  CHECK(page.count == 3);
  CHECK(page.total == 4);
  CHECK_FALSE(page.last);
  CHECK(page.server_time > 0);
  const rt::Ticket& t = page.tickets[0];
  CHECK(t.id == 1);
  CHECK(t.subject == "VPN drops every 10 minutes");
  CHECK(t.queue == "Helpdesk");
  CHECK(t.owner == "alice");
  REQUIRE(t.requestors.size() == 1);
  CHECK(t.requestors[0].name == "carol");
  CHECK(t.requestors[0].email == "carol@customer.test");
  CHECK(t.requestors[0].real_name == "Carol Customer");
  CHECK(t.created == 1795500000);
  CHECK(t.last_updated == 1795500010);

  auto rest = Ok(client->SearchTickets("Queue = 'Helpdesk' AND (Status = 'resolved')", 2, 3));
  CHECK(rest.tickets.size() == 1);
  CHECK(rest.last);

  auto all = Ok(client->SearchAllTickets("Queue = 'Helpdesk' AND (Status = 'resolved' OR Status = 'open')", 2));
  CHECK(all.size() == 5);

  auto sent = fake.received();
  REQUIRE_FALSE(sent.empty());
  CHECK(sent[0].header("Authorization") == "token " + fake.token);
  CHECK(sent[0].params("orderby") == std::vector<std::string>{"LastUpdated", "id"});
  CHECK(sent[0].param("fields[Requestor]") == "Name,EmailAddress,RealName");
  CHECK(sent[0].param("per_page") == "3");

  // A query RT cannot parse is a 400 with RT's reason, as InvalidArgument.
  auto bad = client->SearchTickets("Queue = ", 1, 10);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == util::Status::Code::kInvalidArgument);
  CHECK_THAT(bad.status().message(), Catch::Contains("Couldn't parse query"));
}

TEST_CASE("GetTicket reads numeric ids, unknown tickets are NotFound", "[rt]") {
  fake_rt::FakeRt fake;
  auto client = TokenClient(fake);
  rt::Ticket t = Ok(client->GetTicket(5));
  CHECK(t.id == 5);
  CHECK(t.status == "resolved");
  CHECK(t.queue == "3");
  CHECK(t.resolved == 1795500040);
  auto missing = client->GetTicket(404);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == util::Status::Code::kNotFound);
  CHECK_THAT(missing.status().message(), Catch::Contains("ticket 404"));
}

TEST_CASE("History and attachments: hidden EmailRecords are absent, ids joined by transaction", "[rt]") {
  fake_rt::FakeRt fake;
  auto client = TokenClient(fake);
  auto history = Ok(client->History(5));
  std::vector<std::string> types;
  for (const auto& x : history) types.push_back(x.type);
  CHECK(types == std::vector<std::string>{"Create", "Correspond", "Correspond", "Status"});
  CHECK(history[0].id == 92);
  CHECK(history[0].ticket_id == 5);
  CHECK(history[0].creator.name == "carol");
  CHECK(history[0].creator.email == "carol@customer.test");
  CHECK(history[0].created == 1795500036);

  auto parts = Ok(client->TicketAttachments(5));
  REQUIRE(parts.size() == 6);  // 39, 40, 41, 42 (file), 45, 49
  CHECK(parts[0].content_type == "multipart/alternative");
  CHECK(parts[0].transaction_id == 92);
  CHECK(parts[3].filename == "outlook-log.txt");
  CHECK(parts[4].transaction_id == 96);
}

TEST_CASE("Collections are paged past short pages until an empty one", "[rt]") {
  // RT pages BEFORE hiding what the user may not see: a ticket with 99
  // EmailRecords first gives the bot a first page of 1 item out of 100
  // slots, yet more pages follow. Stopping at "count < per_page" loses them.
  fake_rt::FakeRt fake;
  {
    std::lock_guard lock(fake.mu());
    fake.tickets.push_back({9, "Noisy ticket", "resolved", "Helpdesk", {{"carol", "carol@customer.test", "Carol"}},
                            1795500100, 1795500200, 1795500200});
    for (int i = 0; i < 150; ++i) {
      std::string type = i == 0 ? "Create" : (i < 100 ? "EmailRecord" : "Correspond");
      fake.txns.push_back({1000 + i, 9, type, {"alice", "", ""}, 1795500100 + i});
    }
  }
  auto client = TokenClient(fake);
  auto history = Ok(client->History(9));
  CHECK(history.size() == 51);  // 1 Create + 50 Correspond
  CHECK(history.back().id == 1149);
  CHECK(fake.Count("history") == 3);  // pages 1, 2 and the empty page 3
}

TEST_CASE("Batched transaction and attachment searches", "[rt]") {
  fake_rt::FakeRt fake;
  auto client = TokenClient(fake);
  auto txns = Ok(client->TransactionsOf({1, 2, 5}, {"Create", "Correspond", "Comment"}));
  std::vector<std::int64_t> ids;
  for (const auto& x : txns) ids.push_back(x.id);
  CHECK(ids == std::vector<std::int64_t>{44, 48, 57, 61, 62, 92, 96, 99});
  CHECK(txns[2].ticket_id == 2);
  auto sent = fake.received();
  CHECK(sent.back().header("Content-Type") == "application/json");

  auto parts = Ok(client->TextAttachmentsOf(ids));
  std::vector<std::int64_t> part_ids;
  for (const auto& p : parts) part_ids.push_back(p.id);
  CHECK(part_ids == std::vector<std::int64_t>{10, 14, 20, 22, 23, 40, 41, 42, 45, 49});  // no multipart container
}

TEST_CASE("Writes: create, comment, correspond, set status, refusals are errors", "[rt]") {
  fake_rt::FakeRt fake;
  auto client = TokenClient(fake);
  rt::NewTicket nt;
  nt.queue = "Helpdesk";
  nt.subject = "Test";
  nt.requestor = "carol@customer.test";
  nt.content = "question";
  std::int64_t id = Ok(client->CreateTicket(nt));
  CHECK(id == 6);
  REQUIRE(client->Comment(id, "internal").ok());
  REQUIRE(client->Correspond(id, "answer", "text/plain", "resolved").ok());
  CHECK(Ok(client->GetTicket(id)).status == "resolved");
  REQUIRE(client->SetStatus(id, "open").ok());
  REQUIRE(client->Take(id).ok());

  fake.refuse_writes = true;  // RT: 200 ["Permission Denied"]
  auto comment = client->Comment(id, "again");
  REQUIRE_FALSE(comment.ok());
  CHECK(comment.code() == util::Status::Code::kUnauthorized);
  CHECK_THAT(comment.message(), Catch::Contains("Permission Denied"));
  auto status = client->SetStatus(id, "stalled");
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(status.message(), Catch::Contains("still 'open'"));
}

TEST_CASE("Password auth logs in once and reuses the session cookie", "[rt][session]") {
  fake_rt::FakeRt fake;
  auto client = PasswordClient(fake, "botpass");
  for (int i = 0; i < 3; ++i) REQUIRE(client->GetTicket(1).ok());
  CHECK(fake.Count("login") == 1);
  auto sent = fake.received();
  int with_cookie = 0;
  for (const auto& r : sent) {
    CHECK(r.header("Authorization").empty());
    if (r.path == "/REST/2.0/ticket/1") with_cookie += r.header("Cookie").rfind("RT_SID_fake.8089=", 0) == 0;
  }
  CHECK(with_cookie == 3);

  // The session expires: the client logs in again, once, and goes on.
  fake.ExpireSessions();
  REQUIRE(client->GetTicket(2).ok());
  CHECK(fake.Count("login") == 2);
}

TEST_CASE("A wrong password is refused with a clear error and no secret", "[rt][session]") {
  fake_rt::FakeRt fake;
  auto client = PasswordClient(fake, "wrong-password-123");
  auto res = client->GetTicket(1);
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == util::Status::Code::kUnauthorized);
  CHECK_THAT(res.status().message(), Catch::Contains("login as helpdesk-bot refused"));
  CHECK(res.status().message().find("wrong-password-123") == std::string::npos);
}

TEST_CASE("Without a login page (SSO), password auth falls back to basic auth", "[rt][session]") {
  fake_rt::FakeRt fake;
  fake.has_login_page = false;
  auto client = PasswordClient(fake, "botpass");
  REQUIRE(client->GetTicket(1).ok());
  REQUIRE(client->GetTicket(2).ok());
  CHECK(fake.Count("login") == 1);  // tried once, then basic auth only
  auto sent = fake.received();
  CHECK(sent.back().header("Authorization").rfind("Basic ", 0) == 0);

  auto no_sessions = PasswordClient(fake, "botpass", /*sessions=*/false);
  REQUIRE(no_sessions->GetTicket(1).ok());
  CHECK(fake.Count("login") == 1);
}

TEST_CASE("A bad token is Unauthorized and the token is not in the error", "[rt]") {
  fake_rt::FakeRt fake;
  rt::ClientOptions o;
  o.base_url = fake.base_url();
  o.auth.token = "1-30-ffffffffffffffffffffffffffffffff";
  auto client = Ok(rt::Client::Create(o));
  auto res = client->SearchTickets("Queue = 'Helpdesk' AND (Status = 'resolved')", 1, 10);
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == util::Status::Code::kUnauthorized);
  CHECK(res.status().message().find("ffffffff") == std::string::npos);
  CHECK_THAT(res.status().message(), Catch::Contains("HTTP 401"));
}

TEST_CASE("Client options are checked", "[rt]") {
  rt::ClientOptions o;
  o.base_url = "not a url";
  o.auth.token = "x";
  CHECK_FALSE(rt::Client::Create(o).ok());
  o.base_url = "https://bob:pw@rt.example.com/REST/2.0";
  auto creds = rt::Client::Create(o);
  REQUIRE_FALSE(creds.ok());
  CHECK(creds.status().message().find("pw@") == std::string::npos);
  o.base_url = "https://rt.example.com/REST/2.0";
  o.auth.token.clear();
  CHECK_FALSE(rt::Client::Create(o).ok());
}
