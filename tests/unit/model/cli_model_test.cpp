// `deskbot train`, `eval`, `ask`, `models` and `bench qa`, run as an operator
// would, on a fresh store holding the sample help desk.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/unit/store/temp_dir.h"

using deskbot::testing::TempDir;
using nlohmann::json;

namespace {

const std::string kDeskbot = std::string(DESKBOT_BINARY_DIR) + "/bot/cli/deskbot";
const std::string kTickets = std::string(DESKBOT_SOURCE_DIR) + "/deploy/sample-data/tickets.jsonl";
const std::string kQaSmall = std::string(DESKBOT_TEST_DATA_DIR) + "/model/qa_small.jsonl";

struct Run {
  int status = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

Run Deskbot(const TempDir& dir, const std::string& args) {
  const std::string err_file = dir.File("stderr.txt");
  const std::string cmd = "cd '" + dir.path().string() + "' && DESKBOT_DATA_DIR='" + dir.File("data") + "' '" +
                          kDeskbot + "' " + args + " 2>'" + err_file + "'";
  Run run;
  std::FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) run.out.append(buf, n);
  int rc = pclose(p);
  run.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  std::ifstream e(err_file);
  run.err.assign(std::istreambuf_iterator<char>(e), {});
  return run;
}

json LastJsonLine(const std::string& out) {
  auto end = out.find_last_not_of('\n');
  REQUIRE(end != std::string::npos);
  auto start = out.rfind('\n', end);
  return json::parse(out.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start == std::string::npos ? 0 : start + 1)));
}

}  // namespace

TEST_CASE("cli: train -> eval -> ask on a fresh store", "[cli][model]") {
  TempDir dir;
  Run none = Deskbot(dir, "ask 'how do I reset my password?'");
  CHECK(none.status == 1);
  CHECK(none.err.find("no promoted model version: run `deskbot train` first") != std::string::npos);
  Run untrained = Deskbot(dir, "train");
  CHECK(untrained.status == 1);
  CHECK(untrained.err.find("run `deskbot dataset build` first") != std::string::npos);

  REQUIRE(Deskbot(dir, "import '" + kTickets + "'").status == 0);
  Run built = Deskbot(dir, "dataset build");
  INFO(built.err);
  REQUIRE(built.status == 0);

  Run trained = Deskbot(dir, "train");
  INFO(trained.out << trained.err);
  REQUIRE(trained.status == 0);
  CHECK(trained.out.find("model version 1 trained in") != std::string::npos);
  CHECK(trained.out.find("first model version: promoted") != std::string::npos);

  Run eval = Deskbot(dir, "eval --json");
  INFO(eval.out << eval.err);
  REQUIRE(eval.status == 0);
  json m = LastJsonLine(eval.out);
  CHECK(m["version"] == 1);
  CHECK(m["queries"].get<int>() > 0);
  CHECK(m["p1"].get<double>() >= 0.5);

  Run ask = Deskbot(dir, "ask --json 'Why does the GlobalProtect client lose its connection so often on my home wireless?'");
  INFO(ask.out << ask.err);
  REQUIRE(ask.status == 0);
  json a = LastJsonLine(ask.out);
  CHECK(a["model_version"] == "1");
  CHECK(a["confidence"].get<double>() >= 0);
  CHECK(a["confidence"].get<double>() <= 1);
  REQUIRE(!a["sources"].empty());
  const std::vector<std::string> vpn_tickets = {"HD-1033", "HD-1076", "HD-1101", "HD-1104", "HD-1116", "HD-1144"};
  CHECK(std::find(vpn_tickets.begin(), vpn_tickets.end(), a["sources"][0]["ticket"].get<std::string>()) !=
        vpn_tickets.end());
  if (!a["abstained"].get<bool>()) CHECK(a["answer"].get<std::string>().size() > 20);

  Run plain = Deskbot(dir, "ask 'What is the cafeteria menu on Friday?'");
  REQUIRE(plain.status == 0);
  CHECK(plain.out.find("No confident answer") == 0);

  Run list = Deskbot(dir, "models list --json");
  REQUIRE(list.status == 0);
  json versions = LastJsonLine(list.out);
  REQUIRE(versions.size() == 1);
  CHECK(versions[0]["state"] == "promoted");
  CHECK(versions[0]["checksum"].get<std::string>().size() == 64);

  Run again = Deskbot(dir, "train --json");
  REQUIRE(again.status == 0);
  json t2 = LastJsonLine(again.out);
  CHECK(t2["version"] == 2);
  CHECK(t2["promoted"] == false);
  CHECK(t2["note"].get<std::string>().find("does not beat version 1") != std::string::npos);

  Run table = Deskbot(dir, "models list");
  CHECK(table.out.find("candidate") != std::string::npos);
  Run promote = Deskbot(dir, "models promote 2");
  CHECK(promote.status == 0);
  Run rollback = Deskbot(dir, "models rollback");
  INFO(rollback.err);
  CHECK(rollback.status == 0);
  CHECK(rollback.out.find("model version 1 promoted again") != std::string::npos);
  Run missing = Deskbot(dir, "models promote 99");
  CHECK(missing.status == 1);
  CHECK(missing.err.find("version 99 does not exist") != std::string::npos);
}

TEST_CASE("cli: bench qa prints both systems and one JSON line", "[cli][model]") {
  TempDir dir;
  Run bench = Deskbot(dir, "bench qa --train '" + kQaSmall + "' --test '" + kQaSmall + "' --label topic --json");
  INFO(bench.out << bench.err);
  REQUIRE(bench.status == 0);
  CHECK(bench.out.find("bm25") != std::string::npos);
  json j = LastJsonLine(bench.out);
  CHECK(j["queries"].get<int>() > 10);
  for (const char* side : {"bm25", "model"})
    for (const char* k : {"p1", "mrr", "f1", "rougeL"}) {
      INFO(side << "." << k);
      CHECK(j[side][k].get<double>() >= 0);
      CHECK(j[side][k].get<double>() <= 100);
    }
  CHECK(j["model"].contains("coverage_at_p90"));
  CHECK(j["train_seconds"].get<double>() > 0);
  // The sample's reworded tickets are easy for both; the model must not do worse.
  CHECK(j["model"]["p1"].get<double>() >= j["bm25"]["p1"].get<double>() - 5);

  Run bad = Deskbot(dir, "bench qa --train nope.jsonl --test nope.jsonl");
  CHECK(bad.status == 1);
  CHECK(bad.err.find("nope.jsonl") != std::string::npos);
}
