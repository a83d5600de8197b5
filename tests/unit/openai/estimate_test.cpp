#include <catch2/catch.hpp>
#include <sstream>

#include "connectors/openai/estimate.h"
#include "test_util.h"

using namespace openai;

TEST_CASE("openai: estimate: text heuristic", "[openai][estimate]") {
  CHECK(EstimateTextTokens("") == 0);
  CHECK(EstimateTextTokens("abcd") == 1);
  CHECK(EstimateTextTokens("abcde") == 2);        // partial tokens round up
  CHECK(EstimateTextTokens("caf\u00e9 \u00fcber") == 4);  // 7 ASCII -> 2, + 2 accented
  CHECK(EstimateTextTokens("\u65e5\u672c\u8a9e") == 3);   // one per CJK character
}

TEST_CASE("openai: estimate: auto epochs follow the service's rule", "[openai][estimate]") {
  CHECK(AutoEpochs(3) == 25);      // 100 / 3 = 33, capped at 25
  CHECK(AutoEpochs(10) == 10);     // 100 / 10
  CHECK(AutoEpochs(50) == 3);
  CHECK(AutoEpochs(9000) == 2);    // 25000 / 9000
  CHECK(AutoEpochs(100000) == 1);
}

// tests/data/openai/training/estimate_small.jsonl, by hand:
//   1: 3 + (4 + 40/4) + (4 + 80/4)                  = 41
//   2: 3 + (4 + 8/4) + (4 + ceil(13/4)) + (4 + 4/4)  = 22
//   3: 3 + (4 + "café über" 4) + (4 + "日本語" 3)    = 18
TEST_CASE("openai: estimate: numbers on a small file", "[openai][estimate]") {
  EstimateOptions options;
  options.base_model = "gpt-4o-mini-2024-07-18";
  auto est = EstimateTrainingFile(openai_test::DataPath("training/estimate_small.jsonl"), options);
  REQUIRE(est.ok());
  CHECK(est->examples == 3);
  CHECK(est->tokens_total == 81);
  CHECK(est->tokens_min == 18);
  CHECK(est->tokens_max == 41);
  CHECK(est->tokens_mean == Approx(27.0));
  CHECK(est->epochs_auto);
  CHECK(est->n_epochs == 25);
  CHECK(est->billable_tokens_per_epoch == 81);
  CHECK(est->billable_tokens == 81 * 25);
  CHECK(est->priced_as == "gpt-4o-mini");  // longest prefix beats "gpt-4o"
  REQUIRE(est->cost_usd.has_value());
  CHECK(*est->cost_usd == Approx(2025 * 3.00 / 1e6));
  CHECK(est->Summary().find("estimate: 3 chat examples, ~81 tokens") == 0);
  CHECK(est->Summary().find("25 epochs (auto) = ~2,025 billable tokens") != std::string::npos);

  options.n_epochs = HyperParam::Of(2);
  options.base_model = "ft:gpt-4o-2024-08-06:acme:desk:abc123";  // priced as its base
  options.pricing = {{"gpt-4o", 10.0, 30}, {"gpt-4o-mini", 1.0, 0}};
  est = EstimateTrainingFile(openai_test::DataPath("training/estimate_small.jsonl"), options);
  REQUIRE(est.ok());
  CHECK(est->priced_as == "gpt-4o");
  CHECK(est->examples_over_limit == 1);               // the 41-token example
  CHECK(est->billable_tokens_per_epoch == 30 + 22 + 18);
  CHECK(est->billable_tokens == 140);
  CHECK(*est->cost_usd == Approx(140 * 10.0 / 1e6));
  CHECK_FALSE(est->epochs_auto);

  options.base_model = "my-local-llama";
  est = EstimateTrainingFile(openai_test::DataPath("training/estimate_small.jsonl"), options);
  REQUIRE(est.ok());
  CHECK_FALSE(est->cost_usd.has_value());
  CHECK(est->Summary().find("no price known") != std::string::npos);
}

TEST_CASE("openai: estimate: preference data counts prompt and both outputs", "[openai][estimate]") {
  std::istringstream in(
      R"({"input":{"messages":[{"role":"user","content":"abcdabcd"}]},)"
      R"("preferred_output":[{"role":"assistant","content":"abcd"}],)"
      R"("non_preferred_output":[{"role":"assistant","content":"abcdabcdabcd"}]})"
      "\n");
  EstimateOptions options;
  options.base_model = "gpt-4.1-mini-2025-04-14";
  options.n_epochs = HyperParam::Of(1);
  auto est = EstimateTraining(in, options);
  REQUIRE(est.ok());
  CHECK(est->format == TrainingFormat::kPreference);
  CHECK(est->tokens_total == 3 + (4 + 2) + (4 + 1) + (4 + 3));
  CHECK(est->priced_as == "gpt-4.1-mini");
}

TEST_CASE("openai: estimate: bad input is refused with the line", "[openai][estimate]") {
  std::istringstream in("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"}]}\n{oops\n");
  auto est = EstimateTraining(in, {});
  REQUIRE_FALSE(est.ok());
  CHECK(est.status().message() == "line 2: not valid JSON");
  EstimateOptions zero;
  zero.n_epochs = HyperParam::Of(0);
  std::istringstream empty("");
  CHECK_FALSE(EstimateTraining(empty, zero).ok());
  CHECK_FALSE(EstimateTrainingFile("/nonexistent.jsonl", {}).ok());
}
