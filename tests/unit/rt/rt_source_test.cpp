// RtSource (bot/sources/rt) against the fake RT: mapping, paging, cursor,
// incremental re-runs, fallback and errors, configuration.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "bot/sources/rt.h"
#include "tests/unit/http/test_tls.h"
#include "tests/unit/rt/fake_rt.h"

using namespace deskbot;

namespace {

template <typename T>
T Ok(util::Result<T> r) {
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

RtSourceOptions Options(const fake_rt::FakeRt& fake, int page_size = 100) {
  RtSourceOptions o;
  o.name = "rt";
  o.url = fake.base_url();
  o.queue = "Helpdesk";
  o.auth.token = fake.token;
  o.page_size = page_size;
  o.retry.max_attempts = 2;
  o.retry.initial_delay = std::chrono::milliseconds(1);
  return o;
}

// Runs a source until done (as Harvest does), collecting the tickets.
struct Run {
  std::vector<Ticket> tickets;
  std::vector<HarvestReject> rejects;
  int pages = 0;
  std::optional<std::string> cursor;
};

Run Drain(TicketSource& source, std::optional<std::string> cursor) {
  Run run;
  run.cursor = cursor;
  for (int i = 0; i < 100; ++i) {
    HarvestPage page = Ok(source.NextPage(run.cursor));
    run.pages++;
    for (auto& t : page.tickets) run.tickets.push_back(std::move(t));
    for (auto& r : page.rejects) run.rejects.push_back(std::move(r));
    REQUIRE(page.next_cursor.has_value());
    run.cursor = page.next_cursor;
    if (page.done) return run;
  }
  FAIL("the source never said done");
  return run;
}

const Ticket& ById(const std::vector<Ticket>& ts, const std::string& id) {
  for (const auto& t : ts)
    if (t.external_id == id) return t;
  FAIL("ticket " << id << " not harvested");
  return ts.front();
}

}  // namespace

TEST_CASE("RtSource maps RT's conversation onto requester and agent messages", "[rt][source]") {
  fake_rt::FakeRt fake;
  auto source = Ok(RtSource::Create(Options(fake)));
  Run run = Drain(*source, std::nullopt);
  REQUIRE(run.tickets.size() == 4);  // 1, 2, 3, 5; 4 is open
  for (const auto& t : run.tickets) CHECK(t.external_id != "4");

  const Ticket& vpn = ById(run.tickets, "1");
  CHECK(vpn.source == "rt");
  CHECK(vpn.status == "resolved");
  CHECK(vpn.resolved);
  CHECK(vpn.requester_name == "Carol Customer");
  CHECK(vpn.requester_email == "carol@customer.test");
  CHECK(vpn.created_at == 1795500000);
  CHECK(vpn.updated_at == 1795500010);
  CHECK(vpn.resolved_at == 1795500010);
  REQUIRE(vpn.messages.size() == 2);  // EmailRecord 45 and Set/Status skipped
  CHECK(vpn.messages[0].external_id == "44");
  CHECK(vpn.messages[0].role == Role::kRequester);
  CHECK(vpn.messages[0].author == "carol");
  CHECK(vpn.messages[0].created_at == 1795500000);
  CHECK(vpn.messages[1].external_id == "48");
  CHECK(vpn.messages[1].role == Role::kAgent);
  CHECK(vpn.messages[1].is_public);
  CHECK(vpn.messages[1].body.find("known bug") != std::string::npos);

  const Ticket& printer = ById(run.tickets, "2");
  CHECK(printer.requester_name == "Dave Customer");
  REQUIRE(printer.messages.size() == 3);
  CHECK(printer.messages[1].role == Role::kAgent);
  CHECK_FALSE(printer.messages[1].is_public);  // the Comment
  CHECK(printer.messages[2].is_public);

  const Ticket& wifi = ById(run.tickets, "3");
  CHECK(wifi.subject == "Caf\xC3\xA9 Wi-Fi password \xE2\x80\x94 guest network");
  REQUIRE(wifi.messages.size() == 2);
  CHECK(wifi.messages[1].content_type == "text/html");  // charset parameter dropped
  CHECK(wifi.messages[1].body.find("<b>GUEST-B</b>") != std::string::npos);

  const Ticket& outlook = ById(run.tickets, "5");
  REQUIRE(outlook.messages.size() == 3);
  CHECK(outlook.messages[0].content_type == "text/plain");  // multipart: the plain part, not the log file
  CHECK(outlook.messages[0].body.find("Outlook asks for my password every few minutes") != std::string::npos);
  CHECK(outlook.messages[1].role == Role::kAgent);
  CHECK(outlook.messages[2].role == Role::kRequester);  // carol's later reply
  CHECK(outlook.messages[2].body.find("That fixed it") != std::string::npos);

  // Three requests for the whole harvest (+ the empty pages that end the
  // collections), not two per ticket.
  CHECK(fake.Count("search") == 1);
  CHECK(fake.Count("transactions") == 2);
  CHECK(fake.Count("attachments") == 2);
  CHECK(fake.Count("history") == 0);
}

TEST_CASE("RtSource pages by keyset, a re-run with the cursor fetches nothing", "[rt][source]") {
  fake_rt::FakeRt fake;
  auto source = Ok(RtSource::Create(Options(fake, 2)));
  Run first = Drain(*source, std::nullopt);
  CHECK(first.tickets.size() == 4);
  CHECK(first.pages == 2);
  auto queries = fake.ticket_queries();
  REQUIRE(queries.size() == 2);
  CHECK(queries[0] == "Queue = 'Helpdesk' AND (Status = 'resolved')");
  CHECK(queries[1] ==
        "Queue = 'Helpdesk' AND (Status = 'resolved') AND (LastUpdated > '2026-11-24 06:00:20' OR "
        "(LastUpdated >= '2026-11-24 06:00:20' AND id > 2))");

  // Again from the stored cursor: starts overlap_seconds (300) behind the
  // high-water mark, sees only unchanged tickets, fetches no conversations.
  int transactions_before = fake.Count("transactions");
  auto again = Ok(RtSource::Create(Options(fake, 2)));
  Run second = Drain(*again, first.cursor);
  CHECK(second.tickets.empty());
  CHECK(fake.Count("transactions") == transactions_before);
  queries = fake.ticket_queries();
  CHECK_THAT(queries[2], Catch::Contains("LastUpdated > '2026-11-24 05:55:40'"));  // 06:00:40 - 300 s

  // A ticket changes: only it is fetched again, with its new message.
  {
    std::lock_guard lock(fake.mu());
    fake.tickets[0].last_updated = 1795500500;
    fake.txns.push_back({200, 1, "Comment", {"alice", "alice@helpdesk-peer.test", "Alice Agent"}, 1795500500});
    fake.parts.push_back({300, 200, "text/plain", "", "internal: customer confirmed"});
  }
  Run third = Drain(*again, second.cursor);
  REQUIRE(third.tickets.size() == 1);
  CHECK(third.tickets[0].external_id == "1");
  REQUIRE(third.tickets[0].messages.size() == 3);
  CHECK_FALSE(third.tickets[0].messages[2].is_public);
  CHECK(third.tickets[0].updated_at == 1795500500);
}

TEST_CASE("RtSource: an interrupted run resumes at its position without the overlap", "[rt][source]") {
  fake_rt::FakeRt fake;
  auto source = Ok(RtSource::Create(Options(fake, 2)));
  HarvestPage page1 = Ok(source->NextPage(std::nullopt));
  REQUIRE(page1.tickets.size() == 2);
  REQUIRE_FALSE(page1.done);
  // A new process picks up the stored cursor.
  auto resumed = Ok(RtSource::Create(Options(fake, 2)));
  Run rest = Drain(*resumed, page1.next_cursor);
  REQUIRE(rest.tickets.size() == 2);
  CHECK(rest.tickets[0].external_id == "3");
  CHECK(rest.tickets[1].external_id == "5");
  CHECK_THAT(fake.ticket_queries().back(), Catch::Contains("id > 2"));
}

TEST_CASE("RtSource reads again a ticket updated in the second it was read", "[rt][source]") {
  fake_rt::FakeRt fake;
  fake.server_time = 1795500040;  // RT's clock shows the newest ticket's LastUpdated second
  auto source = Ok(RtSource::Create(Options(fake)));
  Run first = Drain(*source, std::nullopt);
  CHECK(first.tickets.size() == 4);
  auto cursor = nlohmann::json::parse(*first.cursor);
  CHECK(cursor["seen"].contains("3"));
  CHECK_FALSE(cursor["seen"].contains("5"));  // may still change within that second
  fake.server_time = 1795500100;
  Run second = Drain(*source, first.cursor);
  REQUIRE(second.tickets.size() == 1);
  CHECK(second.tickets[0].external_id == "5");
}

TEST_CASE("RtSource falls back to per-ticket reads, errors name source and ticket", "[rt][source]") {
  fake_rt::FakeRt fake;
  fake.fail_batch = true;
  auto source = Ok(RtSource::Create(Options(fake)));
  Run run = Drain(*source, std::nullopt);
  REQUIRE(run.tickets.size() == 4);
  CHECK(ById(run.tickets, "5").messages.size() == 3);  // EmailRecord in the history, skipped
  CHECK(fake.Count("history") == 8);  // each: its page and the empty page after it

  // A ticket deleted between the search and the read is set aside.
  fake.missing.insert(2);
  auto again = Ok(RtSource::Create(Options(fake)));
  Run with_missing = Drain(*again, std::nullopt);
  CHECK(with_missing.tickets.size() == 3);
  REQUIRE(with_missing.rejects.size() == 1);
  CHECK(with_missing.rejects[0].where == "ticket 2");

  // A persistent server error fails the page and says where.
  fake.missing.clear();
  fake.fail_history.insert(3);
  auto failing = Ok(RtSource::Create(Options(fake)));
  auto page = failing->NextPage(std::nullopt);
  REQUIRE_FALSE(page.ok());
  const std::string msg = page.status().message();
  CHECK_THAT(msg, Catch::StartsWith("source rt: ticket 3: "));
  CHECK_THAT(msg, Catch::Contains("HTTP 500"));
  CHECK(msg.find(fake.token) == std::string::npos);
}

TEST_CASE("RtSource refuses a cursor it did not write", "[rt][source]") {
  fake_rt::FakeRt fake;
  auto source = Ok(RtSource::Create(Options(fake)));
  for (const char* bad : {"", "{}", "offset=42", "{\"v\":1,\"hw\":\"x\"}"}) {
    auto page = source->NextPage(std::string(bad));
    REQUIRE_FALSE(page.ok());
    CHECK(page.status().code() == util::Status::Code::kCorruption);
    CHECK_THAT(page.status().message(), Catch::Contains("source rt"));
  }
}

TEST_CASE("RtSource quotes the queue name in TicketSQL", "[rt][source]") {
  fake_rt::FakeRt fake;
  auto o = Options(fake);
  o.queue = "Bob's desk";
  o.resolved_statuses = {"resolved", "rejected"};
  o.filter = "Owner = 'alice'";
  auto source = Ok(RtSource::Create(o));
  CHECK(source->QueryAfter(0, 0) ==
        "Queue = 'Bob\\'s desk' AND (Status = 'resolved' OR Status = 'rejected') AND (Owner = 'alice')");
}

TEST_CASE("MapRtTicket skips transactions without a usable text part", "[rt][source]") {
  rt::Ticket t;
  t.id = 7;
  t.status = "Resolved";
  t.requestors = {{"someone@example.org", "", ""}};
  std::vector<rt::Transaction> txns = {{70, 7, "Create", {"someone@example.org", "", ""}, 100},
                                       {71, 7, "Correspond", {"alice", "", ""}, 0},
                                       {72, 8, "Correspond", {"alice", "", ""}, 300},   // another ticket's
                                       {73, 7, "Correspond", {"someone@example.org", "", ""}, 400}};
  std::vector<rt::Attachment> parts = {{1, 70, "image/png", "shot.png", "", "...", 3},
                                       {2, 71, "text/plain", "", "", "answer", 6},
                                       {3, 72, "text/plain", "", "", "not mine", 8},
                                       {4, 73, "text/plain", "", "", "thanks", 6}};
  t.created = 50;
  Ticket m = MapRtTicket("rt", t, txns, parts);
  CHECK(m.resolved);  // statuses compare case-insensitively
  CHECK(m.requester_email == "someone@example.org");  // RT names unprivileged users by address
  REQUIRE(m.messages.size() == 2);  // the Create had only a picture
  CHECK(m.messages[0].body == "answer");
  CHECK(m.messages[0].created_at == 50);  // no time: the ticket's
  CHECK(m.messages[1].role == Role::kRequester);
}

TEST_CASE("RtSourceOptions from [[sources]]: defaults, secrets, refusals", "[rt][source][config]") {
  auto load = [](const std::string& extra) {
    return Ok(Config::LoadString("[[sources]]\nname = \"desk\"\ntype = \"rt\"\n"
                                 "url = \"http://127.0.0.1:8089/REST/2.0\"\nqueue = \"Helpdesk\"\n" + extra));
  };
  unsetenv("DESKBOT_SOURCES_DESK_TOKEN");
  unsetenv("DESKBOT_SOURCES_DESK_PASSWORD");

  SECTION("token from the environment; defaults") {
    setenv("DESKBOT_SOURCES_DESK_TOKEN", "1-30-abc", 1);
    auto o = Ok(RtSourceOptions::FromConfig(load(""), "desk"));
    unsetenv("DESKBOT_SOURCES_DESK_TOKEN");
    CHECK(o.auth.token == "1-30-abc");
    CHECK(o.page_size == 100);
    CHECK(o.overlap_seconds == 300);
    CHECK(o.timeout_seconds == 60);
    CHECK(o.resolved_statuses == std::vector<std::string>{"resolved"});
  }
  SECTION("token from a file") {
    std::string file = testing_http::WriteTempFile("token", "1-30-fromfile\n");
    auto o = Ok(RtSourceOptions::FromConfig(load("token_file = \"" + file + "\"\npage_size = 25\n"), "desk"));
    CHECK(o.auth.token == "1-30-fromfile");
    CHECK(o.page_size == 25);
  }
  SECTION("user and password") {
    setenv("DESKBOT_SOURCES_DESK_PASSWORD", "botpass", 1);
    auto o = Ok(RtSourceOptions::FromConfig(load("user = \"helpdesk-bot\"\n"), "desk"));
    unsetenv("DESKBOT_SOURCES_DESK_PASSWORD");
    CHECK(o.auth.user == "helpdesk-bot");
    CHECK(o.auth.password == "botpass");
  }
  SECTION("a token written in the file is refused, without echoing it") {
    auto o = RtSourceOptions::FromConfig(load("token = \"1-30-leaked\"\n"), "desk");
    REQUIRE_FALSE(o.ok());
    CHECK(o.status().message().find("1-30-leaked") == std::string::npos);
  }
  SECTION("no credentials names the variable to set") {
    auto o = RtSourceOptions::FromConfig(load(""), "desk");
    REQUIRE_FALSE(o.ok());
    CHECK_THAT(o.status().message(), Catch::Contains("DESKBOT_SOURCES_DESK_TOKEN"));
  }
  SECTION("bad settings") {
    setenv("DESKBOT_SOURCES_DESK_TOKEN", "t", 1);
    CHECK_FALSE(RtSourceOptions::FromConfig(load("page_size = 500\n"), "desk").ok());
    CHECK_FALSE(RtSourceOptions::FromConfig(load("overlap_seconds = -1\n"), "desk").ok());
    auto no_queue = Config::LoadString("[[sources]]\nname = \"desk\"\ntype = \"rt\"\nurl = \"http://x/REST/2.0\"\n");
    CHECK_FALSE(RtSourceOptions::FromConfig(*no_queue, "desk").ok());
    auto bad_url = Config::LoadString("[[sources]]\nname = \"desk\"\ntype = \"rt\"\nurl = \"ftp://x\"\nqueue = \"Q\"\n");
    CHECK_FALSE(RtSourceOptions::FromConfig(*bad_url, "desk").ok());
    CHECK(RtSourceOptions::FromConfig(load(""), "other").status().code() == util::Status::Code::kNotFound);
    unsetenv("DESKBOT_SOURCES_DESK_TOKEN");
  }
}

TEST_CASE("MakeRtSource builds a working source from config", "[rt][source][config]") {
  fake_rt::FakeRt fake;
  setenv("DESKBOT_SOURCES_DESK_TOKEN", fake.token.c_str(), 1);
  auto config = Ok(Config::LoadString("[[sources]]\nname = \"desk\"\ntype = \"rt\"\nurl = \"" + fake.base_url() +
                                      "\"\nqueue = \"Helpdesk\"\npage_size = 3\n"));
  auto source = Ok(MakeRtSource(config, "desk"));
  unsetenv("DESKBOT_SOURCES_DESK_TOKEN");
  CHECK(source->name() == "desk");
  Run run = Drain(*source, std::nullopt);
  CHECK(run.tickets.size() == 4);
  CHECK(run.tickets[0].source == "desk");
}
