// RtSource against a real RT 5: fresh tickets are harvested into a fresh
// SqliteStore through Harvest(), checked message by message; a second harvest
// adds nothing; an update is picked up; an interrupted harvest resumes to the
// same complete set without duplicates.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "bot/core/config.h"
#include "bot/sources/harvest.h"
#include "bot/sources/rt.h"
#include "bot/store/open.h"
#include "tests/integration/rt/rt_peer.h"

using namespace deskbot;

namespace {

template <typename T>
T Ok(util::Result<T> r) {
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::string TempDir(const std::string& tag) {
  auto dir = std::filesystem::temp_directory_path() /
             ("deskbot-rt-it-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(std::time(nullptr)));
  std::filesystem::create_directories(dir);
  return dir.string();
}

// A config with one RT source reading only this run's tickets.
// `with_token`: the bot's token file (each request pays RT's slow hash);
// otherwise its password from the environment (one login, then a session).
Config SourceConfig(const rt_it::Peer& peer, const rt_it::Fixture& f, const std::string& data_dir, int page_size,
                    bool with_token = true) {
  std::string toml = "data_dir = \"" + data_dir + "\"\n"
                     "[[sources]]\n"
                     "name = \"rt-it\"\n"
                     "type = \"rt\"\n"
                     "url = \"" + peer.url + "\"\n"
                     "queue = \"Helpdesk\"\n"
                     "filter = \"Subject LIKE '" + f.prefix + "'\"\n"
                     "page_size = " + std::to_string(page_size) + "\n"
                     "timeout_seconds = 60\n";
  if (std::string token_file = peer.TokenFile("helpdesk-bot"); with_token && !token_file.empty()) {
    toml += "token_file = \"" + token_file + "\"\n";
  } else {
    toml += "user = \"helpdesk-bot\"\n";
    setenv("DESKBOT_SOURCES_RT_IT_PASSWORD", "botpass", 1);
  }
  return Ok(Config::LoadString(toml));
}

std::map<std::string, Ticket> AllTickets(Store& store) {
  std::map<std::string, Ticket> out;
  util::Status st = store.ForEachTicket([&](const Ticket& t) {
    REQUIRE(out.count(t.external_id) == 0);  // no duplicates
    out[t.external_id] = t;
    return true;
  });
  REQUIRE(st.ok());
  return out;
}

const Ticket& Get(const std::map<std::string, Ticket>& all, std::int64_t id) {
  auto it = all.find(std::to_string(id));
  INFO("ticket " << id);
  REQUIRE(it != all.end());
  return it->second;
}

void CheckCarolTicket(const Ticket& t, const std::string& prefix) {
  CHECK(t.source == "rt-it");
  CHECK(t.subject.find(prefix) != std::string::npos);
  CHECK(t.status == "resolved");
  CHECK(t.resolved);
  CHECK(t.requester_name == "Carol Customer");
  CHECK(t.requester_email == "carol@customer.test");
  CHECK(t.created_at > 1700000000);
  CHECK(t.updated_at >= t.created_at);
  CHECK(t.resolved_at >= t.created_at);
  REQUIRE_FALSE(t.messages.empty());
  CHECK(t.messages[0].role == Role::kRequester);
  CHECK(t.messages[0].is_public);
  CHECK(t.messages[0].author == "carol");
  CHECK(t.messages[0].content_type == "text/plain");
  for (const auto& m : t.messages) {
    CHECK_FALSE(m.external_id.empty());
    CHECK(m.created_at >= t.created_at);
  }
}

// Fails after `pages` pages, like a harvest killed half-way.
class FailAfter final : public TicketSource {
 public:
  FailAfter(TicketSource& inner, int pages) : inner_(inner), left_(pages) {}
  const std::string& name() const override { return inner_.name(); }
  util::Result<HarvestPage> NextPage(const std::optional<std::string>& cursor) override {
    if (left_-- <= 0) return util::Status::Unavailable("simulated crash");
    return inner_.NextPage(cursor);
  }

 private:
  TicketSource& inner_;
  int left_;
};

}  // namespace

TEST_CASE("RT: harvest maps real tickets, a re-run adds nothing, updates are picked up", "[rt][integration]") {
  auto peer = rt_it::PeerFromEnv();
  if (!peer) return;
  rt_it::Fixture f = rt_it::MakeFixture(*peer, "map");
  Config config = SourceConfig(*peer, f, TempDir("map"), 2);
  auto store = Ok(OpenStore(config));
  auto source = Ok(MakeRtSource(config, "rt-it"));

  HarvestReport first = Ok(Harvest(*source, *store));
  CHECK(first.tickets_new == 5);
  CHECK(first.pages >= 3);  // 5 tickets, 2 a page
  CHECK(first.rejects.empty());
  auto all = AllTickets(*store);
  REQUIRE(all.size() == 5);
  CHECK(all.count(std::to_string(f.open)) == 0);  // open: not harvested

  {
    const Ticket& t = Get(all, f.plain);
    CheckCarolTicket(t, f.prefix);
    REQUIRE(t.messages.size() == 2);
    CHECK(t.messages[0].body.find("drops every ten minutes") != std::string::npos);
    CHECK(t.messages[1].role == Role::kAgent);
    CHECK(t.messages[1].is_public);
    CHECK(t.messages[1].author == "alice");
    CHECK(t.messages[1].body.find("update the VPN client to 5.2") != std::string::npos);
  }
  {
    const Ticket& t = Get(all, f.commented);
    CheckCarolTicket(t, f.prefix);
    REQUIRE(t.messages.size() == 3);
    CHECK(t.messages[1].role == Role::kAgent);
    CHECK_FALSE(t.messages[1].is_public);  // the internal comment
    CHECK(t.messages[1].body.find("toner cartridge B") != std::string::npos);
    CHECK(t.messages[2].role == Role::kAgent);
    CHECK(t.messages[2].is_public);
    CHECK(t.messages[2].body.find("has been replaced") != std::string::npos);
  }
  {
    const Ticket& t = Get(all, f.html);
    CheckCarolTicket(t, f.prefix);
    REQUIRE(t.messages.size() == 2);
    CHECK(t.messages[1].content_type == "text/html");
    CHECK(t.messages[1].body.find("<b>GUEST-B</b>") != std::string::npos);
    CHECK(t.messages[1].body.find("ext. 4471") != std::string::npos);  // signature kept raw; cleaning is later
  }
  {
    const Ticket& t = Get(all, f.personal);
    CheckCarolTicket(t, f.prefix);
    REQUIRE(t.messages.size() == 3);
    CHECK(t.messages[0].body.find("+49 30 1234567") != std::string::npos);  // raw as harvested;
    CHECK(t.messages[0].body.find("carol.private@example.org") != std::string::npos);  // redaction is later
    CHECK(t.messages[1].role == Role::kAgent);
    CHECK(t.messages[2].role == Role::kRequester);  // carol's thanks
    CHECK(t.messages[2].author == "carol");
    CHECK(t.messages[2].body.find("that fixed it") != std::string::npos);
  }
  {
    const Ticket& t = Get(all, f.on_behalf);
    CHECK(t.requester_name == "Dave Customer");
    CHECK(t.requester_email == "dave@customer.test");
    REQUIRE(t.messages.size() == 2);
    CHECK(t.messages[0].role == Role::kRequester);  // the Create, though root typed it
    CHECK(t.messages[0].author == "root");
    CHECK(t.messages[1].role == Role::kAgent);
    CHECK(t.messages[1].author == "root");
  }

  // A second harvest adds nothing and changes nothing.
  HarvestReport second = Ok(Harvest(*source, *store));
  CHECK(second.tickets_new == 0);
  CHECK(second.rejects.empty());
  auto again = AllTickets(*store);
  REQUIRE(again.size() == 5);
  for (const auto& [id, t] : all) {
    CHECK(again[id].messages.size() == t.messages.size());
    CHECK(again[id].updated_at == t.updated_at);
  }

  // A ticket updated after the harvest is harvested again, in place.
  auto alice = peer->As("alice", "alicepass");
  REQUIRE(alice->Comment(f.plain, "internal: customer confirmed by phone").ok());
  HarvestReport third = Ok(Harvest(*source, *store));
  CHECK(third.tickets_new == 0);
  CHECK(third.tickets_updated >= 1);
  auto updated = AllTickets(*store);
  REQUIRE(updated.size() == 5);
  const Ticket& t = Get(updated, f.plain);
  REQUIRE(t.messages.size() == 3);
  CHECK_FALSE(t.messages[2].is_public);
  CHECK(t.messages[2].body.find("confirmed by phone") != std::string::npos);

  // Deleted tickets vanish from RT's searches: nothing new, nothing removed
  // from the store (a harvest only adds and replaces).
  rt_it::DeleteFixture(*peer, f);
  HarvestReport after_delete = Ok(Harvest(*source, *store));
  CHECK(after_delete.tickets() == 0);
  CHECK(Ok(store->CountTickets()) == 5);
}

TEST_CASE("RT: an interrupted harvest resumes to the same complete set", "[rt][integration]") {
  auto peer = rt_it::PeerFromEnv();
  if (!peer) return;
  rt_it::Fixture f = rt_it::MakeFixture(*peer, "resume");

  // The reference: one uninterrupted harvest.
  Config ref_config = SourceConfig(*peer, f, TempDir("resume-ref"), 100, /*with_token=*/false);
  auto ref_store = Ok(OpenStore(ref_config));
  auto ref_source = Ok(MakeRtSource(ref_config, "rt-it"));
  Ok(Harvest(*ref_source, *ref_store));
  auto reference = AllTickets(*ref_store);
  REQUIRE(reference.size() == 5);

  // Page size 2, killed after the first page, then run again.
  Config config = SourceConfig(*peer, f, TempDir("resume"), 2, /*with_token=*/false);
  auto store = Ok(OpenStore(config));
  auto source = Ok(MakeRtSource(config, "rt-it"));
  FailAfter crashing(*source, 1);
  auto interrupted = Harvest(crashing, *store);
  REQUIRE_FALSE(interrupted.ok());
  CHECK_THAT(interrupted.status().message(), Catch::Contains("simulated crash"));
  CHECK(Ok(store->CountTickets()) == 2);
  REQUIRE(Ok(store->GetCursor("rt-it")).has_value());

  auto fresh_source = Ok(MakeRtSource(config, "rt-it"));  // as a new process would
  HarvestReport resumed = Ok(Harvest(*fresh_source, *store));
  CHECK(resumed.tickets_new == 3);
  auto all = AllTickets(*store);
  REQUIRE(all.size() == reference.size());
  for (const auto& [id, ref] : reference) {
    INFO("ticket " << id);
    REQUIRE(all.count(id) == 1);
    const Ticket& t = all[id];
    CHECK(t.subject == ref.subject);
    CHECK(t.updated_at == ref.updated_at);
    REQUIRE(t.messages.size() == ref.messages.size());
    for (std::size_t i = 0; i < t.messages.size(); ++i) {
      CHECK(t.messages[i].external_id == ref.messages[i].external_id);
      CHECK(t.messages[i].body == ref.messages[i].body);
      CHECK(t.messages[i].role == ref.messages[i].role);
      CHECK(t.messages[i].is_public == ref.messages[i].is_public);
    }
  }
  rt_it::DeleteFixture(*peer, f);
}

TEST_CASE("RT: connector reads and write refusals against the real server", "[rt][integration]") {
  auto peer = rt_it::PeerFromEnv();
  if (!peer) return;
  // The bot with its token when readable (the production setup), else its password.
  auto bot = peer->As("helpdesk-bot", peer->TokenFile("helpdesk-bot").empty() ? "botpass" : "");
  auto carol = peer->As("carol", "carolpass");
  auto alice = peer->As("alice", "alicepass");

  rt::NewTicket nt;
  nt.queue = "Helpdesk";
  nt.subject = "[dkit-conn-" + std::to_string(std::time(nullptr)) + "] Mouse double-clicks";
  nt.requestor = "carol@customer.test";
  nt.content = "My mouse double-clicks on every click.";
  std::int64_t id = Ok(carol->CreateTicket(nt));
  REQUIRE(alice->Correspond(id, "Hi Carol, a new mouse is on its way.", "text/plain", "resolved").ok());

  rt::Ticket t = Ok(bot->GetTicket(id));
  CHECK(t.id == id);
  CHECK(t.status == "resolved");
  REQUIRE(t.requestors.size() == 1);
  CHECK(t.requestors[0].name == "carol");

  // Per-ticket history and attachments (the fallback path of the source).
  auto history = Ok(bot->History(id));
  REQUIRE(history.size() >= 2);
  CHECK(history.front().type == "Create");
  CHECK(history.front().creator.name == "carol");
  auto parts = Ok(bot->TicketAttachments(id));
  bool found_answer = false;
  for (const auto& p : parts) found_answer |= p.content.find("new mouse is on its way") != std::string::npos;
  CHECK(found_answer);

  // Batched forms agree with them.
  auto txns = Ok(bot->TransactionsOf({id}, {"Create", "Correspond", "Comment"}));
  REQUIRE(txns.size() == 2);
  CHECK(txns[0].ticket_id == id);
  CHECK(txns[1].type == "Correspond");
  CHECK(txns[1].creator.name == "alice");
  auto texts = Ok(bot->TextAttachmentsOf({txns[0].id, txns[1].id}));
  CHECK(texts.size() >= 2);

  auto user = Ok(bot->GetUser("carol"));
  CHECK(user.email == "carol@customer.test");
  CHECK(user.real_name == "Carol Customer");

  // Not found, and refusals that RT reports in different ways.
  CHECK(bot->GetTicket(99999999).status().code() == util::Status::Code::kNotFound);
  auto refused_status = carol->SetStatus(id, "stalled");
  CHECK_FALSE(refused_status.ok());
  auto refused_comment = carol->Comment(id, "customers may not comment");
  CHECK_FALSE(refused_comment.ok());
  // The bot may not delete; root may.
  CHECK_FALSE(bot->DeleteTicket(id).ok());
  REQUIRE(peer->As("root", "password")->DeleteTicket(id).ok());
  CHECK(Ok(bot->SearchTickets("id = " + std::to_string(id), 1, 10)).tickets.empty());

  auto bad_query = bot->SearchTickets("Queue = ", 1, 10);
  REQUIRE_FALSE(bad_query.ok());
  CHECK(bad_query.status().code() == util::Status::Code::kInvalidArgument);
  // Neither error text carries the token.
  std::string token_file = peer->TokenFile("helpdesk-bot");
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    std::string token;
    std::getline(in, token);
    CHECK(bad_query.status().message().find(token) == std::string::npos);
  }
}
