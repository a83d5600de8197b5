#include <catch2/catch.hpp>
#include <sstream>

#include "connectors/openai/training_data.h"
#include "test_util.h"

using namespace openai;

namespace {
std::string Compact(const std::string& pretty) {
  std::string out;
  bool in_string = false;
  for (std::size_t i = 0; i < pretty.size(); ++i) {
    char c = pretty[i];
    if (c == '"' && (i == 0 || pretty[i - 1] != '\\')) in_string = !in_string;
    if (!in_string && (c == '\n' || c == ' ')) continue;
    out += c;
  }
  return out;
}
}  // namespace

TEST_CASE("openai: training lines: the documented examples are valid", "[openai][training]") {
  auto chat = Compact(openai_test::ReadData("training_data/chat_line_example.json"));
  CHECK(DetectTrainingFormat(chat).value() == TrainingFormat::kChat);
  CHECK(ValidateTrainingLine(chat, TrainingFormat::kChat).ok());  // tool call, no content

  auto dpo = Compact(openai_test::ReadData("training_data/dpo_preference_line_example.json"));
  CHECK(DetectTrainingFormat(dpo).value() == TrainingFormat::kPreference);
  CHECK(ValidateTrainingLine(dpo, TrainingFormat::kPreference).ok());

  auto legacy = Compact(openai_test::ReadData("training_data/legacy_prompt_completion_line_example.json"));
  CHECK(DetectTrainingFormat(legacy).value() == TrainingFormat::kPromptCompletion);
  CHECK(ValidateTrainingLine(legacy, TrainingFormat::kPromptCompletion).ok());

  // A format mismatch is caught.
  CHECK_FALSE(ValidateTrainingLine(dpo, TrainingFormat::kChat).ok());
}

TEST_CASE("openai: training lines: what validating_files refuses", "[openai][training]") {
  struct Case {
    const char* line;
    const char* why;
  };
  const Case cases[] = {
      {"not json", "not valid JSON"},
      {"[1]", "not a JSON object"},
      {R"({"messages":[]})", "is empty"},
      {R"({"messages":[{"role":"user","content":"hi"}]})", "no assistant message"},
      {R"({"messages":[{"role":"bot","content":"hi"},{"role":"assistant","content":"x"}]})", "role is not one of"},
      {R"({"messages":[{"role":"user"},{"role":"assistant","content":"x"}]})", "message 1: no \"content\""},
      {R"({"messages":[{"role":"user","content":"a","extra":1},{"role":"assistant","content":"x"}]})", "unknown key \"extra\""},
      {R"({"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"x","weight":2}]})", "weight must be 0 or 1"},
      {R"({"messages":[{"role":"user","content":5},{"role":"assistant","content":"x"}]})", "neither a string"},
      {R"({"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"x"}],"note":"x"})", "unknown key \"note\""},
  };
  for (const Case& c : cases) {
    INFO(c.line);
    util::Status st = ValidateTrainingLine(c.line, TrainingFormat::kChat);
    REQUIRE_FALSE(st.ok());
    CHECK(st.message().find(c.why) != std::string::npos);
  }
  const Case dpo_cases[] = {
      {R"({"input":{"messages":[{"role":"user","content":"q"}]},"preferred_output":[{"role":"assistant","content":"a"}]})", "no \"non_preferred_output\""},
      {R"({"input":{"messages":[{"role":"user","content":"q"}]},"preferred_output":[],"non_preferred_output":[{"role":"assistant","content":"b"}]})", "exactly one"},
      {R"({"input":{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]},"preferred_output":[{"role":"assistant","content":"a"}],"non_preferred_output":[{"role":"assistant","content":"b"}]})", "must not end with an assistant"},
      {R"({"input":{"messages":[{"role":"user","content":"q"}]},"preferred_output":[{"role":"user","content":"a"}],"non_preferred_output":[{"role":"assistant","content":"b"}]})", "role must be assistant"},
  };
  for (const Case& c : dpo_cases) {
    INFO(c.line);
    util::Status st = ValidateTrainingLine(c.line, TrainingFormat::kPreference);
    REQUIRE_FALSE(st.ok());
    CHECK(st.message().find(c.why) != std::string::npos);
  }
}

TEST_CASE("openai: training files: whole-file checks name the line", "[openai][training]") {
  auto good = ValidateTrainingFile(openai_test::DataPath("training/chat_small.jsonl"));
  REQUIRE(good.ok());
  CHECK(good->examples == 12);
  CHECK(good->format == TrainingFormat::kChat);

  auto dpo = ValidateTrainingFile(openai_test::DataPath("training/dpo_small.jsonl"));
  REQUIRE(dpo.ok());
  CHECK(dpo->format == TrainingFormat::kPreference);
  CHECK(dpo->examples == 10);

  auto bad = ValidateTrainingFile(openai_test::DataPath("training/chat_bad_line3.jsonl"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("line 3: no assistant message") != std::string::npos);

  std::istringstream trailing_blank("{\"prompt\":\"a\",\"completion\":\"b\"}\n\n");
  auto blank = ValidateTrainingData(trailing_blank);
  REQUIRE_FALSE(blank.ok());
  CHECK(blank.status().message() == "line 2 is empty");

  std::istringstream crlf("{\"prompt\":\"a\",\"completion\":\"b\"}\r\n{\"prompt\":\"c\",\"completion\":\"d\"}\r\n");
  auto crlf_ok = ValidateTrainingData(crlf);
  REQUIRE(crlf_ok.ok());
  CHECK(crlf_ok->examples == 2);

  // A chat line in a file declared as preference data.
  TrainingFormat want = TrainingFormat::kPreference;
  auto mismatch = ValidateTrainingFile(openai_test::DataPath("training/chat_small.jsonl"), &want);
  REQUIRE_FALSE(mismatch.ok());
  CHECK(mismatch.status().message().find("line 1:") != std::string::npos);
}

TEST_CASE("openai: training errors never repeat the example's text", "[openai][training]") {
  util::Status st = ValidateTrainingLine(
      R"({"messages":[{"role":"user","content":"my password is hunter2"}]})", TrainingFormat::kChat);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message().find("hunter2") == std::string::npos);
}
