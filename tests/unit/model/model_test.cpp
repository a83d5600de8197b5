// The local model trained on the project's sample help desk: finds the ticket
// a reworded question is about, abstains on questions nothing answers, and
// survives a save/load round trip but not a corrupted file.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bot/model/checksum.h"
#include "bot/model/local_model.h"
#include "bot/model/registry.h"
#include "tests/unit/model/sample_fixture.h"

using namespace deskbot;
using deskbot::testing::ReadJsonl;
using deskbot::testing::SampleStore;

namespace {

struct Trained {
  SampleStore sample;
  model::PairSets sets;
  std::unique_ptr<model::LocalModel> model;
  model::TrainReport report;
  Trained() {
    auto s = model::LoadPairs(*sample.store);
    REQUIRE(s.ok());
    sets = std::move(s).value();
    auto options = model::ModelSettings::FromConfig(sample.config);
    REQUIRE(options.ok());
    auto m = model::LocalModel::Train(sets.train, sets.valid, sets.feedback, options->local, &report);
    INFO(m.status().ToString());
    REQUIRE(m.ok());
    model = std::move(m).value();
  }
};

Trained& Sample() {
  static Trained trained;
  return trained;
}

bool Contains(const nlohmann::json& ids, const std::string& id) {
  for (const auto& x : ids)
    if (x.get<std::string>() == id) return true;
  return false;
}

}  // namespace

TEST_CASE("model: a reworded sample question finds its ticket", "[model]") {
  auto& t = Sample();
  auto rows = ReadJsonl(testing::kSampleDir + "paraphrases.jsonl");
  REQUIRE(rows.size() >= 20);
  size_t top1 = 0, top3 = 0, answered = 0, answered_right = 0;
  for (const auto& row : rows) {
    const std::string q = row["question"];
    model::Ranking r = t.model->Rank(q, 3);
    REQUIRE(!r.answers.empty());
    bool first = Contains(row["expected_ticket_ids"], t.model->ticket_id(r.answers[0].doc));
    bool any = false;
    for (const auto& a : r.answers) any = any || Contains(row["expected_ticket_ids"], t.model->ticket_id(a.doc));
    top1 += first;
    top3 += any;
    auto s = t.model->Suggest(q);
    REQUIRE(s.ok());
    if (!s->abstained) {
      ++answered;
      answered_right += first;
      CHECK(!s->text.empty());
      CHECK(!s->sources.empty());
    }
    UNSCOPED_INFO(q << " -> " << t.model->ticket_id(r.answers[0].doc) << (first ? " (right)" : " (wrong)"));
  }
  INFO("top1 " << top1 << " top3 " << top3 << " answered " << answered << " (right " << answered_right
               << ") of " << rows.size());
  CHECK(top1 >= rows.size() * 8 / 10);
  CHECK(top3 >= rows.size() * 9 / 10);
  // It does answer reworded questions, and mostly rightly.
  CHECK(answered >= rows.size() / 3);
  CHECK(answered_right >= answered * 8 / 10);
}

TEST_CASE("model: a question the sample does not answer abstains", "[model]") {
  auto& t = Sample();
  auto rows = ReadJsonl(testing::kSampleDir + "unrelated.jsonl");
  REQUIRE(rows.size() >= 10);
  size_t abstained = 0;
  for (const auto& row : rows) {
    auto s = t.model->Suggest(row["question"].get<std::string>());
    REQUIRE(s.ok());
    UNSCOPED_INFO(row["question"].get<std::string>() << " -> confidence " << s->confidence);
    if (s->abstained) {
      ++abstained;
      CHECK(s->text.empty());
    }
  }
  // The target precision is 90%: allow the odd word clash ("enrol" in a
  // pension question vs. device enrolment), not more.
  CHECK(abstained + 2 >= rows.size());
  auto s = t.model->Suggest("What is the cafeteria menu on Friday?");
  REQUIRE(s.ok());
  CHECK(s->abstained);
  CHECK(s->confidence < t.model->threshold());
}

TEST_CASE("model: confidence and report are sane", "[model]") {
  auto& t = Sample();
  CHECK(t.report.train_pairs == t.sets.train.size());
  CHECK(t.report.clusters > 10);
  CHECK(t.report.threshold > 0);
  auto s = t.model->Suggest("");
  REQUIRE(s.ok());
  CHECK(s->abstained);
  CHECK(s->confidence >= 0);
  for (const auto& ex : t.sets.valid) {
    auto r = t.model->Rank(ex.question, 5);
    CHECK(r.confidence >= 0);
    CHECK(r.confidence <= 1);
  }
}

TEST_CASE("model: save and load give the same answers, a changed file is refused", "[model]") {
  auto& t = Sample();
  testing::TempDir dir;
  const std::string path = dir.File("m1");
  auto checksum = t.model->Save(path);
  REQUIRE(checksum.ok());
  CHECK(checksum->size() == 64);

  auto loaded = model::LocalModel::Load(path, *checksum);
  INFO(loaded.status().ToString());
  REQUIRE(loaded.ok());
  for (const auto& ex : t.sets.valid) {
    auto a = t.model->Suggest(ex.question);
    auto b = (*loaded)->Suggest(ex.question);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->text == b->text);
    CHECK(a->confidence == Approx(b->confidence));
    CHECK(a->abstained == b->abstained);
  }

  SECTION("a flipped byte") {
    const std::string file = path + "/lexical.bin";
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    char c = 0;
    f.seekg(100);
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(100);
    f.write(&c, 1);
    f.close();
    auto bad = model::LocalModel::Load(path, *checksum);
    REQUIRE(!bad.ok());
    CHECK(bad.status().code() == util::Status::Code::kCorruption);
    CHECK(bad.status().message().find("lexical.bin is corrupt") != std::string::npos);
  }
  SECTION("a missing file") {
    std::filesystem::remove(path + "/corpus.bin");
    auto bad = model::LocalModel::Load(path, *checksum);
    REQUIRE(!bad.ok());
    CHECK(bad.status().code() == util::Status::Code::kNotFound);
    CHECK(bad.status().message().find("corpus.bin is missing") != std::string::npos);
  }
  SECTION("a different model's checksum") {
    auto bad = model::LocalModel::Load(path, std::string(64, '0'));
    REQUIRE(!bad.ok());
    CHECK(bad.status().message().find("does not match the registry") != std::string::npos);
  }
  SECTION("an older model format, consistently signed, says to retrain") {
    // What a model written by an older deskbot looks like: a well-formed,
    // correctly signed version 2 (before the @handle features).
    std::ifstream in(path + "/meta.json");
    nlohmann::json meta = nlohmann::json::parse(in);
    in.close();
    meta["format_version"] = 2;
    const std::string text = meta.dump(2);
    std::ofstream(path + "/meta.json", std::ios::trunc) << text;
    std::ifstream manifest_in(path + "/MANIFEST");
    std::string line, manifest;
    while (std::getline(manifest_in, line))
      manifest += (line.size() > 66 && line.substr(66) == "meta.json" ? model::Sha256Hex(text) + "  meta.json"
                                                                      : line) + "\n";
    manifest_in.close();
    std::ofstream(path + "/MANIFEST", std::ios::trunc) << manifest;
    auto old = model::LocalModel::Load(path, "");
    REQUIRE(!old.ok());
    CHECK(old.status().message().find("model format version 2, this deskbot reads version 3: train a new "
                                      "version with `deskbot train`") != std::string::npos);
  }
  SECTION("a forged manifest") {
    std::ofstream(path + "/MANIFEST", std::ios::app) << "garbage\n";
    auto bad = model::LocalModel::Load(path, "");
    REQUIRE(!bad.ok());
    CHECK(bad.status().code() == util::Status::Code::kCorruption);
  }
}

TEST_CASE("model: lexical-only model still finds reworded questions", "[model]") {
  auto& t = Sample();
  model::LocalModelOptions o;
  o.use_vectors = false;
  o.use_classifier = false;
  auto m = model::LocalModel::Train(t.sets.train, t.sets.valid, {}, o, nullptr);
  REQUIRE(m.ok());
  auto rows = ReadJsonl(testing::kSampleDir + "paraphrases.jsonl");
  size_t top3 = 0;
  for (const auto& row : rows) {
    auto r = (*m)->Rank(row["question"].get<std::string>(), 3);
    for (const auto& a : r.answers)
      if (Contains(row["expected_ticket_ids"], (*m)->ticket_id(a.doc))) {
        ++top3;
        break;
      }
  }
  CHECK(top3 >= rows.size() * 7 / 10);
}

TEST_CASE("model: huge, binary and odd questions are answered or abstained on, never a crash", "[model]") {
  auto& t = Sample();
  std::string huge;
  for (int i = 0; i < 20000; ++i) huge += "vpn printer error " + std::to_string(i) + " ";
  std::string binary;
  for (int i = 0; i < 5000; ++i) binary.push_back(static_cast<char>(i * 37 % 256));
  for (const std::string& q : {huge, binary, std::string(10000, '?'), std::string("\xf0\x28\x8c\x28"),
                               std::string("ok"), std::string("\n\n\t ")}) {
    auto s = t.model->Suggest(q);
    REQUIRE(s.ok());
    CHECK(s->confidence >= 0);
    CHECK(s->confidence <= 1);
    CHECK(s->abstained == s->text.empty());
  }
}

TEST_CASE("model: the team a question addresses (@handle) weighs its replies", "[model]") {
  // Two teams get the same complaint in the same words; each answers with its
  // own article. Only the @handle tells which team the new question is for.
  std::vector<model::TrainingExample> train;
  const char* complaints[] = {"my account is locked and the reset email never arrives",
                              "locked out of my account, no reset email",
                              "cannot sign in, account locked, reset mail missing",
                              "account locked again and I never get the reset email",
                              "the reset email does not come and my account is locked"};
  for (const char* c : complaints) {
    train.push_back({std::string("@AcmeHelp ") + c, "Hi, please follow https://help.acme.example/unlock ^AK", "t", "a"});
    train.push_back({std::string("@GlobexCare ") + c, "Sorry! See https://support.globex.example/locked ^JS", "t", "g"});
  }
  train.push_back({"@AcmeHelp where is my invoice", "Invoices: https://help.acme.example/invoices ^AK", "t", "i"});
  train.push_back({"@GlobexCare where is my invoice", "Invoices: https://support.globex.example/billing ^JS", "t", "b"});
  model::LocalModelOptions options;
  options.use_vectors = false;
  options.use_classifier = false;
  auto m = model::LocalModel::Train(train, {}, {}, options, nullptr);
  REQUIRE(m.ok());

  auto share_of = [&](const std::string& question, const std::string& reply) {
    auto explain = (*m)->Explain(question, 10);
    for (const auto& a : explain["answers"])
      if (a["reply"].get<std::string>().find(reply) != std::string::npos)
        return a["features"]["handle_reply_share"].get<double>();
    return -1.0;
  };
  // Six training questions named @GlobexCare; five of them got the locked-account article.
  const std::string q = "hey @globexcare my account got locked and no reset email came";
  CHECK(share_of(q, "globex.example/locked") == Approx(5.0 / 6));
  CHECK(share_of(q, "acme.example/unlock") == Approx(0.0));
  // (Too few pairs to fit a ranker on: this checks the evidence, not the order.)
  CHECK(share_of("@AcmeHelp @nobody my account got locked", "acme.example/unlock") == Approx(5.0 / 6));
  // No handle: the reply's share of all questions (its prior).
  CHECK(share_of("my account got locked and no reset email came", "globex.example/locked") == Approx(5.0 / 12));
}
