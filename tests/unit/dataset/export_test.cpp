// Export formats: each line valid JSON of the right shape; legacy separator
// and stop exactly once; leading space; prompts from files.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bot/dataset/export.h"
#include "bot/dataset/validate.h"

using namespace deskbot;
using namespace deskbot::dataset;
using nlohmann::json;

namespace {

PromptSet RepoPrompts() {
  auto p = PromptSet::Load(std::string(DESKBOT_SOURCE_DIR) + "/prompts");
  REQUIRE(p.ok());
  return *p;
}

RedactedPair RP(std::string q, std::string a) {
  Pair p;
  p.source = "test";
  p.ticket_external_id = "1";
  p.question = std::move(q);
  p.answer = std::move(a);
  return Redactor::Redact(p, {}, nullptr);
}

size_t Count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = s.find(needle); pos != std::string::npos; pos = s.find(needle, pos + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("dataset: the repo's prompts load and render", "[export]") {
  PromptSet p = RepoPrompts();
  CHECK(p.system.find("deskbot") != std::string::npos);
  CHECK(p.user.find("{{question}}") != std::string::npos);
  auto found = FindPromptsDir("");
  REQUIRE(found.ok());
  CHECK(std::filesystem::exists(*found + "/system.txt"));
  CHECK_FALSE(FindPromptsDir("/nonexistent/prompts").ok());
  CHECK_FALSE(PromptSet::Load("/nonexistent").ok());
}

TEST_CASE("dataset: chat export: system, user, assistant, escaping, UTF-8", "[export]") {
  auto r = ExampleRenderer::Create(RepoPrompts(), {});
  REQUIRE(r.ok());
  std::string line;
  CHECK(r->Chat(RP("Quote \"this\" and a\\b\nnew line? Café", "Tab\there <b>ok</b> \x01"), &line).empty());
  json j = json::parse(line);
  REQUIRE(j["messages"].size() == 3);
  CHECK(j["messages"][0]["role"] == "system");
  CHECK(j["messages"][1]["role"] == "user");
  CHECK(j["messages"][1]["content"] == "Quote \"this\" and a\\b\nnew line? Café");
  CHECK(j["messages"][2]["role"] == "assistant");
  CHECK(j["messages"][2]["content"] == "Tab\there <b>ok</b> \x01");
  CHECK(line.find('\n') == std::string::npos);
}

TEST_CASE("dataset: completion export: one separator, leading space, one stop", "[export]") {
  auto r = ExampleRenderer::Create(RepoPrompts(), {});
  REQUIRE(r.ok());
  std::string line;
  REQUIRE(r->Completion(RP("How do I map drive H?", "  Use Map network drive.  "), &line).empty());
  json j = json::parse(line);
  std::string prompt = j["prompt"], completion = j["completion"];
  CHECK(prompt == "How do I map drive H?\n\n###\n\n");
  CHECK(completion == " Use Map network drive. END");
  CHECK(Count(prompt, "\n\n###\n\n") == 1);
  CHECK(Count(completion, " END") == 1);
  CHECK(completion[0] == ' ');
  CHECK(completion[1] != ' ');
  // Texts holding a marker are skipped, not altered.
  CHECK(r->Completion(RP("Heading\n\n###\n\nbody", "answer text"), &line) == kSkipSeparator);
  CHECK(r->Completion(RP("question text", "press END to finish"), &line) == kSkipStop);
  CHECK(r->Completion(RP("question ends with\n\n###", "answer text"), &line) == kSkipSeparator);
}

TEST_CASE("dataset: preference export has the DPO shape", "[export]") {
  auto r = ExampleRenderer::Create(RepoPrompts(), {});
  REQUIRE(r.ok());
  PreferencePair p;
  p.question = "Reset password for bob@example.com";
  p.preferred = "Use the self-service portal.";
  p.rejected = "Call the desk.";
  std::string line;
  REQUIRE(r->Preference(Redactor::Redact(p, nullptr), &line).empty());
  json j = json::parse(line);
  CHECK(j["input"]["messages"].back()["role"] == "user");
  CHECK(j["input"]["messages"].back()["content"] == "Reset password for <EMAIL_1>");
  CHECK(j["preferred_output"].size() == 1);
  CHECK(j["preferred_output"][0]["role"] == "assistant");
  CHECK(j["preferred_output"][0]["content"] == "Use the self-service portal.");
  CHECK(j["non_preferred_output"][0]["content"] == "Call the desk.");
  p.rejected = p.preferred;
  CHECK(r->Preference(Redactor::Redact(p, nullptr), &line) == kSkipIdentical);
}

TEST_CASE("dataset: templates are files: a custom prompts dir changes the layout", "[export]") {
  auto dir = std::filesystem::temp_directory_path() / "deskbot_prompts_test";
  std::filesystem::create_directories(dir / "finetune");
  std::ofstream(dir / "system.txt") << "SYS\n";
  std::ofstream(dir / "finetune/user.mustache") << "Ticket {{ticket}} ({{source}}): {{question}}\n";
  std::ofstream(dir / "finetune/assistant.mustache") << "A: {{answer}} <&>\n";
  std::ofstream(dir / "finetune/completion_prompt.mustache") << "Q: {{question}}\n";
  std::ofstream(dir / "finetune/completion.mustache") << "{{answer}}\n";
  auto prompts = PromptSet::Load(dir.string());
  REQUIRE(prompts.ok());
  auto r = ExampleRenderer::Create(*prompts, {"\n->\n", "\n<END>"});
  REQUIRE(r.ok());
  std::string line;
  REQUIRE(r->Chat(RP("why <x>?", "because & so"), &line).empty());
  json j = json::parse(line);
  CHECK(j["messages"][0]["content"] == "SYS");
  CHECK(j["messages"][1]["content"] == "Ticket 1 (test): why <x>?");
  CHECK(j["messages"][2]["content"] == "A: because & so <&>");  // no HTML escaping
  REQUIRE(r->Completion(RP("why?", "because"), &line).empty());
  j = json::parse(line);
  CHECK(j["prompt"] == "Q: why?\n->\n");
  CHECK(j["completion"] == " because\n<END>");
  std::ofstream(dir / "finetune/user.mustache") << "{{#unclosed}}";
  auto broken = PromptSet::Load(dir.string());
  REQUIRE(broken.ok());
  CHECK_FALSE(ExampleRenderer::Create(*broken, {}).ok());
  std::filesystem::remove_all(dir);
}

TEST_CASE("dataset: JsonlWriter writes atomically", "[export]") {
  auto path = (std::filesystem::temp_directory_path() / "deskbot_writer_test.jsonl").string();
  std::filesystem::remove(path);
  {
    auto w = JsonlWriter::Open(path);
    REQUIRE(w.ok());
    REQUIRE((*w)->Write("{\"a\":1}").ok());
    CHECK_FALSE(std::filesystem::exists(path));  // not visible until committed
  }
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));  // abandoned temp removed
  {
    auto w = JsonlWriter::Open(path);
    REQUIRE(w.ok());
    REQUIRE((*w)->Write("{\"a\":1}").ok());
    REQUIRE((*w)->Write("{\"a\":2}").ok());
    REQUIRE((*w)->Commit().ok());
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  CHECK(ss.str() == "{\"a\":1}\n{\"a\":2}\n");
  CHECK_FALSE(JsonlWriter::Open("/nonexistent-dir/x.jsonl").ok());
  std::filesystem::remove(path);
}
