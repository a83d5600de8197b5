// BuildDataset / ExportDataset through a real SqliteStore (in memory).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bot/dataset/pipeline.h"
#include "bot/store/sqlite_store.h"
#include "test_tickets.h"

using namespace deskbot;
using namespace deskbot::dataset;
using namespace deskbot::dataset::testing;
using nlohmann::json;

namespace {

std::unique_ptr<SqliteStore> StoreWithTickets(int extra = 30) {
  auto store = SqliteStore::Open(":memory:");
  REQUIRE(store.ok());
  std::vector<Ticket> tickets;
  tickets.push_back(MakeTicket(
      "HD-1", "VPN drops",
      {Msg(Role::kRequester, true, "<p>Hi,</p><p>my VPN drops. Mail me at maria.lopez@example.com or call "
                                   "+44 20 7946 0958. Maria Lopez</p>",
           "text/html"),
       Msg(Role::kAgent, false, "internal: password: Sommer2026!"),
       Msg(Role::kAgent, true, "Hello Maria,\n\nplease reinstall the VPN profile from the portal.\n\nBest regards,\nTom")}));
  Ticket open = SimpleTicket("HD-2", "Is the wiki down for everyone?", "We are looking into it right now.");
  open.resolved = false;
  tickets.push_back(open);
  for (int i = 0; i < extra; ++i) {
    tickets.push_back(SimpleTicket("T-" + std::to_string(i),
                                   "Question number " + std::to_string(i) + ": how do I configure printer model " +
                                       std::to_string(i * 7919) + " on floor " + std::to_string(i % 5) + "?",
                                   "Install driver package " + std::to_string(i * 104729) +
                                       " from the Software Center and pick tray " + std::to_string(i % 3) + ".",
                                   1770000000 + i * 3600));
  }
  REQUIRE((*store)->UpsertTickets("test", tickets, std::nullopt).ok());
  return std::move(store).value();
}

DatasetOptions Options() {
  DatasetOptions o;
  o.prompts_dir = std::string(DESKBOT_SOURCE_DIR) + "/prompts";
  o.split.valid_fraction = 0.2;
  return o;
}

std::vector<json> ReadLines(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("deskbot_ds_" + name)).string();
}

}  // namespace

TEST_CASE("dataset: BuildDataset stores redacted, split pairs and a snapshot", "[pipeline][store]") {
  auto store = StoreWithTickets();
  auto report = BuildDataset(*store, Options());
  REQUIRE(report.ok());
  CHECK(report->tickets == 32);
  CHECK(report->kept == 31);
  CHECK(report->dropped["extract"]["not_resolved"] == 1);
  CHECK(report->train + report->valid == 31);
  CHECK(report->valid > 0);
  CHECK(report->redactions[PiiKind::kEmail] == 1);
  CHECK(report->redactions[PiiKind::kPhone] == 1);
  CHECK(report->redactions[PiiKind::kName] == 1);
  CHECK(report->redactions[PiiKind::kPassword] == 0);  // internal note never used

  std::int64_t stored = 0;
  REQUIRE(store->ForEachPair([&](const Pair& p) {
    ++stored;
    CHECK(p.origin == PairOrigin::kHarvested);
    CHECK(p.question.find("example.com") == std::string::npos);
    CHECK(p.question.find("7946") == std::string::npos);
    CHECK(p.question.find("Maria") == std::string::npos);
    CHECK(p.answer.find("Sommer2026") == std::string::npos);
    return true;
  }).ok());
  CHECK(stored == 31);
  auto snap = store->LatestSnapshot();
  REQUIRE(snap.ok());
  REQUIRE(snap->has_value());
  CHECK((*snap)->id == report->snapshot_id);
  CHECK((*snap)->content_hash == report->content_hash);
  CHECK((*snap)->train_pairs == report->train);
  CHECK(json::parse((*snap)->report_json)["kept"] == 31);

  // Same tickets, same options: same dataset.
  auto again = BuildDataset(*store, Options());
  REQUIRE(again.ok());
  CHECK(again->content_hash == report->content_hash);
  CHECK(again->snapshot_id != report->snapshot_id);
  DatasetOptions other_seed = Options();
  other_seed.split.seed = 4242;
  auto reseeded = BuildDataset(*store, other_seed);
  REQUIRE(reseeded.ok());
  CHECK(reseeded->content_hash != report->content_hash);
}

TEST_CASE("dataset: ExportDataset writes each format and split, the safety net redacts", "[pipeline][store][export]") {
  auto store = StoreWithTickets();
  REQUIRE(BuildDataset(*store, Options()).ok());
  Pair approved;
  approved.source = "chat";
  approved.question = "How do I reach bob.smith@example.com's shared drive?";
  approved.answer = "Ask bob.smith@example.com to share it with you from OneDrive.";
  approved.origin = PairOrigin::kApproved;
  approved.split = Split::kTrain;
  REQUIRE(store->AddPair(approved).ok());

  std::string all = TempPath("all.jsonl"), train = TempPath("train.jsonl"), valid = TempPath("valid.jsonl");
  auto r_all = ExportDataset(*store, ExportFormat::kChat, std::nullopt, all, Options());
  REQUIRE(r_all.ok());
  CHECK(r_all->written == 32);
  CHECK(r_all->validation.ok());
  CHECK(r_all->late_redactions[PiiKind::kEmail] == 2);
  bool found_approved = false;
  for (const auto& j : ReadLines(all)) {
    REQUIRE(j["messages"].size() == 3);
    std::string user = j["messages"][1]["content"];
    if (user.find("shared drive") != std::string::npos) {
      found_approved = true;
      CHECK(user == "How do I reach <EMAIL_1>'s shared drive?");
      CHECK(j["messages"][2]["content"] == "Ask <EMAIL_1> to share it with you from OneDrive.");
    }
  }
  CHECK(found_approved);

  auto r_train = ExportDataset(*store, ExportFormat::kChat, Split::kTrain, train, Options());
  auto r_valid = ExportDataset(*store, ExportFormat::kChat, Split::kValid, valid, Options());
  REQUIRE(r_train.ok());
  REQUIRE(r_valid.ok());
  CHECK(r_train->written + r_valid->written == 32);
  CHECK(r_valid->written > 0);

  std::string completion = TempPath("completion.jsonl");
  auto r_comp = ExportDataset(*store, ExportFormat::kCompletion, std::nullopt, completion, Options());
  REQUIRE(r_comp.ok());
  CHECK(r_comp->validation.ok());
  for (const auto& j : ReadLines(completion)) {
    std::string p = j["prompt"], c = j["completion"];
    CHECK(p.ends_with("\n\n###\n\n"));
    CHECK(p.find("\n\n###\n\n") == p.size() - 7);
    CHECK(c[0] == ' ');
    CHECK(c.ends_with(" END"));
    CHECK(c.find(" END") == c.size() - 4);
  }

  PreferencePair pref;
  pref.question = "Reset the password for maria.lopez@example.com";
  pref.preferred = "Use the self-service portal at https://id.example.com.";
  pref.rejected = "Send me your current password: hunter2";
  REQUIRE(store->AddPreferencePair(pref).ok());
  std::string prefs = TempPath("prefs.jsonl");
  auto r_pref = ExportDataset(*store, ExportFormat::kPreference, std::nullopt, prefs, Options());
  REQUIRE(r_pref.ok());
  CHECK(r_pref->written == 1);
  auto lines = ReadLines(prefs);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["input"]["messages"][1]["content"] == "Reset the password for <EMAIL_1>");
  CHECK(lines[0]["non_preferred_output"][0]["content"] == "Send me your current password: <PASSWORD_1>");

  CHECK_FALSE(ExportDataset(*store, ExportFormat::kChat, std::nullopt, "/nonexistent-dir/x.jsonl", Options()).ok());
  for (const auto& p : {all, train, valid, completion, prefs}) std::filesystem::remove(p);
}

TEST_CASE("dataset: time split through the store: newest tickets are valid", "[pipeline][store][split]") {
  auto store = StoreWithTickets(40);
  DatasetOptions o = Options();
  o.split.method = SplitMethod::kTime;
  o.split.valid_fraction = 0.25;
  auto report = BuildDataset(*store, o);
  REQUIRE(report.ok());
  UnixSeconds newest_train = 0, oldest_valid = INT64_MAX;
  REQUIRE(store->ForEachPair([&](const Pair& p) {
    if (p.split == Split::kTrain) newest_train = std::max(newest_train, p.created_at);
    else oldest_valid = std::min(oldest_valid, p.created_at);
    return true;
  }).ok());
  CHECK(newest_train <= oldest_valid);
  CHECK(report->valid == 10);
}
