// The deskbot binary end to end: import tickets, dataset build/export/validate.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace fs = std::filesystem;

namespace {

int Run(const std::string& args, const fs::path& dir, std::string* output = nullptr) {
  const std::string deskbot = std::string(DESKBOT_BINARY_DIR) + "/bot/cli/deskbot";
  std::string cmd = "cd '" + dir.string() + "' && DESKBOT_DATA_DIR='" + (dir / "data").string() + "' '" + deskbot +
                    "' " + args + " > out.txt 2>&1";
  int rc = std::system(cmd.c_str());
  if (output != nullptr) {
    std::ifstream in(dir / "out.txt");
    std::stringstream ss;
    ss << in.rdbuf();
    *output = ss.str();
  }
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace

TEST_CASE("dataset: deskbot dataset build, export and validate", "[cli][dataset]") {
  fs::path dir = fs::temp_directory_path() / "deskbot_dataset_cli";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string out;
  REQUIRE(Run("import '" + std::string(DESKBOT_TEST_DATA_DIR) + "/dataset/tickets.jsonl'", dir, &out) == 0);

  REQUIRE(Run("dataset build --split time --valid-fraction 0.3 --report build.json", dir, &out) == 0);
  CHECK(out.find("Dataset build") != std::string::npos);
  CHECK(out.find("exact_duplicate  1") != std::string::npos);
  auto report = nlohmann::json::parse(std::ifstream(dir / "build.json"));
  CHECK(report["kept"] == 9);
  CHECK(report["split"]["method"] == "time");
  CHECK(report["dropped"]["filter"]["auto_reply"] == 1);
  CHECK(report["redactions"]["SECRET"] == 2);

  REQUIRE(Run("dataset export --format chat --out chat.jsonl --split train", dir, &out) == 0);
  CHECK(out.find("Exported") != std::string::npos);
  REQUIRE(Run("dataset export --format completion --out completion.jsonl", dir, &out) == 0);
  REQUIRE(Run("dataset validate completion.jsonl --format completion --report v.json", dir, &out) == 0);
  CHECK(nlohmann::json::parse(std::ifstream(dir / "v.json"))["examples"] == 9);
  std::ifstream chat(dir / "chat.jsonl");
  std::string all((std::istreambuf_iterator<char>(chat)), std::istreambuf_iterator<char>());
  CHECK(all.find("AKIAIOSFODNN7EXAMPLE") == std::string::npos);
  CHECK(all.find("maria.lopez@example.com") == std::string::npos);
  CHECK(all.find("internal") == std::string::npos);

  // A file in the wrong format fails validation with exit status 1.
  CHECK(Run("dataset validate chat.jsonl --format completion", dir, &out) == 1);
  CHECK(out.find("problems found") != std::string::npos);
  CHECK(Run("dataset build --split shuffle", dir, &out) != 0);
  CHECK(Run("dataset export --format yaml --out x.jsonl", dir, &out) != 0);
  fs::remove_all(dir);
}
