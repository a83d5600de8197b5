// The remote trainer and the poller against the fake OpenAI server: jobs
// that succeed (evaluated, gated, promoted), fail, get cancelled, survive a
// restart, rate limits and malformed answers, and preference fine-tuning.
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bot/llm/poller.h"
#include "bot/llm/record.h"
#include "bot/llm/serving.h"
#include "bot/llm/trainer.h"
#include "llm_world.h"

using namespace deskbot;
using namespace deskbot::llm;
using namespace deskbot::llm_test;
using nlohmann::json;

namespace {

std::shared_ptr<openai::Client> ClientFor(const openai_fake::FakeOpenAI& fake) {
  openai::ClientOptions o;
  o.base_url = fake.base_url();
  o.api_key = fake.api_key();
  o.retry.max_attempts = 3;
  o.sleep = [](std::chrono::milliseconds) {};
  auto c = openai::Client::Create(o);
  REQUIRE(c.ok());
  return std::shared_ptr<openai::Client>(std::move(c).value());
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Fixture {
  testing::TempDir dir;
  std::string data_dir = dir.File("data");
  std::unique_ptr<Store> store = CopyWorld(data_dir);
  openai_fake::FakeOpenAI fake;
  std::shared_ptr<openai::Client> client;
  Config config;

  explicit Fixture(const std::string& extra_config = "", bool teach = true) {
    REQUIRE(fake.Start().ok());
    client = ClientFor(fake);
    config = MustConfig(FakeConfig(fake, dir, data_dir, extra_config));
    if (teach) TeachValidAnswers(fake, *store);
  }

  std::unique_ptr<FineTunePoller> Poller() {
    auto options = PollerOptions::FromConfig(config);
    REQUIRE(options.ok());
    auto prompt = LoadAnswerPrompt(options->answer);
    REQUIRE(prompt.ok());
    return std::make_unique<FineTunePoller>(*options, client, std::move(prompt).value());
  }

  StartReport Start(StartRequest request = {}) {
    auto r = StartFineTune(*store, config, client.get(), request);
    INFO((r.ok() ? "" : r.status().ToString()));
    REQUIRE(r.ok());
    return *r;
  }

  FineTuneRecord Record(std::int64_t id) {
    auto r = ReadRecord(Version(*store, id));
    REQUIRE(r.ok());
    return *r;
  }

  // Polls until the version is finished (at most `max_polls` times).
  PollReport PollToEnd(FineTunePoller& poller, std::int64_t id, int max_polls = 8) {
    PollReport last;
    for (int i = 0; i < max_polls; ++i) {
      auto r = poller.PollOnce(*store);
      REQUIRE(r.ok());
      last = *r;
      ModelVersion v = Version(*store, id);
      if (v.state != ModelState::kCandidate || Record(id).done()) return last;
    }
    FAIL("version " << id << " did not finish in " << max_polls << " polls");
    return last;
  }

  // Every event the provider has for a job.
  std::size_t ProviderEvents(const std::string& job) {
    std::size_t n = 0;
    openai::ListParams p;
    p.limit = 100;
    for (;;) {
      auto page = client->ListJobEvents(job, p);
      REQUIRE(page.ok());
      n += page->data.size();
      if (!page->has_more || page->data.empty()) return n;
      p.after = page->data.back().id;
    }
  }

  bool Audited(const std::string& action) {
    auto audit = store->ListAudit(100);
    REQUIRE(audit.ok());
    for (const auto& a : *audit)
      if (a.action == action) return true;
    return false;
  }
};

}  // namespace

TEST_CASE("finetune: a dry run exports, validates and estimates, and sends nothing", "[llm][finetune]") {
  Fixture f;
  StartRequest dry_run;
  dry_run.dry_run = true;
  auto r = StartFineTune(*f.store, f.config, nullptr, dry_run);
  REQUIRE(r.ok());
  CHECK(r->dry_run);
  CHECK(r->base_model == "gpt-4o-mini-2024-07-18");
  CHECK(r->train_examples > 100);
  CHECK(r->valid_examples > 5);
  CHECK(r->estimate.examples == r->train_examples);
  CHECK(r->estimate.billable_tokens > r->estimate.tokens_total);  // x epochs
  REQUIRE(r->estimate.cost_usd);
  CHECK(*r->estimate.cost_usd > 0);
  CHECK(std::filesystem::exists(r->train_path));
  CHECK(std::filesystem::exists(r->valid_path));
  const std::string train = ReadAll(r->train_path);
  CHECK(train.find("olivia.brandt@example.com") == std::string::npos);  // redacted
  CHECK(train.find("\"role\":\"assistant\"") != std::string::npos);
  const std::string text = r->ToText();
  CHECK(text.rfind("Dry run: nothing was sent.", 0) == 0);
  CHECK(text.find("estimated cost:  $") != std::string::npos);
  CHECK(f.fake.requests().empty());
  CHECK(Versions(*f.store, "openai").empty());
}

TEST_CASE("finetune: start, follow, evaluate and promote a supervised fine-tune", "[llm][finetune]") {
  Fixture f;
  StartReport started = f.Start();
  REQUIRE(started.version_id > 0);
  ModelVersion v = Version(*f.store, started.version_id);
  CHECK(v.backend == "openai");
  CHECK(v.state == ModelState::kCandidate);
  CHECK(v.remote_id == started.job_id);
  CHECK(v.snapshot_id == started.snapshot_id);
  FineTuneRecord record = f.Record(v.id);
  CHECK(record.phase == kPhaseRunning);
  CHECK(record.job_status == "validating_files");

  // What the provider received.
  CHECK(f.fake.CountRequests("POST", "/files") == 2);
  CHECK(f.fake.CountRequests("POST", "/fine_tuning/jobs") == 1);
  json job_body;
  for (const auto& req : f.fake.requests())
    if (req.method == "POST" && req.path == "/fine_tuning/jobs") job_body = json::parse(req.body);
  CHECK(job_body["model"] == "gpt-4o-mini-2024-07-18");
  CHECK(job_body["suffix"] == "deskbot");
  CHECK(job_body["seed"] == 42);
  CHECK(job_body["method"]["type"] == "supervised");
  CHECK(job_body["metadata"]["deskbot_version"] == std::to_string(v.id));
  CHECK(job_body["validation_file"] == record.validation_file);
  CHECK(f.fake.FileContent(record.training_file) == ReadAll(started.train_path));
  CHECK(f.Audited("finetune.start"));

  // Follow it: validating_files -> queued -> running -> succeeded, as the
  // service's scheduled job does.
  std::shared_ptr<FineTunePoller> poller = f.Poller();
  int reloads = 0;
  auto job = ScheduledPoll(poller, *f.store);
  for (int i = 0; i < 3; ++i) {
    auto promoted = job();
    REQUIRE(promoted.ok());
    reloads += *promoted ? 1 : 0;
  }
  CHECK(reloads == 1);
  v = Version(*f.store, v.id);
  record = f.Record(v.id);
  INFO(v.note);
  CHECK(v.state == ModelState::kPromoted);
  CHECK(record.phase == kPhaseDone);
  CHECK(record.job_status == "succeeded");
  CHECK(record.fine_tuned_model.rfind("ft:gpt-4o-mini-2024-07-18:deskbot:deskbot:", 0) == 0);
  CHECK(record.events_logged == static_cast<std::int64_t>(f.ProviderEvents(v.remote_id)));
  CHECK_FALSE(record.checkpoints.empty());
  CHECK(record.trained_tokens.value_or(0) > 0);
  CHECK(record.train_metrics.count("train_loss") == 1);
  CHECK(record.support_version == SharedWorld().local_version);
  CHECK(record.eval_prompt_tokens > 0);
  auto metrics = ReadEvalMetrics(v);
  REQUIRE(metrics);
  CHECK(metrics->queries == static_cast<std::size_t>(started.valid_examples));
  CHECK(metrics->p1 == Approx(1.0));
  CHECK(v.note.rfind("promoted: p1 1.000 >= ", 0) == 0);
  CHECK(Version(*f.store, SharedWorld().local_version).state == ModelState::kRetired);
  CHECK(f.Audited("model.promote"));

  // The promoted fine-tune answers, with its model id.
  auto counters = std::make_shared<LlmCounters>();
  auto serving = LoadLlmServing(*f.store, f.config, counters);
  REQUIRE(serving.ok());
  REQUIRE(serving->model);
  CHECK(serving->version == std::to_string(v.id) + ":" + record.fine_tuned_model);
  auto valid = LoadSplit(*f.store, Split::kValid);
  REQUIRE(valid.ok());
  int answered = 0;
  for (const auto& ex : *valid) {
    auto s = serving->model->Suggest(ex.question);
    REQUIRE(s.ok());
    CHECK(s->model_version == serving->version);
    if (!s->abstained) {
      CHECK(s->text == ex.answer);
      ++answered;
    }
  }
  CHECK(answered > 0);
  CHECK(counters->Snapshot().cost_usd > 0);  // priced as a fine-tuned gpt-4o-mini

  // Finished versions are left alone.
  const int job_requests = f.fake.CountRequests("GET", "/fine_tuning/jobs");
  auto again = poller->PollOnce(*f.store);
  REQUIRE(again.ok());
  CHECK(again->versions == 0);
  CHECK(f.fake.CountRequests("GET", "/fine_tuning/jobs") == job_requests);
}

TEST_CASE("finetune: a fine-tune that answers worse than the promoted local model is not promoted",
          "[llm][finetune]") {
  Fixture f("", /*teach=*/false);  // the fake's model only echoes the question
  StartReport started = f.Start();
  auto poller = f.Poller();
  PollReport r = f.PollToEnd(*poller, started.version_id);
  CHECK(r.evaluated == 1);
  CHECK(r.promoted == 0);
  ModelVersion v = Version(*f.store, started.version_id);
  INFO(v.note);
  CHECK(v.state == ModelState::kCandidate);
  CHECK(f.Record(v.id).phase == kPhaseDone);
  auto metrics = ReadEvalMetrics(v);
  REQUIRE(metrics);
  CHECK(metrics->p1 < 0.2);
  CHECK(v.note.rfind("not promoted: p1 ", 0) == 0);
  CHECK(v.note.find("(version " + std::to_string(SharedWorld().local_version) + ", local)") != std::string::npos);
  CHECK(Version(*f.store, SharedWorld().local_version).state == ModelState::kPromoted);
  auto counters = std::make_shared<LlmCounters>();
  auto serving = LoadLlmServing(*f.store, f.config, counters);
  REQUIRE(serving.ok());
  CHECK_FALSE(serving->model);  // the local model keeps answering
}

TEST_CASE("finetune: a failed job becomes state failed with the provider's reason", "[llm][finetune]") {
  Fixture f;
  StartReport started = f.Start();
  REQUIRE(f.fake.FailJobNextStep(started.job_id, "invalid_training_file", "Line 3: unknown role", "training_file").ok());
  auto poller = f.Poller();
  PollReport r = f.PollToEnd(*poller, started.version_id);
  CHECK(r.failed == 1);
  ModelVersion v = Version(*f.store, started.version_id);
  CHECK(v.state == ModelState::kFailed);
  CHECK(v.note == "fine-tuning job " + started.job_id +
                      " failed: invalid_training_file - Line 3: unknown role (param training_file)");
  FineTuneRecord record = f.Record(v.id);
  CHECK(record.phase == kPhaseDone);
  CHECK(record.job_status == "failed");
  CHECK(record.events_logged == static_cast<std::int64_t>(f.ProviderEvents(started.job_id)));
  // The previous model keeps answering.
  CHECK(Version(*f.store, SharedWorld().local_version).state == ModelState::kPromoted);
  auto again = poller->PollOnce(*f.store);
  REQUIRE(again.ok());
  CHECK(again->versions == 0);
}

TEST_CASE("finetune: cancelled jobs, by deskbot or at the provider", "[llm][finetune]") {
  Fixture f;
  auto poller = f.Poller();
  SECTION("deskbot finetune cancel") {
    StartReport started = f.Start();
    REQUIRE(CancelFineTune(*f.store, *f.client, started.version_id, "alice").ok());
    auto job = f.client->RetrieveJob(started.job_id);
    REQUIRE(job.ok());
    CHECK(job->status == openai::JobStatus::kCancelled);
    ModelVersion v = Version(*f.store, started.version_id);
    CHECK(v.state == ModelState::kFailed);
    CHECK(v.note == "cancelled by alice");
    CHECK(f.Audited("finetune.cancel"));
    auto twice = CancelFineTune(*f.store, *f.client, started.version_id, "alice");
    REQUIRE_FALSE(twice.ok());
    CHECK(twice.message().find("already finished") != std::string::npos);
    auto r = poller->PollOnce(*f.store);
    REQUIRE(r.ok());
    CHECK(r->versions == 0);
  }
  SECTION("cancelled at the provider") {
    StartReport started = f.Start();
    REQUIRE(f.client->CancelJob(started.job_id).ok());
    PollReport r = f.PollToEnd(*poller, started.version_id);
    CHECK(r.failed == 1);
    ModelVersion v = Version(*f.store, started.version_id);
    CHECK(v.state == ModelState::kFailed);
    CHECK(v.note == "fine-tuning job " + started.job_id + " was cancelled");
  }
  SECTION("not a fine-tuning version") {
    auto local = CancelFineTune(*f.store, *f.client, SharedWorld().local_version, "alice");
    REQUIRE_FALSE(local.ok());
    CHECK(local.message().find("not a fine-tuning version") != std::string::npos);
    CHECK(CancelFineTune(*f.store, *f.client, 999, "alice").code() == util::Status::Code::kNotFound);
  }
}

TEST_CASE("finetune: a restart while the job runs: a new poller on the same store continues", "[llm][finetune]") {
  Fixture f;
  StartReport started = f.Start();
  std::int64_t logged_before = 0;
  {
    auto first = f.Poller();
    auto r = first->PollOnce(*f.store);
    REQUIRE(r.ok());
    CHECK(r->running == 1);
    logged_before = f.Record(started.version_id).events_logged;
    CHECK(logged_before == static_cast<std::int64_t>(f.ProviderEvents(started.job_id)));
  }
  // The process dies: store and poller gone. A new one opens the same file.
  f.store.reset();
  f.store = MustOpen(f.data_dir);
  auto second = f.Poller();
  PollReport r = f.PollToEnd(*second, started.version_id);
  CHECK(r.promoted == 1);
  FineTuneRecord record = f.Record(started.version_id);
  // Every event logged exactly once across both processes.
  CHECK(record.events_logged == static_cast<std::int64_t>(f.ProviderEvents(started.job_id)));
  CHECK(record.events_logged > logged_before);
  CHECK(Version(*f.store, started.version_id).state == ModelState::kPromoted);
}

TEST_CASE("finetune: rate limits and malformed answers leave the version as it was", "[llm][finetune]") {
  Fixture f;
  StartReport started = f.Start();
  auto poller = f.Poller();
  REQUIRE(poller->PollOnce(*f.store).ok());  // -> queued
  const FineTuneRecord before = f.Record(started.version_id);
  CHECK(before.job_status == "queued");

  // A 429 storm longer than the client's retries: two polls fail.
  f.fake.InjectRateLimit(6, 1, "/fine_tuning/jobs");
  for (int i = 1; i <= 2; ++i) {
    auto r = poller->PollOnce(*f.store);
    REQUIRE(r.ok());
    CHECK(r->errors == 1);
    ModelVersion v = Version(*f.store, started.version_id);
    FineTuneRecord rec = f.Record(v.id);
    CHECK(v.state == ModelState::kCandidate);
    CHECK(rec.phase == kPhaseRunning);
    CHECK(rec.job_status == "queued");
    CHECK(rec.last_event_id == before.last_event_id);
    CHECK(rec.poll_errors == i);
    CHECK(rec.last_error.find("retrieving job " + started.job_id) != std::string::npos);
    CHECK(rec.last_error.find("429") != std::string::npos);
  }

  // A truncated JSON body: the same.
  f.fake.InjectMalformed(1, "/fine_tuning/jobs/");
  auto bad = poller->PollOnce(*f.store);
  REQUIRE(bad.ok());
  CHECK(bad->errors == 1);
  CHECK(f.Record(started.version_id).job_status == "queued");
  CHECK(f.Record(started.version_id).poll_errors == 3);

  // Recovered: the next poll moves on and clears the error.
  auto good = poller->PollOnce(*f.store);
  REQUIRE(good.ok());
  CHECK(good->errors == 0);
  FineTuneRecord running = f.Record(started.version_id);
  CHECK(running.job_status == "running");
  CHECK(running.last_error.empty());
  CHECK(running.poll_errors == 0);

  // The job succeeds while chat completions are rate limited: the version
  // waits in "evaluating" instead of being scored on the local model.
  f.fake.InjectRateLimit(3, 1, "/chat/completions");
  auto during = poller->PollOnce(*f.store);
  REQUIRE(during.ok());
  CHECK(during->errors == 1);
  FineTuneRecord evaluating = f.Record(started.version_id);
  CHECK(evaluating.phase == kPhaseEvaluating);
  CHECK(evaluating.last_error.find("evaluating ft:") != std::string::npos);
  CHECK(Version(*f.store, started.version_id).state == ModelState::kCandidate);
  CHECK_FALSE(ReadEvalMetrics(Version(*f.store, started.version_id)));

  PollReport done = f.PollToEnd(*poller, started.version_id);
  CHECK(done.promoted == 1);
}

TEST_CASE("finetune: a lost create answer: the poller adopts the job or fails the version", "[llm][finetune]") {
  Fixture f;
  auto poller = f.Poller();
  openai_fake::Fault unavailable;
  unavailable.times = 100;
  unavailable.method = "POST";
  unavailable.path_prefix = "/fine_tuning/jobs";
  unavailable.status = 503;
  unavailable.body = R"({"error":{"message":"overloaded","type":"server_error","param":null,"code":null}})";

  SECTION("never created: failed, with the reason") {
    f.fake.Inject(unavailable);
    auto r = StartFineTune(*f.store, f.config, f.client.get(), {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == util::Status::Code::kUnavailable);
    CHECK(r.status().message().find("the poller will look for it") != std::string::npos);
    std::vector<ModelVersion> versions = Versions(*f.store, "openai");
    REQUIRE(versions.size() == 1);
    CHECK(versions[0].state == ModelState::kCandidate);
    CHECK(f.Record(versions[0].id).phase == kPhaseCreating);
    auto polled = poller->PollOnce(*f.store);
    REQUIRE(polled.ok());
    ModelVersion v = Version(*f.store, versions[0].id);
    CHECK(v.state == ModelState::kFailed);
    CHECK(v.note.rfind("the fine-tuning job was never created (creating the job: unavailable", 0) == 0);
  }
  SECTION("created after all: adopted and followed") {
    openai_fake::Fault lost = unavailable;
    lost.times = 3;  // every attempt of the client; then the provider is back
    f.fake.Inject(lost);
    REQUIRE_FALSE(StartFineTune(*f.store, f.config, f.client.get(), {}).ok());
    const std::int64_t id = Versions(*f.store, "openai").at(0).id;
    const FineTuneRecord rec = f.Record(id);
    REQUIRE_FALSE(rec.training_file.empty());
    // The job did reach the provider (only the answer was lost).
    openai::JobCreateRequest job;
    job.model = "gpt-4o-mini-2024-07-18";
    job.training_file = rec.training_file;
    job.validation_file = rec.validation_file;
    job.suffix = "deskbot";
    job.metadata = {{"deskbot_version", std::to_string(id)}};
    auto created = f.client->CreateJob(job);
    REQUIRE(created.ok());
    PollReport r = f.PollToEnd(*poller, id);
    CHECK(r.promoted == 1);
    ModelVersion v = Version(*f.store, id);
    CHECK(v.remote_id == created->id);
    CHECK(v.state == ModelState::kPromoted);
  }
  SECTION("refused: failed at once") {
    openai_fake::Fault refused = unavailable;
    refused.status = 400;
    refused.body = R"({"error":{"message":"Model gpt-x is not available for fine-tuning","type":"invalid_request_error","param":"model","code":"model_not_available"}})";
    f.fake.Inject(refused);
    auto r = StartFineTune(*f.store, f.config, f.client.get(), {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == util::Status::Code::kInvalidArgument);
    ModelVersion v = Versions(*f.store, "openai").at(0);
    CHECK(v.state == ModelState::kFailed);
    CHECK(v.note.find("Model gpt-x is not available for fine-tuning") != std::string::npos);
  }
}

TEST_CASE("finetune: preference (DPO) fine-tuning on top of the supervised fine-tune", "[llm][finetune]") {
  Fixture f("[llm.finetune]\nbeta = 0.2\n");
  StartRequest preference;
  preference.method = FineTuneMethod::kPreference;

  // No supervised fine-tune yet: a clear error, nothing sent.
  auto early = StartFineTune(*f.store, f.config, f.client.get(), preference);
  REQUIRE_FALSE(early.ok());
  CHECK(early.status().message().find("--method supervised") != std::string::npos);
  CHECK(f.fake.requests().empty());

  StartReport sft = f.Start();
  auto poller = f.Poller();
  f.PollToEnd(*poller, sft.version_id);
  const std::string sft_model = f.Record(sft.version_id).fine_tuned_model;
  REQUIRE_FALSE(sft_model.empty());

  // No agents' edits yet: too few preference pairs.
  const int before = static_cast<int>(f.fake.requests().size());
  auto empty = StartFineTune(*f.store, f.config, f.client.get(), preference);
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.status().message().find("only 0 preference pairs") != std::string::npos);
  CHECK(static_cast<int>(f.fake.requests().size()) == before);

  // Agents edited suggestions: edited answer preferred over the suggestion.
  auto train = LoadSplit(*f.store, Split::kTrain);
  REQUIRE(train.ok());
  for (std::size_t i = 0; i < 40 && i < train->size(); ++i) {
    PreferencePair p;
    p.question = (*train)[i].question;
    p.preferred = (*train)[i].answer;
    p.rejected = "Please open a ticket and someone will get back to you.";
    REQUIRE(f.store->AddPreferencePair(p).ok());
  }
  StartReport dpo = f.Start(preference);
  CHECK(dpo.method == FineTuneMethod::kPreference);
  CHECK(dpo.base_model == sft_model);
  CHECK(dpo.train_examples >= 10);
  json job_body;
  for (const auto& req : f.fake.requests())
    if (req.method == "POST" && req.path == "/fine_tuning/jobs") job_body = json::parse(req.body);
  CHECK(job_body["model"] == sft_model);
  CHECK(job_body["method"]["type"] == "dpo");
  CHECK(job_body["method"]["dpo"]["hyperparameters"]["beta"] == 0.2);
  const std::string uploaded = f.fake.FileContent(f.Record(dpo.version_id).training_file);
  CHECK(uploaded.find("\"non_preferred_output\"") != std::string::npos);

  PollReport r = f.PollToEnd(*poller, dpo.version_id);
  CHECK(r.evaluated == 1);
  ModelVersion v = Version(*f.store, dpo.version_id);
  FineTuneRecord rec = f.Record(v.id);
  CHECK(rec.method == "preference");
  CHECK(rec.fine_tuned_model.rfind("ft:gpt-4o-mini-2024-07-18:deskbot:deskbot:", 0) == 0);
  CHECK(rec.fine_tuned_model != sft_model);
  // As good as the supervised one, not better by the margin: stays a candidate.
  CHECK(v.state == ModelState::kCandidate);
  CHECK(v.note.rfind("not promoted: p1 1.000 < 1.000 (version " + std::to_string(sft.version_id) + ", openai)", 0) == 0);
}
