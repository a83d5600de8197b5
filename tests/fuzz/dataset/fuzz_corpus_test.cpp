// Runs the dataset fuzz target over the seed corpus and deterministic random
// mutations of it, so the cleaner and redactor are fuzzed on every test run
// even without clang's libFuzzer.
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
  const auto dir = std::filesystem::path(DESKBOT_TEST_DATA_DIR) / "dataset/fuzz_corpus";
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

// Fragments that matter to the cleaner and the redactor.
const char* const kFragments[] = {
    "<p>", "</p>", "<br>", "<li>", "<blockquote>", "</div>", "<script>", "&amp;", "&#x", "&#", ";", "\n> ",
    "\n-- \n", "wrote:", "On ", "From: ", "Sent: ", "Subject: ", "-----Original Message-----", "@", ".com",
    "+44 ", "(555) ", "-", ".", "::", "192.168.", "4111 1111 1111 1111", "password: ", "pw=", "Bearer ",
    "eyJ", "AKIA", "ghp_", "xoxb-", "<EMAIL_1>", "<NAME_", "Maria", "Lopez", "\xFF", "\xC3", "\xED\xA0\x80",
    "\xE2\x80\x8B", "\r", "\t", "Hi Maria,", "Best regards,", "Sent from my iPhone", "^AK", "\0",
};

std::string Mutate(std::string s, std::mt19937& rng) {
  int steps = 1 + static_cast<int>(rng() % 6);
  for (int i = 0; i < steps; ++i) {
    std::size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 5) {
      case 0:
        if (pos < s.size()) s[pos] = static_cast<char>(rng());
        break;
      case 1: {
        const char* f = kFragments[rng() % (sizeof kFragments / sizeof kFragments[0])];
        s.insert(pos, f[0] ? std::string(f) : std::string(1, '\0'));
        break;
      }
      case 2:
        if (pos < s.size()) s.erase(pos, 1 + rng() % 8);
        break;
      case 3:
        if (!s.empty()) s.insert(pos, s.substr(rng() % s.size(), 1 + rng() % 32));
        break;
      default:
        s.resize(pos);
        break;
    }
  }
  return s;
}

}  // namespace

TEST_CASE("dataset: dataset fuzz target survives the corpus", "[fuzz]") {
  auto corpus = Corpus();
  REQUIRE(corpus.size() >= 5);
  for (const auto& input : corpus) Run(input);
  Run("");
}

TEST_CASE("dataset: dataset fuzz target survives random mutations", "[fuzz]") {
  auto corpus = Corpus();
  std::mt19937 rng(20260302);
  for (int i = 0; i < 20000; ++i) {
    std::string input = corpus[rng() % corpus.size()];
    for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n; ++k) input = Mutate(std::move(input), rng);
    Run(input);
  }
}

TEST_CASE("dataset: dataset fuzz target survives random bytes", "[fuzz]") {
  std::mt19937 rng(7);
  for (int i = 0; i < 5000; ++i) {
    std::string input(rng() % 512, '\0');
    for (char& c : input) c = static_cast<char>(rng());
    Run(input);
  }
}
