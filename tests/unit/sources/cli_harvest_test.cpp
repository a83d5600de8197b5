// `deskbot harvest`, `import` and `tickets count`, run as the operator would.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>

#include "tests/unit/store/temp_dir.h"

using deskbot::testing::TempDir;

namespace {

const std::string kDeskbot = std::string(DESKBOT_BINARY_DIR) + "/bot/cli/deskbot";
const std::string kData = std::string(DESKBOT_TEST_DATA_DIR) + "/files/";

struct Run {
  int status = -1;
  std::string output;  // stdout and stderr
};

Run Deskbot(const TempDir& dir, const std::string& args) {
  const std::string cmd = "cd '" + dir.path().string() + "' && DESKBOT_DATA_DIR='" +
                          dir.File("data") + "' '" + kDeskbot + "' " + args + " 2>&1";
  Run run;
  std::FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) run.output.append(buf, n);
  int rc = pclose(p);
  run.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return run;
}

TEST_CASE("cli: import a file, count, rejects summarised with file:line", "[cli][sources]") {
  TempDir dir;
  Run imported = Deskbot(dir, "import '" + kData + "tickets_with_errors.jsonl'");
  INFO(imported.output);
  CHECK(imported.status == 0);
  CHECK(imported.output.find("harvest import: 1 page, 4 tickets stored (4 new, 0 updated)") !=
        std::string::npos);
  CHECK(imported.output.find("5 rejected") != std::string::npos);
  CHECK(imported.output.find("tickets_with_errors.jsonl:3: malformed JSON") != std::string::npos);
  CHECK(imported.output.find("rejects/tickets_with_errors.rejects.jsonl") != std::string::npos);

  Run count = Deskbot(dir, "tickets count");
  CHECK(count.status == 0);
  CHECK(count.output == "4\n");

  Run bad_format = Deskbot(dir, "import notes.txt");
  CHECK(bad_format.status == 1);
  CHECK(bad_format.output.find("deskbot: ") == 0);
  CHECK(bad_format.output.find("cannot tell the format of notes.txt") != std::string::npos);
}

TEST_CASE("cli: harvest configured sources, again, and a broken one", "[cli][sources]") {
  TempDir dir;
  std::ofstream(dir.File("deskbot.toml"))
      << "[[sources]]\nname = \"qa\"\ntype = \"files\"\npath = \"" << kData << "qa.csv\"\n"
      << "[[sources]]\nname = \"broken\"\ntype = \"files\"\npath = \"" << kData
      << "qa_missing_column.csv\"\n";

  Run first = Deskbot(dir, "-c deskbot.toml harvest --source qa");
  INFO(first.output);
  CHECK(first.status == 0);
  CHECK(first.output.find("3 tickets stored (3 new, 0 updated), 1 skipped") != std::string::npos);

  Run again = Deskbot(dir, "-c deskbot.toml harvest --source qa");
  CHECK(again.status == 0);
  CHECK(again.output.find("0 tickets stored") != std::string::npos);

  Run broken = Deskbot(dir, "-c deskbot.toml harvest --source broken");
  INFO(broken.output);
  CHECK(broken.status == 1);
  CHECK(broken.output.find("deskbot: invalid argument: harvest broken: page 1: source broken: ") !=
        std::string::npos);
  CHECK(broken.output.find("qa_missing_column.csv:1: missing required column 'answer'") !=
        std::string::npos);

  Run all = Deskbot(dir, "-c deskbot.toml harvest --all");
  CHECK(all.status == 1);
  CHECK(all.output.find("harvest qa: 1 page, 0 tickets stored") != std::string::npos);
  CHECK(all.output.find("harvest failed for: broken") != std::string::npos);

  Run unknown = Deskbot(dir, "-c deskbot.toml harvest --source nope");
  CHECK(unknown.status == 1);
  CHECK(unknown.output.find("source 'nope' is not configured (configured: qa, broken)") !=
        std::string::npos);

  CHECK(Deskbot(dir, "-c deskbot.toml tickets count").output == "3\n");
}

}  // namespace
