// The README's first command ends in `deskbot demo`: this runs it for real on
// a fresh data directory and checks what it printed and what it left behind,
// then that the served web chat answers a question over HTTP.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace {

namespace fs = std::filesystem;

const std::string kBinary = std::string(DESKBOT_BINARY_DIR) + "/bot/cli/deskbot";

fs::path FreshDir(const std::string& tag) {
  fs::path dir = fs::temp_directory_path() / ("deskbot-demo-" + tag + "-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a shell command, returning its exit status; output goes to `out`.
int Shell(const std::string& cmd, const fs::path& out) {
  int rc = std::system((cmd + " > " + out.string() + " 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace

TEST_CASE("demo: imports the sample, builds the dataset and trains a promoted model", "[demo][integration]") {
  fs::path dir = FreshDir("noserve");
  fs::path out = dir / "demo.txt";
  int rc = Shell("env -u DESKBOT_DATA_DIR -u DESKBOT_CONFIG " + kBinary + " demo --no-serve --data-dir " +
                     (dir / "data").string(),
                 out);
  std::string text = Slurp(out);
  INFO(text);
  REQUIRE(rc == 0);
  CHECK(text.find("[1/4] import the sample tickets") != std::string::npos);
  CHECK(text.find("not resolved skipped") != std::string::npos);
  CHECK(text.find("[2/4] build the training pairs") != std::string::npos);
  CHECK(text.find("pairs kept") != std::string::npos);
  CHECK(text.find("[3/4] train the local model") != std::string::npos);
  CHECK(text.find("promoted: ") != std::string::npos);
  CHECK(fs::exists(dir / "data" / "deskbot.db"));

  // The store it left is what the other commands use.
  fs::path models = dir / "models.txt";
  REQUIRE(Shell("DESKBOT_DATA_DIR=" + (dir / "data").string() + " " + kBinary + " models list", models) == 0);
  CHECK(Slurp(models).find("promoted") != std::string::npos);

  // Running it again is safe: the same tickets are updated in place.
  rc = Shell("env -u DESKBOT_DATA_DIR " + kBinary + " demo --no-serve --data-dir " + (dir / "data").string(), out);
  text = Slurp(out);
  INFO(text);
  REQUIRE(rc == 0);
  CHECK(text.find("(0 new, ") != std::string::npos);
}

TEST_CASE("demo: a missing or unusable ticket file is a clear error and not a crash", "[demo][integration]") {
  fs::path dir = FreshDir("bad");
  fs::path out = dir / "demo.txt";
  const std::string demo = "env -u DESKBOT_DATA_DIR -u DESKBOT_CONFIG " + kBinary +
                           " demo --no-serve --data-dir " + (dir / "data").string() + " --tickets ";
  REQUIRE(Shell(demo + (dir / "missing.jsonl").string(), out) == 1);
  std::string text = Slurp(out);
  INFO(text);
  CHECK(text.find("deskbot: demo: no ticket file at " + (dir / "missing.jsonl").string()) != std::string::npos);

  std::ofstream(dir / "bad.jsonl") << "not json at all\n{\"id\": 7}\n";
  REQUIRE(Shell(demo + (dir / "bad.jsonl").string(), out) == 1);
  text = Slurp(out);
  INFO(text);
  CHECK(text.find("deskbot: demo: no resolved tickets in " + (dir / "bad.jsonl").string() +
                  " (2 rows rejected; the first: ") != std::string::npos);
  CHECK(text.find("bad.jsonl:1") != std::string::npos);
  CHECK(text.find("[2/4]") == std::string::npos);  // stopped before building a dataset of nothing
}

TEST_CASE("demo: serves the web chat once trained", "[demo][integration]") {
  fs::path dir = FreshDir("serve");
  const int port = 20000 + getpid() % 20000;
  const std::string listen = "127.0.0.1:" + std::to_string(port);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const std::string data = (dir / "data").string();
    FILE* log = std::freopen((dir / "serve.txt").c_str(), "w", stdout);
    (void)log;
    dup2(fileno(stdout), 2);
    unsetenv("DESKBOT_DATA_DIR");
    unsetenv("DESKBOT_LISTEN");
    execl(kBinary.c_str(), "deskbot", "demo", "--data-dir", data.c_str(), "--listen", listen.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait (bounded) for the service to answer /readyz.
  bool ready = false;
  fs::path probe = dir / "probe.txt";
  for (int i = 0; i < 240 && !ready; ++i) {
    ready = Shell("curl -sf http://" + listen + "/readyz", probe) == 0;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  INFO(Slurp(dir / "serve.txt"));
  REQUIRE(ready);
  CHECK(Slurp(probe).find("\"ready\":true") != std::string::npos);

  fs::path asked = dir / "asked.txt";
  REQUIRE(Shell("curl -sf -X POST -H 'Content-Type: application/json' -d "
                "'{\"text\":\"GlobalProtect keeps disconnecting several times an hour\",\"user\":\"maria\"}' "
                "http://" + listen + "/api/questions",
                asked) == 0);
  CHECK(Slurp(asked).find("\"conversation\"") != std::string::npos);
  // The agent sees a suggestion for it, with its source tickets.
  bool seen = false;
  fs::path pending = dir / "pending.txt";
  for (int i = 0; i < 40 && !seen; ++i) {
    Shell("curl -sf 'http://" + listen + "/api/suggestions?state=open&agent=demo-agent'", pending);
    seen = Slurp(pending).find("GlobalProtect keeps disconnecting") != std::string::npos;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  INFO(Slurp(pending));
  CHECK(seen);
  CHECK(Slurp(pending).find("\"sources\"") != std::string::npos);

  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
