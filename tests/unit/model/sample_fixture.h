// The project's sample help desk (deploy/sample-data/tickets.jsonl) taken
// through the real pipeline -- files source, harvest into a SQLite store,
// `dataset build` -- ready for the model tests.
#pragma once

#include <catch2/catch.hpp>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bot/core/config.h"
#include "bot/dataset/pipeline.h"
#include "bot/sources/factory.h"
#include "bot/sources/harvest.h"
#include "bot/store/open.h"
#include "tests/unit/store/temp_dir.h"

namespace deskbot::testing {

inline const std::string kSampleTickets = std::string(DESKBOT_SOURCE_DIR) + "/deploy/sample-data/tickets.jsonl";
inline const std::string kSampleDir = std::string(DESKBOT_TEST_DATA_DIR) + "/sample/";

// A store in a temp dir holding the sample tickets and the dataset built from them.
struct SampleStore {
  TempDir dir;
  Config config;
  std::unique_ptr<Store> store;

  explicit SampleStore(const std::string& extra_toml = "") {
    std::string toml = "data_dir = \"" + dir.File("data") + "\"\n" + extra_toml +
                       "\n[[sources]]\nname = \"sample\"\ntype = \"files\"\npath = \"" + kSampleTickets + "\"\n";
    auto c = Config::LoadString(toml);
    REQUIRE(c.ok());
    config = std::move(c).value();
    auto s = OpenStore(config);
    REQUIRE(s.ok());
    store = std::move(s).value();
    auto source = MakeSource(config, "sample");
    REQUIRE(source.ok());
    auto harvested = Harvest(**source, *store);
    REQUIRE(harvested.ok());
    auto options = dataset::DatasetOptions::FromConfig(config);
    REQUIRE(options.ok());
    auto built = dataset::BuildDataset(*store, *options);
    INFO(built.status().ToString());
    REQUIRE(built.ok());
    REQUIRE(built->kept > 100);
  }
};

inline std::vector<nlohmann::json> ReadJsonl(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in);
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

}  // namespace deskbot::testing
