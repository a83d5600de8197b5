// The LLM AnswerModel against the fake OpenAI server, with a local model
// trained on the sample tickets for context, confidence and fallback.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "bot/llm/answer_model.h"
#include "bot/llm/poller.h"
#include "bot/llm/serving.h"
#include "bot/llm/support.h"
#include "connectors/openai/estimate.h"
#include "llm_world.h"

using namespace deskbot;
using namespace deskbot::llm;
using namespace deskbot::llm_test;
using nlohmann::json;

namespace {

std::shared_ptr<openai::Client> ClientFor(const std::string& base_url, const std::string& key,
                                          const std::string& max_tokens_field = "max_completion_tokens") {
  openai::ClientOptions o;
  o.base_url = base_url;
  o.api_key = key;
  o.max_tokens_field = max_tokens_field;
  o.retry.max_attempts = 2;
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.timeout = std::chrono::milliseconds(5000);
  o.sleep = [](std::chrono::milliseconds) {};
  auto c = openai::Client::Create(o);
  REQUIRE(c.ok());
  return std::shared_ptr<openai::Client>(std::move(c).value());
}

std::shared_ptr<const AnswerPrompt> Prompt() {
  auto p = AnswerPrompt::Load(std::string(DESKBOT_SOURCE_DIR) + "/prompts");
  REQUIRE(p.ok());
  return std::make_shared<const AnswerPrompt>(std::move(p).value());
}

// A stored training question the local model answers confidently.
std::string SupportedQuestion(Store& store, const model::LocalModel& local) {
  auto train = LoadSplit(store, Split::kTrain);
  REQUIRE(train.ok());
  for (const auto& ex : *train) {
    auto s = local.Suggest(ex.question);
    REQUIRE(s.ok());
    if (!s->abstained) return ex.question;
  }
  FAIL("the local model answers no training question");
  return "";
}

struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<Store> store = CopyWorld(dir.File("data"));
  SupportModel support;
  openai_fake::FakeOpenAI fake;
  std::shared_ptr<LlmCounters> counters = std::make_shared<LlmCounters>();

  explicit Fixture(openai_fake::FakeOptions options = {}) : fake(options) {
    auto s = LoadSupportModel(*store, dir.File("data"));
    REQUIRE(s.ok());
    REQUIRE(s->model);
    support = *s;
    REQUIRE(fake.Start().ok());
  }
  LlmAnswerModel Model(AnswerSettings settings = {}, std::string model = "gpt-4o-mini",
                       std::shared_ptr<openai::Client> client = nullptr) {
    if (!client) client = ClientFor(fake.base_url(), fake.api_key());
    return LlmAnswerModel(settings, std::move(model), "", client, support.model, Prompt(), counters);
  }
  int chats() const { return fake.CountRequests("POST", "/chat/completions"); }
};

}  // namespace

TEST_CASE("llm answer: a supported question is answered by the LLM with context, sources and cost",
          "[llm][answer]") {
  Fixture f;
  const std::string question = SupportedQuestion(*f.store, *f.support.model);
  f.fake.AddChatRule({question, "Reinstall the profile from the portal, then reboot.", "stop"});
  LlmAnswerModel llm = f.Model();
  auto s = llm.Suggest(question);
  REQUIRE(s.ok());
  CHECK_FALSE(s->abstained);
  CHECK(s->text == "Reinstall the profile from the portal, then reboot.");
  CHECK(s->model_version == "gpt-4o-mini");
  const model::Ranking ranking = f.support.model->Rank(question, 3);
  CHECK(s->confidence == Approx(ranking.confidence));
  CHECK_FALSE(s->sources.empty());

  REQUIRE(f.chats() == 1);
  json sent = json::parse(f.fake.requests().back().body);
  CHECK(sent["model"] == "gpt-4o-mini");
  CHECK(sent["temperature"] == 0.2);
  CHECK(sent["max_completion_tokens"] == 512);
  REQUIRE(sent["messages"].size() == 2);
  CHECK(sent["messages"][0]["content"].get<std::string>().find("Ticket 3\nQuestion: ") != std::string::npos);
  CHECK(sent["messages"][1]["content"] == question);

  LlmCountersSnapshot c = f.counters->Snapshot();
  CHECK(c.suggestions == 1);
  CHECK(c.requests == 1);
  CHECK(c.prompt_tokens > 50);
  CHECK(c.completion_tokens > 5);
  CHECK(c.cost_usd == Approx((c.prompt_tokens * 0.15 + c.completion_tokens * 0.60) / 1e6));
}

TEST_CASE("llm answer: no support among resolved tickets: abstains and sends nothing", "[llm][answer]") {
  Fixture f;
  const std::string question = "What is the cafeteria menu on Friday?";
  auto local = f.support.model->Suggest(question);
  REQUIRE(local.ok());
  REQUIRE(local->abstained);
  LlmAnswerModel llm = f.Model();
  auto s = llm.Suggest(question);
  REQUIRE(s.ok());
  CHECK(s->abstained);
  CHECK(s->text.empty());
  CHECK(s->confidence == Approx(local->confidence));
  CHECK(f.chats() == 0);
  CHECK(f.counters->Snapshot().abstained == 1);
  CHECK(f.counters->Snapshot().requests == 0);

  // Without any local model there is no support at all.
  LlmAnswerModel alone(AnswerSettings{}, "gpt-4o-mini", "", ClientFor(f.fake.base_url(), f.fake.api_key()),
                       nullptr, Prompt(), f.counters);
  auto a = alone.Suggest(SupportedQuestion(*f.store, *f.support.model));
  REQUIRE(a.ok());
  CHECK(a->abstained);
  CHECK(f.chats() == 0);
}

TEST_CASE("llm answer: backend down or failing: the local model answers, flagged", "[llm][answer]") {
  Fixture f;
  const std::string question = SupportedQuestion(*f.store, *f.support.model);
  auto local = f.support.model->Suggest(question);
  REQUIRE(local.ok());

  SECTION("nothing listening") {
    const std::string url = f.fake.base_url();
    f.fake.Stop();
    LlmAnswerModel llm = f.Model(AnswerSettings{}, "gpt-4o-mini", ClientFor(url, "sk-x"));
    auto s = llm.Suggest(question);
    REQUIRE(s.ok());
    CHECK(s->text == local->text);
    CHECK(s->model_version == local->model_version + " (llm unavailable)");
    CHECK(s->abstained == local->abstained);
    auto evaluated = llm.Answer(question, LlmAnswerModel::Mode::kEvaluate);
    REQUIRE_FALSE(evaluated.ok());
    CHECK(evaluated.status().code() == util::Status::Code::kUnavailable);
  }
  SECTION("a 429 storm, then recovery") {
    f.fake.InjectRateLimit(2, 1, "/chat/completions");
    f.fake.AddChatRule({question, "From the LLM.", "stop"});
    LlmAnswerModel llm = f.Model();
    auto s = llm.Suggest(question);
    REQUIRE(s.ok());
    CHECK(s->model_version.find("(llm unavailable)") != std::string::npos);
    auto after = llm.Suggest(question);
    REQUIRE(after.ok());
    CHECK(after->text == "From the LLM.");
    CHECK(after->model_version == "gpt-4o-mini");
  }
  SECTION("a malformed answer") {
    f.fake.InjectMalformed(1, "/chat/completions");
    LlmAnswerModel llm = f.Model();
    auto s = llm.Suggest(question);
    REQUIRE(s.ok());
    CHECK(s->model_version.find("(llm unavailable)") != std::string::npos);
  }
  LlmCountersSnapshot c = f.counters->Snapshot();
  CHECK(c.fallbacks == 1);
  CHECK(c.failures == 1);
}

TEST_CASE("llm answer: a backend that hangs times out and the local model answers", "[llm][answer]") {
  Fixture f;
  // Accepts connections (the kernel does) but never answers.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, 8) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/v1";
  openai::ClientOptions o;
  o.base_url = url;
  o.api_key = "sk-x";
  o.timeout = std::chrono::milliseconds(300);
  o.retry.max_attempts = 1;
  auto client = openai::Client::Create(o);
  REQUIRE(client.ok());
  LlmAnswerModel llm = f.Model(AnswerSettings{}, "gpt-4o-mini", std::shared_ptr<openai::Client>(std::move(client).value()));
  const std::string question = SupportedQuestion(*f.store, *f.support.model);
  const auto t0 = std::chrono::steady_clock::now();
  auto s = llm.Suggest(question);
  const auto waited = std::chrono::steady_clock::now() - t0;
  ::close(fd);
  REQUIRE(s.ok());
  CHECK(s->model_version.find("(llm unavailable)") != std::string::npos);
  CHECK(waited < std::chrono::seconds(5));
  CHECK(f.counters->Snapshot().fallbacks == 1);
}

TEST_CASE("llm answer: cut at max_tokens, refused or empty: abstains", "[llm][answer]") {
  Fixture f;
  const std::string question = SupportedQuestion(*f.store, *f.support.model);
  f.fake.AddChatRule({question, std::string(400, 'a') + " long answer that goes on", "stop"});
  AnswerSettings settings;
  settings.max_tokens = 5;
  LlmAnswerModel llm = f.Model(settings);
  auto a = llm.Answer(question, LlmAnswerModel::Mode::kServe);
  REQUIRE(a.ok());
  CHECK(a->usage.truncated);
  CHECK(a->suggestion.abstained);
  CHECK(a->suggestion.text.empty());
  CHECK_FALSE(a->llm_text.empty());
  CHECK(a->error == "answer cut at max_tokens");
}

TEST_CASE("llm answer: n choices are billed and the consensus answer is chosen", "[llm][answer]") {
  Fixture f;
  const std::string question = SupportedQuestion(*f.store, *f.support.model);
  f.fake.AddChatRule({question, "Restart the print spooler service.", "stop"});
  AnswerSettings settings;
  settings.n = 3;
  settings.stop = {"\n\n###"};
  LlmAnswerModel llm = f.Model(settings);
  auto a = llm.Answer(question, LlmAnswerModel::Mode::kServe);
  REQUIRE(a.ok());
  CHECK(a->suggestion.text == "Restart the print spooler service.");
  json sent = json::parse(f.fake.requests().back().body);
  CHECK(sent["n"] == 3);
  CHECK(sent["stop"] == json::array({"\n\n###"}));
  CHECK(a->usage.completion_tokens == 3 * openai::EstimateTextTokens("Restart the print spooler service."));
  // Identical samples agree fully: the confidence is the support's.
  CHECK(a->suggestion.confidence == Approx(f.support.model->Rank(question, 3).confidence));
}

TEST_CASE("llm answer: many threads share one model (as the service's workers do)", "[llm][answer]") {
  Fixture f;
  const std::string question = SupportedQuestion(*f.store, *f.support.model);
  f.fake.AddChatRule({question, "Shared answer.", "stop"});
  LlmAnswerModel llm = f.Model();
  std::atomic<int> right{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto s = llm.Suggest(question);
        if (s.ok() && s->text == "Shared answer.") ++right;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(right == 20);
  CHECK(f.counters->Snapshot().requests == 20);
  CHECK(f.chats() == 20);
}

TEST_CASE("llm answer: personal data is redacted before the question leaves", "[llm][answer]") {
  Fixture f;
  AnswerSettings settings;
  settings.min_support = 0;  // ask whatever the support
  LlmAnswerModel llm = f.Model(settings);
  auto s = llm.Suggest("I am Olivia, olivia.brandt@example.com, call +1 (614) 555-0101: my VPN keeps dropping");
  REQUIRE(s.ok());
  REQUIRE(f.chats() == 1);
  const std::string body = f.fake.requests().back().body;
  CHECK(body.find("olivia.brandt@example.com") == std::string::npos);
  CHECK(body.find("555-0101") == std::string::npos);
  CHECK(body.find("<EMAIL_1>") != std::string::npos);
}

TEST_CASE("llm serving: any OpenAI-compatible server by [llm] base_url and model", "[llm][serving]") {
  openai_fake::FakeOptions legacy;
  legacy.legacy_max_tokens_only = true;  // like older vLLM / llama.cpp servers
  Fixture f(legacy);
  const std::string question = SupportedQuestion(*f.store, *f.support.model);
  f.fake.AddChatRule({question, "Answer from the self-hosted model.", "stop"});
  const std::string key_file = f.dir.File("llm.key");
  std::ofstream(key_file) << f.fake.api_key();
  auto no_sleep = [](openai::ClientOptions& o) { o.sleep = [](std::chrono::milliseconds) {}; };

  Config config = MustConfig("data_dir = \"" + f.dir.File("data") + "\"\n[llm]\nbase_url = \"" + f.fake.base_url() +
                             "\"\nmodel = \"llama3.1:8b\"\nmax_tokens_field = \"max_tokens\"\napi_key_file = \"" +
                             key_file + "\"\n");
  auto serving = LoadLlmServing(*f.store, config, f.counters, no_sleep);
  REQUIRE(serving.ok());
  REQUIRE(serving->model);
  CHECK(serving->version == "llm:llama3.1:8b");
  CHECK(serving->support_version == SharedWorld().local_version);
  auto s = serving->model->Suggest(question);
  REQUIRE(s.ok());
  CHECK(s->text == "Answer from the self-hosted model.");
  CHECK(s->model_version == "llm:llama3.1:8b");
  CHECK(json::parse(f.fake.requests().back().body).contains("max_tokens"));
  CHECK(f.counters->Snapshot().unpriced_requests == 1);

  // The wrong output-cap field: the server refuses; the local model answers, flagged.
  Config wrong = MustConfig("data_dir = \"" + f.dir.File("data") + "\"\n[llm]\nbase_url = \"" + f.fake.base_url() +
                            "\"\nmodel = \"llama3.1:8b\"\napi_key_file = \"" + key_file + "\"\n");
  auto refused = LoadLlmServing(*f.store, wrong, f.counters, no_sleep);
  REQUIRE(refused.ok());
  auto fallback = refused->model->Suggest(question);
  REQUIRE(fallback.ok());
  CHECK(fallback->model_version.find("(llm unavailable)") != std::string::npos);

  // Neither [llm] model nor a promoted fine-tune: no LLM.
  auto none = LoadLlmServing(*f.store, MustConfig("data_dir = \"" + f.dir.File("data") + "\"\n"), f.counters);
  REQUIRE(none.ok());
  CHECK_FALSE(none->model);
}
