// A small world for the LLM tests: the repo's sample tickets harvested
// through the files source, the dataset built, a local model trained on it
// and promoted -- once per test binary -- and a fresh copy of that store for
// each test, so tests can change the registry freely.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "bot/core/config.h"
#include "bot/core/store.h"
#include "bot/dataset/pipeline.h"
#include "bot/llm/evaluate.h"
#include "bot/model/local_model.h"
#include "bot/sources/files.h"
#include "bot/sources/harvest.h"
#include "bot/store/open.h"
#include "fake_openai.h"
#include "tests/unit/store/temp_dir.h"

namespace deskbot::llm_test {

inline const std::string kSampleTickets = std::string(DESKBOT_SOURCE_DIR) + "/deploy/sample-data/tickets.jsonl";

inline Config MustConfig(const std::string& toml) {
  auto c = Config::LoadString(toml);
  REQUIRE(c.ok());
  return std::move(c).value();
}

inline std::unique_ptr<Store> MustOpen(const std::string& data_dir) {
  auto store = OpenStore(MustConfig("data_dir = \"" + data_dir + "\"\n"));
  REQUIRE(store.ok());
  return std::move(store).value();
}

// Harvests the sample tickets into `store` through a files source, as
// `deskbot import` does, and builds the dataset.
inline void HarvestAndBuild(Store& store, const Config& config) {
  auto options = FilesSourceOptions::ForFile(config, kSampleTickets, "sample", std::nullopt);
  REQUIRE(options.ok());
  FilesSource source(*options);
  auto harvested = Harvest(source, store);
  REQUIRE(harvested.ok());
  REQUIRE(harvested->tickets() > 150);
  auto data_options = dataset::DatasetOptions::FromConfig(config);
  REQUIRE(data_options.ok());
  auto built = dataset::BuildDataset(store, *data_options);
  REQUIRE(built.ok());
  REQUIRE(built->valid > 5);
}

// Trains a local model on the store's pairs, saves it under `dir` and
// registers it (promoted when `promote`). Returns the version id.
inline std::int64_t TrainLocal(Store& store, const std::string& dir, bool promote) {
  auto train = llm::LoadSplit(store, Split::kTrain);
  auto valid = llm::LoadSplit(store, Split::kValid);
  REQUIRE(train.ok());
  REQUIRE(valid.ok());
  model::LocalModelOptions options;
  options.threads = 2;
  model::TrainReport report;
  auto m = model::LocalModel::Train(*train, *valid, {}, options, &report);
  REQUIRE(m.ok());
  auto checksum = (*m)->Save(dir);
  REQUIRE(checksum.ok());
  ModelVersion v;
  v.backend = "local";
  auto snapshot = store.LatestSnapshot();
  REQUIRE(snapshot.ok());
  v.snapshot_id = *snapshot ? (*snapshot)->id : 0;
  v.path = dir;
  v.checksum = *checksum;
  v.metrics_json = nlohmann::json{{"valid", report.valid.ToJson()}}.dump();
  auto id = store.AddModelVersion(v);
  REQUIRE(id.ok());
  if (promote) REQUIRE(store.PromoteModelVersion(*id, "test: trained").ok());
  return *id;
}

// The shared, read-only original: built once per process.
struct World {
  testing::TempDir dir;
  std::string db;
  std::int64_t local_version = 0;

  World() {
    Config config = MustConfig("data_dir = \"" + dir.File("base") + "\"\n");
    auto store = MustOpen(dir.File("base"));
    HarvestAndBuild(*store, config);
    local_version = TrainLocal(*store, dir.File("local-model"), /*promote=*/true);
    db = dir.File("base") + "/deskbot.db";
  }
};

inline World& SharedWorld() {
  static World world;
  return world;
}

// A private copy of the world's store in `data_dir`.
inline std::unique_ptr<Store> CopyWorld(const std::string& data_dir) {
  World& w = SharedWorld();
  std::filesystem::create_directories(data_dir);
  std::filesystem::copy_file(w.db, data_dir + "/deskbot.db", std::filesystem::copy_options::overwrite_existing);
  return MustOpen(data_dir);
}

// Configuration pointing [openai] at the fake, the key in a file.
inline std::string FakeConfig(const openai_fake::FakeOpenAI& fake, const testing::TempDir& dir,
                              const std::string& data_dir, const std::string& extra = "") {
  const std::string key_file = dir.File("openai.key");
  std::ofstream(key_file) << fake.api_key() << "\n";
  return "data_dir = \"" + data_dir + "\"\n" + extra + "\n[openai]\nbase_url = \"" + fake.base_url() +
         "\"\napi_key_file = \"" + key_file + "\"\nmax_attempts = 3\n";
}

// Answers for the validation questions, as a well fine-tuned model would
// give them: the chat fake answers from this table.
inline void TeachValidAnswers(openai_fake::FakeOpenAI& fake, Store& store) {
  auto valid = llm::LoadSplit(store, Split::kValid);
  REQUIRE(valid.ok());
  for (const auto& ex : *valid) fake.AddChatRule({ex.question, ex.answer, "stop"});
}

inline std::vector<ModelVersion> Versions(Store& store, const std::string& backend) {
  auto all = store.ListModelVersions();
  REQUIRE(all.ok());
  std::vector<ModelVersion> out;
  for (const auto& v : *all)
    if (v.backend == backend) out.push_back(v);
  return out;
}

inline ModelVersion Version(Store& store, std::int64_t id) {
  auto v = store.GetModelVersion(id);
  REQUIRE(v.ok());
  REQUIRE(v->has_value());
  return **v;
}

}  // namespace deskbot::llm_test
