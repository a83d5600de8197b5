// Runs the fuzz target over the corpus and over deterministic random
// mutations of it, so the parsers are fuzzed on every test run even without
// clang's libFuzzer.
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::string> Corpus() {
  std::vector<std::string> out;
  const std::filesystem::path dir = std::filesystem::path(DESKBOT_SOURCE_DIR) / "tests/fuzz/files/corpus";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    out.push_back(ss.str());
  }
  return out;
}

void Run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

// Bytes that matter to the parsers.
constexpr char kInteresting[] = {'"', ',', '\n', '\r', '{', '}', '[', ']', ':', '\\',
                                 '.', '\xC3', '\xA9', '\xFF', '\xED', '\0'};

std::string Mutate(std::string s, std::mt19937& rng) {
  std::uniform_int_distribution<int> op(0, 4);
  int steps = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < steps; ++i) {
    std::size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (op(rng)) {
      case 0:
        if (pos < s.size()) s[pos] = static_cast<char>(rng());
        break;
      case 1:
        s.insert(pos, 1, kInteresting[rng() % sizeof kInteresting]);
        break;
      case 2:
        if (pos < s.size()) s.erase(pos, 1 + rng() % 8);
        break;
      case 3:
        s.resize(pos);
        break;
      default:
        if (!s.empty()) s.insert(pos, s.substr(rng() % s.size(), 1 + rng() % 16));
        break;
    }
  }
  return s;
}

TEST_CASE("fuzz files: corpus", "[fuzz][files]") {
  auto corpus = Corpus();
  REQUIRE(corpus.size() >= 5);
  for (const auto& input : corpus) Run(input);
  Run("");
}

TEST_CASE("fuzz files: mutated corpus", "[fuzz][files]") {
  auto corpus = Corpus();
  std::mt19937 rng(20260302);  // fixed: a failure reproduces
  for (int i = 0; i < 20000; ++i) Run(Mutate(corpus[i % corpus.size()], rng));
}

}  // namespace
