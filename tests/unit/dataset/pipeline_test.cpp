// DatasetBuilder end to end over tickets (no store): every stage's counts.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "bot/dataset/pipeline.h"
#include "test_tickets.h"

using namespace deskbot;
using namespace deskbot::dataset;
using namespace deskbot::dataset::testing;

namespace {

std::vector<Ticket> Tickets() {
  std::vector<Ticket> t;
  t.push_back(MakeTicket(
      "1", "VPN drops",
      {Msg(Role::kRequester, true,
           "<p>Hi,</p><p>my VPN drops every 10 minutes. I'm Maria Lopez, call me at +44 20 7946 0958.</p>", "text/html"),
       Msg(Role::kAgent, false, "internal: concentrator logs show maria.lopez@example.com flapping"),
       Msg(Role::kAgent, true, "Hello Maria,\n\nplease reinstall the VPN profile from the portal, then reboot.\n\n"
                               "Best regards,\nTom\n-- \nTom Baker | IT")}));
  t.push_back(SimpleTicket("2", "Printer on floor 2 prints blank pages after the toner change.",
                           "Remove the toner, pull off the protective seal tape and reinsert it."));
  t.push_back(SimpleTicket("3", "Printer on floor 2 prints blank pages after the toner change!",
                           "Remove the toner, pull off the protective seal tape and reinsert it."));  // exact dup
  Ticket open = SimpleTicket("4", "Is the wiki down for everyone?", "Looking into it right now.");
  open.resolved = false;
  t.push_back(open);
  t.push_back(MakeTicket("5", "Laptop", {Msg(Role::kRequester, true, "Laptop battery swells."),
                                         Msg(Role::kAgent, false, "ordered a new one")}));
  t.push_back(SimpleTicket("6", "Out of office: VPN", "Please reinstall the profile from the portal."));
  t.push_back(SimpleTicket("7", "Printer offline again on floor 3", "Closed as duplicate of HD-2."));
  t.push_back(SimpleTicket("8", "ok?", "Yes, all fine now, nothing to do."));
  t.push_back(SimpleTicket("9", std::string(30000, 'x') + " long question",
                           "A long question deserves a short answer."));
  return t;
}

}  // namespace

TEST_CASE("dataset: builder: counts per stage and reason, redactions, validation", "[pipeline]") {
  DatasetOptions o;
  o.token_limit = 2000;
  DatasetBuilder b(o, "system prompt");
  std::vector<RedactedPair> kept;
  for (const auto& t : Tickets())
    if (auto p = b.Add(t)) kept.push_back(std::move(*p));
  BuildReport& r = b.Finish();
  CHECK(r.tickets == 9);
  CHECK(r.extracted == 7);
  CHECK(r.kept == 2);
  REQUIRE(kept.size() == 2);
  CHECK(r.dropped["extract"]["not_resolved"] == 1);
  CHECK(r.dropped["extract"]["no_public_agent_reply"] == 1);
  CHECK(r.dropped["filter"]["auto_reply"] == 1);
  CHECK(r.dropped["filter"]["closed_as_duplicate"] == 1);
  CHECK(r.dropped["filter"]["question_too_short"] == 1);
  CHECK(r.dropped["filter"]["over_token_limit"] == 1);
  CHECK(r.dropped["dedupe"]["exact_duplicate"] == 1);
  CHECK(r.DroppedTotal() == 7);

  const RedactedPair& vpn = kept[0];
  CHECK(vpn.question() == "VPN drops\n\nMy VPN drops every 10 minutes. I'm <NAME_1>, call me at <PHONE_1>.");
  CHECK(vpn.answer() == "Please reinstall the VPN profile from the portal, then reboot.");
  CHECK(r.redactions[PiiKind::kName] == 1);
  CHECK(r.redactions[PiiKind::kPhone] == 1);
  CHECK(r.redactions[PiiKind::kEmail] == 0);  // only in the internal note, which is never used

  CHECK(r.validation.examples == 2);
  CHECK(r.validation.duplicates == 0);
  auto j = nlohmann::json::parse(r.ToJson());
  CHECK(j["kept"] == 2);
  CHECK(j["dropped"]["filter"]["auto_reply"] == 1);
  CHECK(j["redactions"]["PHONE"] == 1);
  std::string text = r.ToText();
  CHECK(text.find("exact_duplicate") != std::string::npos);
  CHECK(text.find("PHONE  1") != std::string::npos);
}

TEST_CASE("dataset: options from config", "[pipeline]") {
  auto cfg = Config::LoadString(
      "[dataset]\nsplit = \"time\"\nseed = 9\nvalid_fraction = 0.25\nnear_duplicate_threshold = 0.9\n"
      "token_limit = 1000\nseparator = \"\\n---\\n\"\nstop = \" STOP\"\nmin_answer_chars = 3\n");
  REQUIRE(cfg.ok());
  auto o = DatasetOptions::FromConfig(*cfg);
  REQUIRE(o.ok());
  CHECK(o->split.method == SplitMethod::kTime);
  CHECK(o->split.seed == 9);
  CHECK(o->split.valid_fraction == 0.25);
  CHECK(o->dedupe.near_threshold == 0.9);
  CHECK(o->token_limit == 1000);
  CHECK(o->markers.separator == "\n---\n");
  CHECK(o->markers.stop == " STOP");
  CHECK(o->filter.min_answer_chars == 3);
  auto bad = Config::LoadString("[dataset]\nsplit = \"shuffle\"\n");
  REQUIRE(bad.ok());
  CHECK_FALSE(DatasetOptions::FromConfig(*bad).ok());
  auto bad_fraction = Config::LoadString("[dataset]\nvalid_fraction = 1.5\n");
  REQUIRE(bad_fraction.ok());
  CHECK_FALSE(DatasetOptions::FromConfig(*bad_fraction).ok());
  auto defaults = DatasetOptions::FromConfig(Config());
  REQUIRE(defaults.ok());
  CHECK(defaults->split.method == SplitMethod::kRandom);
  CHECK(defaults->split.valid_fraction == 0.1);
}
