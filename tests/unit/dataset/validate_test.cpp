// Validation of examples and of JSONL lines.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "bot/dataset/tokens.h"
#include "bot/dataset/validate.h"

using namespace deskbot::dataset;

TEST_CASE("dataset: token estimate: chars/4 or words+symbols, whichever is larger", "[validate][tokens]") {
  CHECK(EstimateTokens("") == 0);
  CHECK(EstimateTokens("hello") == 2);                  // ceil(5/4) = 2 > 1 word
  CHECK(EstimateTokens("a b c d") == 4);                // 4 words > ceil(7/4)
  CHECK(EstimateTokens("/etc/ssh/sshd_config") == 8);   // 4 words + 4 symbols ("/" x3, "_") > ceil(20/4)
  CHECK(EstimateTokens(std::string(400, 'x')) == 100);
  CHECK(EstimateChatTokens({"a", "b"}) == 3 + (1 + 4) * 2);
}

TEST_CASE("dataset: Summarize: nearest-rank percentiles", "[validate]") {
  std::vector<std::int32_t> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);
  Distribution d = Summarize(v);
  CHECK(d.count == 100);
  CHECK(d.min == 1);
  CHECK(d.max == 100);
  CHECK(d.p50 == 50);
  CHECK(d.p95 == 95);
  CHECK(d.mean == Approx(50.5));
  std::vector<std::int32_t> empty;
  CHECK(Summarize(empty).count == 0);
}

TEST_CASE("dataset: chat lines: valid, invalid JSON, unknown keys, roles, missing assistant", "[validate]") {
  ValidationOptions o;
  o.min_examples = 1;
  Validator v(o);
  v.AddJsonLine(R"({"messages":[{"role":"system","content":"s"},{"role":"user","content":"How?"},{"role":"assistant","content":"Like this."}]})", 1);
  v.AddJsonLine(R"({"messages":[{"role":"user","content":"How?"},{"role":"assistant","content":"Like this."}]})", 2);  // duplicate
  v.AddJsonLine(R"({"messages":[{"role":"user","content":"x"}]})", 3);
  v.AddJsonLine(R"({"messages":[{"role":"robot","content":"x"},{"role":"assistant","content":"y"}]})", 4);
  v.AddJsonLine(R"({"messages":[],"extra":1})", 5);
  v.AddJsonLine(R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","content":""}]})", 6);
  v.AddJsonLine("{not json", 7);
  v.AddJsonLine("", 8);
  v.AddJsonLine(R"([1,2])", 9);
  ValidationReport r = v.Finish();
  CHECK(r.examples == 3);
  CHECK(r.lines == 8);
  CHECK(r.invalid_json == 2);
  CHECK(r.blank_lines == 1);
  CHECK(r.duplicates == 1);
  CHECK(r.empty_completions == 1);
  CHECK(r.format_errors.at("no_assistant") == 1);
  CHECK(r.format_errors.at("bad_role") == 1);
  CHECK(r.format_errors.at("unknown_key") == 1);
  CHECK(r.format_errors.at("missing_messages") == 1);
  CHECK_FALSE(r.ok());
  CHECK_FALSE(r.problems.empty());
  auto j = nlohmann::json::parse(r.ToJson());
  CHECK(j["examples"] == 3);
  CHECK(j["ok"] == false);
  CHECK(r.ToText().find("PROBLEMS FOUND") != std::string::npos);
}

TEST_CASE("dataset: completion lines: separator and stop conventions", "[validate]") {
  ValidationOptions o;
  o.format = ExportFormat::kCompletion;
  o.min_examples = 1;
  Validator v(o);
  v.AddJsonLine(R"({"prompt":"How?\n\n###\n\n","completion":" Like this. END"})", 1);
  v.AddJsonLine(R"({"prompt":"How?","completion":" Like this. END"})", 2);                       // no separator
  v.AddJsonLine(R"({"prompt":"A\n\n###\n\nB\n\n###\n\n","completion":" x END"})", 3);           // twice
  v.AddJsonLine(R"({"prompt":"Q\n\n###\n\n","completion":"no space END"})", 4);                  // no space
  v.AddJsonLine(R"({"prompt":"Q2\n\n###\n\n","completion":" no stop"})", 5);                     // no stop
  v.AddJsonLine(R"({"prompt":"Q3\n\n###\n\n","completion":" press END to finish END"})", 6);     // stop inside
  ValidationReport r = v.Finish();
  CHECK(r.missing_separator == 1);
  CHECK(r.separator_in_text == 1);
  CHECK(r.missing_leading_space == 1);
  CHECK(r.missing_stop == 1);
  CHECK(r.stop_in_text == 1);
  CHECK_FALSE(r.ok());

  Validator good(o);
  good.AddJsonLine(R"({"prompt":"How?\n\n###\n\n","completion":" Like this. END"})", 1);
  CHECK(good.Finish().ok());
}

TEST_CASE("dataset: preference lines", "[validate]") {
  ValidationOptions o;
  o.format = ExportFormat::kPreference;
  o.min_examples = 1;
  Validator v(o);
  v.AddJsonLine(R"({"input":{"messages":[{"role":"user","content":"q"}]},"preferred_output":[{"role":"assistant","content":"good"}],"non_preferred_output":[{"role":"assistant","content":"bad"}]})", 1);
  v.AddJsonLine(R"({"input":{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]},"preferred_output":[{"role":"assistant","content":"good"}],"non_preferred_output":[{"role":"assistant","content":"bad"}]})", 2);
  v.AddJsonLine(R"({"input":{"messages":[{"role":"user","content":"q"}]},"preferred_output":[{"role":"assistant","content":"same"}],"non_preferred_output":[{"role":"assistant","content":"same"}]})", 3);
  v.AddJsonLine(R"({"input":{"messages":[{"role":"user","content":"q"}]},"preferred_output":[],"non_preferred_output":[{"role":"assistant","content":"bad"}]})", 4);
  ValidationReport r = v.Finish();
  CHECK(r.examples == 1);
  CHECK(r.format_errors.at("input_ends_with_assistant") == 1);
  CHECK(r.format_errors.at("identical_outputs") == 1);
  CHECK(r.format_errors.at("bad_preferred_output") == 1);
}

TEST_CASE("dataset: token limit, few examples and billable tokens", "[validate]") {
  ValidationOptions o;
  o.token_limit = 50;
  o.epochs = 2;
  Validator v(o);
  v.AddExample("short question", "short answer", 20);
  v.AddExample("long question", "long answer", 80);
  ValidationReport r = v.Finish();
  CHECK(r.over_token_limit == 1);
  CHECK(r.total_tokens == 100);
  CHECK(r.billable_tokens == 200);
  CHECK(r.tokens.max == 80);
  CHECK_FALSE(r.ok());
  REQUIRE(r.warnings.size() >= 2);
  CHECK(r.warnings[0].find("at least 10") != std::string::npos);
}
