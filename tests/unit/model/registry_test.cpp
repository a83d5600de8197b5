// The model registry on a real store: train, the promotion gate, promote by
// hand, corrupt files, rollback.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "bot/model/registry.h"
#include "tests/support/store_reads.h"
#include "tests/unit/model/sample_fixture.h"

using namespace deskbot;
using deskbot::testing::SampleStore;

namespace {

// Makes the training pairs useless (answers shuffled among them), keeping the
// validation pairs, so that a model trained now is worse on the same held-out set.
void SpoilTrainingPairs(Store& store) {
  std::vector<Pair> pairs = deskbot::testing::AllPairs(store);
  std::vector<size_t> train;
  for (size_t i = 0; i < pairs.size(); ++i)
    if (pairs[i].split == Split::kTrain) train.push_back(i);
  std::vector<std::string> answers;
  for (auto i : train) answers.push_back(pairs[i].answer);
  std::rotate(answers.begin(), answers.begin() + answers.size() / 2, answers.end());
  for (size_t k = 0; k < train.size(); ++k) pairs[train[k]].answer = answers[k];
  DatasetSnapshot snap;
  snap.content_hash = "spoiled";
  REQUIRE(store.ReplaceHarvestedPairs(pairs, snap).ok());
}

void Corrupt(const std::string& file) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f);
  char c = 0;
  f.seekg(20);
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x21);
  f.seekp(20);
  f.write(&c, 1);
}

ModelVersion Get(Store& store, std::int64_t id) {
  auto v = store.GetModelVersion(id);
  REQUIRE(v.ok());
  REQUIRE(v->has_value());
  return **v;
}

}  // namespace

TEST_CASE("registry: first version is promoted, a worse one is refused by the gate", "[model]") {
  SampleStore sample;
  Store& store = *sample.store;

  auto first = model::TrainVersion(store, sample.config);
  INFO(first.status().ToString());
  REQUIRE(first.ok());
  CHECK(first->promoted);
  CHECK(first->version.state == ModelState::kPromoted);
  CHECK(first->note.find("first model version") != std::string::npos);
  ModelVersion v1 = Get(store, first->version.id);
  CHECK(v1.state == ModelState::kPromoted);
  CHECK(v1.checksum.size() == 64);
  CHECK(v1.snapshot_id > 0);
  CHECK(std::filesystem::exists(model::VersionDir(sample.config, v1) + "/MANIFEST"));
  auto metrics = nlohmann::json::parse(v1.metrics_json);
  CHECK(metrics["valid"]["queries"].get<int>() > 0);
  CHECK(metrics["gate"]["promoted"].get<bool>());

  SpoilTrainingPairs(store);
  auto second = model::TrainVersion(store, sample.config);
  REQUIRE(second.ok());
  INFO(second->note);
  CHECK_FALSE(second->promoted);
  CHECK(second->note.find("not promoted") != std::string::npos);
  CHECK(second->note.find("does not beat version " + std::to_string(v1.id)) != std::string::npos);
  REQUIRE(second->previous);
  CHECK(second->report.valid.p1 < second->previous->p1);
  CHECK(Get(store, second->version.id).state == ModelState::kCandidate);
  CHECK(Get(store, v1.id).state == ModelState::kPromoted);

  auto serving = model::LoadServing(store, sample.config);
  REQUIRE(serving.ok());
  CHECK(serving->version.id == v1.id);
  CHECK(serving->warnings.empty());
}

TEST_CASE("registry: a corrupt model file is refused and the promoted version keeps answering", "[model]") {
  SampleStore sample;
  Store& store = *sample.store;
  auto v1 = model::TrainVersion(store, sample.config);
  REQUIRE(v1.ok());
  REQUIRE(v1->promoted);
  // Same pairs: the second version cannot beat the first by the margin.
  auto v2 = model::TrainVersion(store, sample.config);
  REQUIRE(v2.ok());
  CHECK_FALSE(v2->promoted);
  const std::string question = "My VPN connection keeps dropping when I work from home";

  SECTION("promoting a candidate with a damaged file") {
    Corrupt(model::VersionDir(sample.config, Get(store, v2->version.id)) + "/corpus.bin");
    auto st = model::PromoteVersion(store, sample.config, v2->version.id, "by hand");
    REQUIRE_FALSE(st.ok());
    CHECK(st.message().find("cannot promote version " + std::to_string(v2->version.id)) != std::string::npos);
    CHECK(st.message().find("corpus.bin is corrupt") != std::string::npos);
    CHECK(Get(store, v1->version.id).state == ModelState::kPromoted);
    auto serving = model::LoadServing(store, sample.config);
    REQUIRE(serving.ok());
    CHECK(serving->version.id == v1->version.id);
    auto s = serving->model->Suggest(question);
    REQUIRE(s.ok());
    CHECK(s->model_version == std::to_string(v1->version.id));
  }

  SECTION("the promoted version's file goes missing: the previous one answers") {
    REQUIRE(model::PromoteVersion(store, sample.config, v2->version.id, "by hand").ok());
    CHECK(Get(store, v2->version.id).state == ModelState::kPromoted);
    CHECK(Get(store, v1->version.id).state == ModelState::kRetired);
    std::filesystem::remove(model::VersionDir(sample.config, Get(store, v2->version.id)) + "/lexical.bin");
    auto serving = model::LoadServing(store, sample.config);
    REQUIRE(serving.ok());
    CHECK(serving->version.id == v1->version.id);
    REQUIRE(serving->warnings.size() == 2);
    CHECK(serving->warnings[0].find("lexical.bin is missing") != std::string::npos);
    CHECK(serving->warnings[1].find("answering with the previous version") != std::string::npos);
    auto s = serving->model->Suggest(question);
    REQUIRE(s.ok());
    CHECK(s->model_version == std::to_string(v1->version.id));

    auto back = model::Rollback(store, sample.config);
    REQUIRE(back.ok());
    CHECK(back->id == v1->version.id);
    CHECK(Get(store, v1->version.id).state == ModelState::kPromoted);
    CHECK(Get(store, v2->version.id).state == ModelState::kRetired);
    // Nothing older than version 1 to roll back to.
    auto again = model::Rollback(store, sample.config);
    REQUIRE_FALSE(again.ok());
    CHECK(again.status().code() == util::Status::Code::kNotFound);
  }
}

TEST_CASE("registry: training with no pairs is a clear error, settings are checked", "[model]") {
  testing::TempDir dir;
  auto config = Config::LoadString("data_dir = \"" + dir.File("data") + "\"\n");
  REQUIRE(config.ok());
  auto store = OpenStore(*config);
  REQUIRE(store.ok());
  auto out = model::TrainVersion(**store, *config);
  REQUIRE_FALSE(out.ok());
  CHECK(out.status().message().find("dataset build") != std::string::npos);
  CHECK(model::PromotedVersion(**store).status().code() == util::Status::Code::kNotFound);

  auto bad = Config::LoadString("[model]\ntarget_precision = 1.5\n");
  REQUIRE(bad.ok());
  CHECK_FALSE(model::ModelSettings::FromConfig(*bad).ok());
  auto metric = Config::LoadString("[model]\ngate_metric = \"accuracy\"\n");
  REQUIRE(metric.ok());
  auto s = model::ModelSettings::FromConfig(*metric);
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message().find("unknown metric 'accuracy'") != std::string::npos);
}

TEST_CASE("registry: a promoted fine-tuned LLM is gated on its recorded metrics, not replaced", "[model]") {
  SampleStore sample;
  Store& store = *sample.store;
  // A remote version as the fine-tune poller records it: evaluation metrics
  // at the top level of metrics_json, no local files.
  ModelVersion remote;
  remote.backend = "openai";
  remote.remote_id = "ftjob-test";
  remote.metrics_json = R"({"queries": 13, "p1": 0.99, "mrr": 0.99})";
  auto id = store.AddModelVersion(remote);
  REQUIRE(id.ok());
  REQUIRE(store.PromoteModelVersion(*id, "fine-tune promoted").ok());

  auto local = model::TrainVersion(store, sample.config);
  REQUIRE(local.ok());
  INFO(local->note);
  CHECK_FALSE(local->promoted);
  CHECK(local->note.find("recorded") != std::string::npos);
  CHECK(Get(store, *id).state == ModelState::kPromoted);

  // A remote version with nothing recorded to compare with is kept as well.
  remote = Get(store, *id);  // as stored: promoted
  remote.metrics_json = "{}";
  REQUIRE(store.UpdateModelVersion(remote).ok());
  auto again = model::TrainVersion(store, sample.config);
  REQUIRE(again.ok());
  INFO(again->note);
  CHECK_FALSE(again->promoted);
  CHECK(again->note.find("no recorded") != std::string::npos);

  // One the local model beats by the margin is replaced.
  remote.metrics_json = R"({"queries": 13, "p1": 0.0, "mrr": 0.0})";
  REQUIRE(store.UpdateModelVersion(remote).ok());
  auto better = model::TrainVersion(store, sample.config);
  REQUIRE(better.ok());
  INFO(better->note);
  CHECK(better->promoted);
  CHECK(Get(store, *id).state == ModelState::kRetired);
}
