// The pure pieces of deskbot_llm: settings, pricing, counters, prompts,
// the registry record and the promotion gate.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <thread>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bot/llm/counters.h"
#include "bot/llm/gate.h"
#include "bot/llm/poller.h"
#include "bot/llm/pricing.h"
#include "bot/llm/prompt.h"
#include "bot/llm/record.h"
#include "bot/llm/settings.h"
#include "bot/llm/trainer.h"
#include "bot/model/eval.h"
#include "tests/unit/store/temp_dir.h"

using namespace deskbot;
using namespace deskbot::llm;

namespace {

Config MustConfig(const std::string& toml) {
  auto c = Config::LoadString(toml);
  REQUIRE(c.ok());
  return std::move(c).value();
}

const std::string kPrompts = std::string(DESKBOT_SOURCE_DIR) + "/prompts";

}  // namespace

TEST_CASE("settings: provider endpoint from [openai], key from a file, never from the TOML", "[llm][settings]") {
  testing::TempDir dir;
  std::ofstream(dir.File("key")) << "sk-test-secret-0123456789\n";
  Config c = MustConfig("[openai]\nbase_url = \"https://example.test/openai/\"\nauth_header = \"api-key\"\n"
                        "auth_scheme = \"\"\napi_version = \"2024-10-21\"\norganization = \"org-1\"\n"
                        "api_key_file = \"" + dir.File("key") + "\"\n");
  auto e = ProviderEndpoint(c, true);
  REQUIRE(e.ok());
  CHECK(e->client.base_url == "https://example.test/openai");
  CHECK(e->client.auth_header == "api-key");
  CHECK(e->client.auth_scheme.empty());
  CHECK(e->client.api_key == "sk-test-secret-0123456789");
  CHECK(e->client.extra_query == std::vector<std::pair<std::string, std::string>>{{"api-version", "2024-10-21"}});
  CHECK(e->client.extra_headers == std::vector<std::pair<std::string, std::string>>{{"OpenAI-Organization", "org-1"}});

  // No key: a dry run needs none, a real start names where to put it.
  Config none = MustConfig("");
  CHECK(ProviderEndpoint(none, false).ok());
  auto missing = ProviderEndpoint(none, true);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find("DESKBOT_OPENAI_API_KEY") != std::string::npos);

  Config in_file = MustConfig("[openai]\napi_key = \"sk-written-in-the-file\"\n");
  auto refused = ProviderEndpoint(in_file, true);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("must not be written in the config file") != std::string::npos);
  CHECK(refused.status().message().find("sk-written") == std::string::npos);
}

TEST_CASE("settings: the key from DESKBOT_OPENAI_API_KEY, [llm] falls back to [openai]", "[llm][settings]") {
  ::setenv("DESKBOT_OPENAI_API_KEY", "sk-from-env-0123456789", 1);
  Config c = MustConfig("[openai]\nbase_url = \"https://provider.test/v1\"\n[llm]\ntimeout_seconds = 7\n");
  auto provider = ProviderEndpoint(c, true);
  auto inference = InferenceEndpoint(c);
  ::unsetenv("DESKBOT_OPENAI_API_KEY");
  REQUIRE(provider.ok());
  REQUIRE(inference.ok());
  CHECK(provider->client.api_key == "sk-from-env-0123456789");
  CHECK(inference->client.api_key == "sk-from-env-0123456789");
  CHECK(inference->client.base_url == "https://provider.test/v1");
  CHECK(inference->client.timeout == std::chrono::seconds(7));
  CHECK(inference->client.retry.max_attempts == 2);

  // A self-hosted server: its own URL, no key needed.
  Config local = MustConfig("[llm]\nbase_url = \"http://127.0.0.1:11434/v1\"\nmodel = \"llama3.1\"\n"
                            "max_tokens_field = \"max_tokens\"\n");
  auto ollama = InferenceEndpoint(local);
  REQUIRE(ollama.ok());
  CHECK(ollama->client.base_url == "http://127.0.0.1:11434/v1");
  CHECK(ollama->client.max_tokens_field == "max_tokens");
  CHECK_FALSE(ollama->has_api_key);
}

TEST_CASE("settings: [llm.finetune] method, hyperparameters and their bounds", "[llm][settings]") {
  auto s = FineTuneSettings::FromConfig(MustConfig(
      "[llm.finetune]\nbase_model = \"gpt-4.1-mini-2025-04-14\"\nmethod = \"preference\"\nn_epochs = 3\n"
      "batch_size = \"auto\"\nlearning_rate_multiplier = 0.5\nbeta = 0.2\nseed = 7\nsuffix = \"help\"\n"));
  REQUIRE(s.ok());
  CHECK(s->base_model == "gpt-4.1-mini-2025-04-14");
  CHECK(s->method == FineTuneMethod::kPreference);
  CHECK(s->hyperparameters.n_epochs.is_value());
  CHECK(s->hyperparameters.n_epochs.value == 3);
  CHECK(s->hyperparameters.batch_size.kind == openai::HyperParam::Kind::kAuto);
  CHECK(s->hyperparameters.learning_rate_multiplier.value == 0.5);
  CHECK(s->hyperparameters.beta.value == 0.2);
  CHECK(s->seed == 7);
  CHECK(s->suffix == "help");

  auto defaults = FineTuneSettings::FromConfig(MustConfig("data_dir = \"/var/x\"\n"));
  REQUIRE(defaults.ok());
  CHECK(defaults->method == FineTuneMethod::kSupervised);
  CHECK_FALSE(defaults->hyperparameters.n_epochs.is_set());
  CHECK(defaults->seed == 42);
  CHECK(defaults->work_dir == "/var/x/finetune");

  for (const char* bad : {"n_epochs = 0", "n_epochs = 2.5", "n_epochs = \"many\"", "batch_size = 999",
                          "beta = 3", "method = \"rlhf\"", "seed = -1"}) {
    INFO(bad);
    auto r = FineTuneSettings::FromConfig(MustConfig(std::string("[llm.finetune]\n") + bad + "\n"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("llm.finetune.") != std::string::npos);
  }
  for (const char* bad : {"temperature = 3.0", "n = 0", "max_tokens = 0", "stop = [\"a\",\"b\",\"c\",\"d\",\"e\"]"}) {
    INFO(bad);
    CHECK_FALSE(AnswerSettings::FromConfig(MustConfig(std::string("[llm]\n") + bad + "\n")).ok());
  }
}

TEST_CASE("pricing: fine-tuned models priced by their family, overrides, local servers unpriced", "[llm]") {
  auto ft = PriceFor("ft:gpt-4o-mini-2024-07-18:org:deskbot:abc123", std::nullopt, std::nullopt);
  REQUIRE(ft);
  CHECK(ft->model_prefix == "ft:gpt-4o-mini");
  CHECK(CostUsd(*ft, 1'000'000, 1'000'000) == Approx(1.50));
  auto base = PriceFor("gpt-4o-2024-08-06", std::nullopt, std::nullopt);
  REQUIRE(base);
  CHECK(base->model_prefix == "gpt-4o");
  CHECK_FALSE(PriceFor("llama3.1:8b", std::nullopt, std::nullopt));
  auto custom = PriceFor("llama3.1:8b", 0.1, 0.2);
  REQUIRE(custom);
  CHECK(CostUsd(*custom, 2'000'000, 500'000) == Approx(0.3));
  CHECK(BaseOf("ft:gpt-4o-mini-2024-07-18:org:deskbot:abc") == "gpt-4o-mini-2024-07-18");
  CHECK(BaseOf("gpt-4o-mini") == "gpt-4o-mini");
}

TEST_CASE("counters: thread-safe sums rendered for /metrics", "[llm]") {
  LlmCounters c;
  AnswerUsage asked;
  asked.asked = asked.priced = true;
  asked.prompt_tokens = 120;
  asked.completion_tokens = 30;
  asked.cost_usd = 0.0000720;
  AnswerUsage fell_back;
  fell_back.asked = fell_back.failed = fell_back.fallback = true;
  AnswerUsage abstained;
  abstained.abstained = true;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i) c.Add(asked);
    });
  for (auto& t : threads) t.join();
  c.Add(fell_back);
  c.Add(abstained);
  LlmCountersSnapshot s = c.Snapshot();
  CHECK(s.suggestions == 1002);
  CHECK(s.requests == 1001);
  CHECK(s.failures == 1);
  CHECK(s.fallbacks == 1);
  CHECK(s.abstained == 1);
  CHECK(s.prompt_tokens == 120000);
  CHECK(s.completion_tokens == 30000);
  CHECK(s.cost_usd == Approx(0.072));
  const std::string text = c.RenderPrometheus();
  CHECK(text.find("# TYPE deskbot_llm_requests_total counter\ndeskbot_llm_requests_total 1001\n") != std::string::npos);
  CHECK(text.find("deskbot_llm_cost_usd_total 0.072000000\n") != std::string::npos);
  CHECK(text.find("deskbot_llm_fallbacks_total 1\n") != std::string::npos);
}

TEST_CASE("prompt: system.txt, similar tickets as context, the question", "[llm][prompt]") {
  auto prompt = AnswerPrompt::Load(kPrompts);
  REQUIRE(prompt.ok());
  auto with = prompt->Render("How do I reset my password?",
                             {{"Forgot my password", "Use https://reset.example.com", "sample", "HD-1"},
                              {"Password expired", "Change it at Ctrl+Alt+Del", "sample", "HD-2"}});
  REQUIRE(with.size() == 2);
  CHECK(with[0].role == "system");
  CHECK(with[0].content.rfind("You are deskbot", 0) == 0);
  CHECK(with[0].content.find("Ticket 1\nQuestion: Forgot my password\nAnswer: Use https://reset.example.com") !=
        std::string::npos);
  CHECK(with[0].content.find("Ticket 2\nQuestion: Password expired") != std::string::npos);
  CHECK(with[1].role == "user");
  CHECK(with[1].content == "How do I reset my password?");

  auto without = prompt->Render("<b>HTML & quotes \"stay\"</b>", {});
  CHECK(without[0].content.find("Resolved tickets") == std::string::npos);
  CHECK(without[1].content == "<b>HTML & quotes \"stay\"</b>");  // no HTML escaping

  testing::TempDir dir;
  std::filesystem::create_directories(dir.File("answer"));
  std::ofstream(dir.File("system.txt")) << "sys";
  std::ofstream(dir.File("answer/system.mustache")) << "{{#context}}unclosed";
  std::ofstream(dir.File("answer/user.mustache")) << "{{question}}";
  auto broken = AnswerPrompt::Load(dir.path().string());
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.status().message().find("answer/system.mustache") != std::string::npos);
  std::filesystem::remove(dir.File("answer/user.mustache"));
  auto missing = AnswerPrompt::Load(dir.path().string());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find("user.mustache is missing") != std::string::npos);
}

TEST_CASE("record: round trip inside metrics_json, next to the evaluation metrics", "[llm][record]") {
  ModelVersion v;
  v.id = 4;
  FineTuneRecord r = *ReadRecord(v);
  CHECK(r.phase == kPhaseCreating);
  r.phase = kPhaseRunning;
  r.method = "supervised";
  r.last_event_id = "ftevent-9";
  r.events_logged = 9;
  r.trained_tokens = 1234;
  r.estimated_cost_usd = 0.5;
  r.train_metrics = {{"step", 10}, {"train_loss", 0.25}};
  r.checkpoints.push_back({"ftckpt_1", "ft:x:ckpt-step-10", 10, {{"valid_loss", 0.3}}});
  WriteRecord(r, &v);
  model::EvalMetrics m;
  m.queries = 17;
  m.p1 = 0.8;
  WriteEvalMetrics(m, &v);
  FineTuneRecord back = *ReadRecord(v);
  CHECK(back.phase == kPhaseRunning);
  CHECK(back.last_event_id == "ftevent-9");
  CHECK(back.events_logged == 9);
  CHECK(back.trained_tokens == 1234);
  CHECK(back.train_metrics.at("train_loss") == 0.25);
  REQUIRE(back.checkpoints.size() == 1);
  CHECK(back.checkpoints[0].metrics.at("valid_loss") == 0.3);
  auto metrics = ReadEvalMetrics(v);
  REQUIRE(metrics);
  CHECK(metrics->queries == 17);
  CHECK(metrics->p1 == 0.8);
  // The top level reads like a local version's metrics.
  CHECK(nlohmann::json::parse(v.metrics_json)["p1"] == 0.8);

  ModelVersion local;
  local.metrics_json = R"({"valid": {"queries": 5, "p1": 0.6}})";
  REQUIRE(ReadEvalMetrics(local));
  CHECK(ReadEvalMetrics(local)->p1 == 0.6);
  ModelVersion corrupt;
  corrupt.metrics_json = "{not json";
  auto bad = ReadRecord(corrupt);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == util::Status::Code::kCorruption);
}

TEST_CASE("gate: first version, margin, ties, unknown metric, nothing to judge", "[llm][gate]") {
  GateSettings g;  // p1, margin 0.01
  model::EvalMetrics cand;
  cand.queries = 20;
  cand.p1 = 0.85;
  auto first = ApplyGate(cand, std::nullopt, "none", g);
  CHECK(first.promote);
  CHECK(first.note.find("no version was promoted") != std::string::npos);

  model::EvalMetrics inc;
  inc.queries = 20;
  inc.p1 = 0.80;
  auto better = ApplyGate(cand, inc, "version 1, local", g);
  CHECK(better.promote);
  CHECK(better.note == "promoted: p1 0.850 >= 0.800 (version 1, local) + margin 0.010 on 20 validation pairs");
  inc.p1 = 0.845;
  auto within_margin = ApplyGate(cand, inc, "version 1, local", g);
  CHECK_FALSE(within_margin.promote);
  CHECK(within_margin.note.rfind("not promoted: p1 0.850 < 0.845", 0) == 0);
  inc.p1 = 0.84;  // exactly the margin: reached
  CHECK(ApplyGate(cand, inc, "v1", g).promote);

  g.gate_metric = "coverage";
  cand.coverage = 0.5;
  inc.coverage = 0.6;
  CHECK_FALSE(ApplyGate(cand, inc, "v1", g).promote);
  g.gate_metric = "bogus";
  CHECK(ApplyGate(cand, inc, "v1", g).note == "not promoted: unknown gate metric 'bogus'");
  model::EvalMetrics empty;
  CHECK_FALSE(ApplyGate(empty, std::nullopt, "none", GateSettings{}).promote);
}

TEST_CASE("poller: training progress reads as counts and losses", "[llm]") {
  CHECK(deskbot::llm::TrainingProgress({{"step", 12}, {"total_steps", 30}, {"train_loss", 0.3125}}) ==
        "step 12/30, train_loss 0.3125");
  // Big jobs: steps stay whole numbers.
  CHECK(deskbot::llm::TrainingProgress({{"step", 12345}, {"total_steps", 200000}, {"valid_loss", 1.23456}}) ==
        "step 12345/200000, valid_loss 1.235");
  CHECK(deskbot::llm::TrainingProgress({{"train_loss", 2.5e-05}}) == "train_loss 2.5e-05");
  CHECK(deskbot::llm::TrainingProgress({{"train_mean_token_accuracy", 0.5}}).empty());
}
