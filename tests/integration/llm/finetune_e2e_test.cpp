// Fine-tuned LLMs end to end, as an operator runs them: the deskbot binary
// harvests the repo's sample tickets through the files source, builds the
// dataset, dry-runs and starts a fine-tuning job at the fake OpenAI server,
// polls it to success, evaluation and promotion; the promoted fine-tune then
// answers with its model id -- directly and in the web chat, where an agent
// approves it.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bot/chat/webchat.h"
#include "bot/llm/record.h"
#include "bot/llm/serving.h"
#include "bot/service/service.h"
#include "tests/integration/webchat/harness.h"
#include "tests/integration/webchat/process.h"
#include "tests/unit/llm/llm_world.h"

using namespace deskbot;
using namespace deskbot::llm;
using namespace deskbot::llm_test;
using nlohmann::json;

namespace {

const std::string kDeskbot = std::string(DESKBOT_BINARY_DIR) + "/bot/cli/deskbot";

struct Run {
  int status = -1;
  std::string output;  // stdout and stderr
};

Run Deskbot(const testing::TempDir& dir, const std::string& args, const std::string& env = "") {
  const std::string cmd = "cd '" + dir.path().string() + "' && " + env + " '" + kDeskbot + "' -c deskbot.toml " +
                          args + " 2>&1";
  Run run;
  std::FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) run.output.append(buf, n);
  const int rc = pclose(p);
  run.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return run;
}

bool Has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

struct Operator {
  testing::TempDir dir;
  openai_fake::FakeOpenAI fake;
  std::string data_dir = dir.File("data");
  std::string key_env;

  Operator() {
    REQUIRE(fake.Start().ok());
    key_env = "DESKBOT_OPENAI_API_KEY='" + fake.api_key() + "'";
    std::ofstream(dir.File("deskbot.toml"))
        << "data_dir = \"" << data_dir << "\"\n"
        << "[[sources]]\nname = \"sample\"\ntype = \"files\"\npath = \"" << kSampleTickets << "\"\n"
        << "[openai]\nbase_url = \"" << fake.base_url() << "\"\n"
        << "[llm.finetune]\nbase_model = \"gpt-4o-mini-2024-07-18\"\nsuffix = \"helpdesk\"\nn_epochs = 3\n";
  }
  Run operator()(const std::string& args, bool with_key = true) { return Deskbot(dir, args, with_key ? key_env : ""); }
  Config config() {
    auto c = Config::LoadFile(dir.File("deskbot.toml"));
    REQUIRE(c.ok());
    return std::move(c).value();
  }
  void Harvested() {
    Run harvest = (*this)("harvest --source sample", false);
    INFO(harvest.output);
    REQUIRE(harvest.status == 0);
    Run build = (*this)("dataset build", false);
    INFO(build.output);
    REQUIRE(build.status == 0);
  }
};

// The web chat of an in-process service over `store`, answering with `model`.
struct WebChatService {
  std::unique_ptr<service::Service> service;
  std::unique_ptr<chat::WebChat> webchat;

  WebChatService(Store& store, std::shared_ptr<const AnswerModel> model, std::string version) {
    service::ServiceOptions o;
    o.port = 0;
    o.workers.poll = std::chrono::milliseconds(100);
    o.outbox.poll = std::chrono::milliseconds(100);
    const service::AgentCheck is_agent = service::AgentIds({"alice"});
    o.workflow.is_agent = is_agent;
    service::ServiceDeps deps;
    deps.store = &store;
    deps.load_model = [model, version]() -> util::Result<service::ModelSlot::Loaded> {
      return service::ModelSlot::Loaded{model, version};
    };
    service = std::make_unique<service::Service>(o, deps);
    chat::WebChatOptions w;
    w.is_agent = [is_agent](const std::string& u) { return is_agent("webchat", u); };
    webchat = std::make_unique<chat::WebChat>(store, service->inbox(), w);
    service->AddConnector(*webchat, webchat->Routes());
    REQUIRE(service->Start().ok());
  }
  ~WebChatService() { service->Stop(); }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(service->port()); }
};

}  // namespace

TEST_CASE("llm e2e: harvest, dataset, fine-tune, evaluate, promote, answer in the web chat",
          "[integration][llm]") {
  Operator op;
  op.Harvested();

  // A local model to lean on (context, confidence, fallback): the first
  // version, promoted by the model registry's gate.
  Run train = op("train", false);
  INFO(train.output);
  REQUIRE(train.status == 0);
  const std::int64_t local_version = 1;

  // Dry run: files, example count, tokens and cost -- and not one request.
  Run dry = op("finetune start --dry-run", /*with_key=*/false);
  INFO(dry.output);
  REQUIRE(dry.status == 0);
  CHECK(Has(dry.output, "Dry run: nothing was sent."));
  CHECK(Has(dry.output, "Fine-tuning (supervised) of gpt-4o-mini-2024-07-18 on dataset snapshot 1"));
  CHECK(Has(dry.output, "train.jsonl ("));
  CHECK(Has(dry.output, "~"));
  CHECK(Has(dry.output, "x 3 epochs"));
  CHECK(Has(dry.output, "estimated cost:  $"));
  CHECK(op.fake.requests().empty());

  // Without a key a real start stops before sending anything.
  Run keyless = op("finetune start", /*with_key=*/false);
  CHECK(keyless.status == 1);
  CHECK(Has(keyless.output, "deskbot: invalid argument: config: no API key for the fine-tuning provider: set "
                            "DESKBOT_OPENAI_API_KEY or openai.api_key_file"));
  CHECK(op.fake.requests().empty());

  // The fine-tuned model will know the validation answers.
  {
    auto store = MustOpen(op.data_dir);
    TeachValidAnswers(op.fake, *store);
  }

  Run start = op("finetune start");
  INFO(start.output);
  REQUIRE(start.status == 0);
  CHECK(Has(start.output, "Registered model version 2: job ftjob-"));
  CHECK_FALSE(Has(start.output, op.fake.api_key()));
  Run status = op("finetune status", false);
  CHECK(Has(status.output, "version 2  candidate  running  supervised on gpt-4o-mini-2024-07-18"));

  std::string polled;
  for (int i = 0; i < 5 && !Has(polled, "evaluated (1 promoted)"); ++i) {
    Run poll = op("finetune poll");
    INFO(poll.output);
    REQUIRE(poll.status == 0);
    polled = poll.output;
  }
  CHECK(Has(polled, "promoted: p1 1.000 >= "));
  CHECK(Has(polled, "(version " + std::to_string(local_version) + ", local)"));

  Run after = op("finetune status", false);
  INFO(after.output);
  CHECK(Has(after.output, "version 2  promoted  done  supervised on gpt-4o-mini-2024-07-18"));
  CHECK(Has(after.output, "model: ft:gpt-4o-mini-2024-07-18:deskbot:helpdesk:"));
  CHECK(Has(after.output, "validation: p1 1.000"));

  // The promoted fine-tune answers, labelled with its model id.
  auto store = MustOpen(op.data_dir);
  const ModelVersion promoted = Version(*store, 2);
  REQUIRE(promoted.state == ModelState::kPromoted);
  const std::string ft_model = ReadRecord(promoted)->fine_tuned_model;
  auto counters = std::make_shared<LlmCounters>();
  ::setenv("DESKBOT_OPENAI_API_KEY", op.fake.api_key().c_str(), 1);  // as the service's environment has it
  auto serving = LoadLlmServing(*store, op.config(), counters);
  ::unsetenv("DESKBOT_OPENAI_API_KEY");
  REQUIRE(serving.ok());
  REQUIRE(serving->model);
  CHECK(serving->version == "2:" + ft_model);
  auto valid = LoadSplit(*store, Split::kValid);
  REQUIRE(valid.ok());
  std::string question, expected;
  for (const auto& ex : *valid) {
    auto s = serving->model->Suggest(ex.question);
    REQUIRE(s.ok());
    CHECK(s->model_version == serving->version);
    if (!s->abstained) {
      CHECK(s->text == ex.answer);
      question = ex.question;
      expected = ex.answer;
      break;
    }
  }
  REQUIRE_FALSE(question.empty());

  // In the web chat: asked, suggested by the fine-tune, approved by an agent.
  {
    WebChatService web(*store, serving->model, serving->version);
    testing::Api api(web.base());
    testing::Reply asked = api.Post("/api/questions", {{"text", question}, {"user", "carol"}, {"client_id", "q-1"}});
    REQUIRE(asked.status == 202);
    const std::string conversation = asked.body["conversation"];
    json suggestion;
    REQUIRE(testing::Eventually([&] {
      testing::Reply r = api.Get("/api/suggestions?state=open&agent=alice");
      if (r.status != 200 || r.body["suggestions"].empty()) return false;
      suggestion = r.body["suggestions"][0];
      return true;
    }));
    CHECK(suggestion["model_version"] == "2:" + ft_model);
    CHECK(suggestion["text"] == expected);
    const std::string id = std::to_string(suggestion["id"].get<std::int64_t>());
    REQUIRE(api.Post("/api/suggestions/" + id + "/verdict", {{"agent", "alice"}, {"action", "approve"}}).status == 202);
    json answer;
    REQUIRE(testing::Eventually([&] {
      testing::Reply r = api.Get("/api/conversations/" + conversation);
      for (const json& m : r.body["messages"])
        if (m["kind"] == "answer") {
          answer = m;
          return true;
        }
      return false;
    }));
    CHECK(answer["text"] == expected);
  }
  CHECK(counters->Snapshot().requests >= 2);
  store.reset();

  // And through `deskbot serve`, as deployed: the promoted fine-tune answers
  // in the web chat, its usage on /metrics.
  {
    testing::Process serve({kDeskbot, "-c", op.dir.File("deskbot.toml"), "serve"},
                           {{"DESKBOT_LISTEN", "127.0.0.1:0"},
                            {"DESKBOT_AGENTS", "alice"},
                            {"DESKBOT_OPENAI_API_KEY", op.fake.api_key()}},
                           op.dir.File("serve.out"), op.dir.File("serve.err"));
    REQUIRE(serve.started());
    auto port = serve.WaitForOutput(R"(serving on http://127\.0\.0\.1:(\d+)/)", std::chrono::seconds(30));
    INFO("stdout: " << serve.Output() << "\nstderr: " << serve.Errors());
    REQUIRE(port.has_value());
    testing::Api api("http://127.0.0.1:" + *port);
    testing::Reply asked = api.Post("/api/questions", {{"text", question}, {"user", "dave"}, {"client_id", "q-2"}});
    REQUIRE(asked.status == 202);
    json suggestion;
    REQUIRE(testing::Eventually([&] {
      testing::Reply r = api.Get("/api/suggestions?state=open&agent=alice");
      if (r.status != 200) return false;
      for (const json& s : r.body["suggestions"])
        if (s["question"]["asker"] == "dave") {
          suggestion = s;
          return true;
        }
      return false;
    }));
    CHECK(suggestion["model_version"] == "2:" + ft_model);
    CHECK(suggestion["text"] == expected);
    testing::Reply metrics = api.Get("/metrics");
    CHECK_THAT(metrics.text, Catch::Contains("deskbot_llm_requests_total 1\n"));
    CHECK(serve.Stop() == std::optional<int>(0));
    CHECK_FALSE(Has(serve.Output() + serve.Errors(), op.fake.api_key()));
  }
  store = MustOpen(op.data_dir);

  // Another job, cancelled by the operator.
  Run second = op("finetune start");
  REQUIRE(second.status == 0);
  Run cancel = op("finetune cancel 3");
  INFO(cancel.output);
  CHECK(cancel.status == 0);
  CHECK(Has(cancel.output, "Cancelled fine-tuning version 3."));
  Run cancelled = op("finetune status", false);
  CHECK(Has(cancelled.output, "version 3  failed  done"));
  CHECK(Has(cancelled.output, "note: cancelled by cli"));
  Run again = op("finetune cancel 3");
  CHECK(again.status == 1);
  CHECK(Has(again.output, "already finished"));
}

TEST_CASE("llm e2e: a failing job and a rate-limited provider give clear states", "[integration][llm]") {
  Operator op;
  op.Harvested();
  Run bogus = op("train --backend bogus");
  CHECK(bogus.status == 1);
  CHECK(Has(bogus.output, "train: --backend must be local or openai, not 'bogus'"));
  // `deskbot train --backend openai` is `deskbot finetune start`.
  Run start = op("train --backend openai");
  INFO(start.output);
  REQUIRE(start.status == 0);
  CHECK(Has(start.output, "Registered model version 1: job ftjob-"));
  auto store = MustOpen(op.data_dir);
  const std::string job = Version(*store, 1).remote_id;
  REQUIRE_FALSE(job.empty());

  // Rate limited on every attempt: poll reports it, exits 1, changes nothing.
  op.fake.InjectRateLimit(3, 0, "/fine_tuning/jobs");
  Run limited = op("finetune poll");
  INFO(limited.output);
  CHECK(limited.status == 1);
  CHECK(Has(limited.output, "429"));
  CHECK(Has(limited.output, "the next poll retries"));
  Run status = op("finetune status", false);
  CHECK(Has(status.output, "version 1  candidate  running"));
  CHECK(Has(status.output, "last error: retrieving job " + job));

  REQUIRE(op.fake.FailJobNextStep(job, "invalid_n_examples", "Training file has too few examples", "").ok());
  Run failed = op("finetune poll");
  INFO(failed.output);
  CHECK(failed.status == 0);
  CHECK(Has(failed.output, "failed: fine-tuning job " + job + " failed: invalid_n_examples"));
  Run after = op("finetune status", false);
  CHECK(Has(after.output, "version 1  failed  done"));
  CHECK(Has(after.output, "Training file has too few examples"));
}
