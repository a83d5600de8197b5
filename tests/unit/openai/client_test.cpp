// The OpenAI client end to end against the fake server, over real HTTP.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "connectors/openai/client.h"
#include "connectors/openai/estimate.h"
#include "fake_openai.h"
#include "test_util.h"

using namespace openai;
using openai_fake::FakeOpenAI;
using openai_test::DataPath;
using Code = util::Status::Code;

namespace {

// A fake plus a client pointed at it. Waits between retries are recorded,
// not slept.
struct Harness {
  explicit Harness(openai_fake::FakeOptions fake_options = {}, ClientOptions client_options = {})
      : fake(std::move(fake_options)) {
    REQUIRE(fake.Start().ok());
    client_options.base_url = fake.base_url();
    if (client_options.api_key.empty()) client_options.api_key = fake.api_key();
    client_options.sleep = [this](std::chrono::milliseconds d) { waits.push_back(d); };
    options = client_options;
    auto c = Client::Create(client_options);
    REQUIRE(c.ok());
    client = std::move(*c);
  }

  // Uploads a training file from tests/data and returns its id.
  std::string Upload(const std::string& name) {
    auto file = client->UploadFile(DataPath("training/" + name));
    REQUIRE(file.ok());
    return file->id;
  }

  std::string CreateSupervisedJob(const std::string& suffix = "helpdesk") {
    JobCreateRequest req;
    req.model = "gpt-4o-mini-2024-07-18";
    req.training_file = Upload("chat_small.jsonl");
    req.suffix = suffix;
    auto job = client->CreateJob(req);
    REQUIRE(job.ok());
    return job->id;
  }

  FakeOpenAI fake;
  ClientOptions options;
  std::unique_ptr<Client> client;
  std::vector<std::chrono::milliseconds> waits;
};

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

// ---------------------------------------------------------------- files

TEST_CASE("openai: client: upload sends multipart with purpose and filename", "[openai][client]") {
  Harness h;
  auto file = h.client->UploadFile(DataPath("training/chat_small.jsonl"));
  REQUIRE(file.ok());
  CHECK(file->purpose == "fine-tune");
  CHECK(file->filename == "chat_small.jsonl");
  const std::string original = openai_test::ReadData("training/chat_small.jsonl");
  CHECK(file->bytes == static_cast<int64_t>(original.size()));
  CHECK(h.fake.FileContent(file->id) == original);  // bytes arrived intact

  auto reqs = h.fake.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].method == "POST");
  CHECK(reqs[0].path == "/files");
  CHECK(reqs[0].content_type.rfind("multipart/form-data; boundary=", 0) == 0);
  CHECK(reqs[0].auth == "Bearer " + h.fake.api_key());

  // A different name can be given; fine-tune files must be *.jsonl.
  auto renamed = h.client->UploadFile(DataPath("training/chat_small.jsonl"), "fine-tune", "week42.jsonl");
  REQUIRE(renamed.ok());
  CHECK(renamed->filename == "week42.jsonl");
  auto wrong = h.client->UploadFile(DataPath("training/chat_small.jsonl"), "fine-tune", "train.json");
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.status().code() == Code::kInvalidArgument);
  auto missing = h.client->UploadFile("/nonexistent/train.jsonl");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kIOError);
}

TEST_CASE("openai: client: the service's refusal of a bad training file is surfaced", "[openai][client]") {
  Harness h;
  auto bad = h.client->UploadFile(DataPath("training/chat_bad_line3.jsonl"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Code::kInvalidArgument);
  CHECK(bad.status().message().rfind("openai: POST /files: 400 invalid_request_error: "
                                     "Invalid file format for Fine-Tuning API: line 3: no assistant message",
                                     0) == 0);
  CHECK(Contains(bad.status().message(), "(param file)"));
  CHECK(Contains(bad.status().message(), "[request req_fake"));
}

TEST_CASE("openai: client: retrieve, list, download and delete files", "[openai][client]") {
  Harness h;
  std::string a = h.Upload("chat_small.jsonl");
  auto b = h.client->UploadFileContent("{\"x\":1}", "notes.txt", "assistants");
  REQUIRE(b.ok());
  std::string c = h.Upload("dpo_small.jsonl");

  auto got = h.client->RetrieveFile(a);
  REQUIRE(got.ok());
  CHECK(got->filename == "chat_small.jsonl");

  auto all = h.client->ListFiles();
  REQUIRE(all.ok());
  REQUIRE(all->data.size() == 3);
  CHECK(all->data[0].id == c);  // newest first

  FileListParams only_ft;
  only_ft.purpose = "fine-tune";
  only_ft.limit = 1;
  auto page1 = h.client->ListFiles(only_ft);
  REQUIRE(page1.ok());
  REQUIRE(page1->data.size() == 1);
  CHECK(page1->has_more);
  only_ft.after = page1->last_id;
  auto page2 = h.client->ListFiles(only_ft);
  REQUIRE(page2.ok());
  REQUIRE(page2->data.size() == 1);
  CHECK(page2->data[0].id == a);
  CHECK_FALSE(page2->has_more);

  auto content = h.client->RetrieveFileContent(a);
  REQUIRE(content.ok());
  CHECK(*content == openai_test::ReadData("training/chat_small.jsonl"));

  auto del = h.client->DeleteFile(a);
  REQUIRE(del.ok());
  CHECK(del->deleted);
  CHECK(del->id == a);
  auto gone = h.client->RetrieveFile(a);
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.status().code() == Code::kNotFound);
  CHECK(gone.status().message() == "openai: GET /files/" + a + ": 404 invalid_request_error: No such File object: " + a +
                                       " (param id) [request req_fake000010]");
}

// ---------------------------------------------------------------- jobs

TEST_CASE("openai: client: a supervised job runs to success as it is polled", "[openai][client]") {
  Harness h;
  JobCreateRequest req;
  req.model = "gpt-4o-mini-2024-07-18";
  req.training_file = h.Upload("chat_small.jsonl");
  req.suffix = "helpdesk";
  req.seed = 7;
  req.method = Method{MethodType::kSupervised, {}};
  req.method->hyperparameters.n_epochs = HyperParam::Of(3);
  req.metadata["dataset"] = "snap-12";
  auto job = h.client->CreateJob(req);
  REQUIRE(job.ok());
  CHECK(job->status == JobStatus::kValidatingFiles);
  CHECK(job->seed == 7);
  CHECK(job->user_provided_suffix == "helpdesk");
  CHECK(job->metadata.at("dataset") == "snap-12");
  CHECK(job->metadata.count(h.options.idempotency_metadata_key) == 1);  // the retry tag
  CHECK(job->fine_tuned_model.empty());

  std::vector<JobStatus> seen;
  Job current = *job;
  for (int i = 0; i < 10 && !current.terminal(); ++i) {
    auto polled = h.client->RetrieveJob(job->id);
    REQUIRE(polled.ok());
    current = *polled;
    seen.push_back(current.status);
  }
  CHECK(seen == std::vector<JobStatus>{JobStatus::kQueued, JobStatus::kRunning, JobStatus::kSucceeded});
  CHECK(current.fine_tuned_model == "ft:gpt-4o-mini-2024-07-18:deskbot:helpdesk:" + job->id.substr(job->id.size() - 8));
  REQUIRE(current.trained_tokens.has_value());
  CHECK(*current.trained_tokens > 0);
  CHECK(current.error.empty());
  REQUIRE(current.result_files.size() == 1);
  REQUIRE(current.method.has_value());
  CHECK(current.method->hyperparameters.n_epochs.value == 3);
  CHECK(current.method->hyperparameters.batch_size.is_value());  // "auto" resolved once running

  auto csv = h.client->RetrieveFileContent(current.result_files[0]);
  REQUIRE(csv.ok());
  CHECK(csv->rfind("step,train_loss", 0) == 0);

  // The fine-tuned model answers chat.
  ChatRequest chat;
  chat.model = current.fine_tuned_model;
  chat.messages = {{"user", "How do I reset my VPN password?", ""}};
  auto answer = h.client->CreateChatCompletion(chat);
  REQUIRE(answer.ok());
  CHECK(answer->model == current.fine_tuned_model);
}

TEST_CASE("openai: client: job create body is validated by the service", "[openai][client]") {
  Harness h;
  JobCreateRequest req;
  req.model = "gpt-4o-mini";
  req.training_file = "file-does-not-exist";
  auto missing = h.client->CreateJob(req);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kInvalidArgument);
  CHECK(missing.status().message().rfind(
            "openai: POST /fine_tuning/jobs: 400 invalid_request_error: invalid training_file: "
            "file-does-not-exist (param training_file, code invalid_file)", 0) == 0);

  req.training_file = h.Upload("chat_small.jsonl");
  req.method = Method{MethodType::kSupervised, {}};
  req.method->hyperparameters.n_epochs = HyperParam::Of(51);
  auto epochs = h.client->CreateJob(req);
  REQUIRE_FALSE(epochs.ok());
  CHECK(Contains(epochs.status().message(), "n_epochs must be 'auto' or an integer from 1 to 50"));

  // Local checks run before anything is sent.
  JobCreateRequest empty;
  CHECK(h.client->CreateJob(empty).status().code() == Code::kInvalidArgument);
  JobCreateRequest long_suffix = req;
  long_suffix.suffix = std::string(65, 'x');
  CHECK(h.client->CreateJob(long_suffix).status().message() ==
        "openai: create job: suffix longer than 64 characters");
}

TEST_CASE("openai: client: a DPO job with preference data succeeds", "[openai][client]") {
  Harness h;
  JobCreateRequest req;
  req.model = "gpt-4o-mini-2024-07-18";
  req.training_file = h.Upload("dpo_small.jsonl");
  req.method = Method{MethodType::kDpo, {}};
  req.method->hyperparameters.beta = HyperParam::Of(0.2);
  auto job = h.client->CreateJob(req);
  REQUIRE(job.ok());
  REQUIRE(job->method.has_value());
  CHECK(job->method->type == MethodType::kDpo);
  CHECK(job->method->hyperparameters.beta.value == Approx(0.2));
  REQUIRE(h.fake.RunJobToEnd(job->id).ok());
  auto done = h.client->RetrieveJob(job->id);
  REQUIRE(done.ok());
  CHECK(done->status == JobStatus::kSucceeded);
  CHECK(done->fine_tuned_model.rfind("ft:gpt-4o-mini-2024-07-18:deskbot::", 0) == 0);  // no suffix
}

TEST_CASE("openai: client: a failed job's error is surfaced", "[openai][client]") {
  Harness h;
  SECTION("too few examples, caught at validating_files") {
    JobCreateRequest req;
    req.model = "gpt-4o-mini-2024-07-18";
    req.training_file = h.Upload("chat_too_few.jsonl");
    auto job = h.client->CreateJob(req);
    REQUIRE(job.ok());
    auto failed = h.client->RetrieveJob(job->id);
    REQUIRE(failed.ok());
    CHECK(failed->status == JobStatus::kFailed);
    CHECK(failed->terminal());
    CHECK(failed->error.code == "invalid_n_examples");
    CHECK(failed->error.param == "training_file");
    CHECK(failed->error.message == "Training file has 3 example(s), but must have at least 10 examples");
    CHECK(failed->fine_tuned_model.empty());
    CHECK_FALSE(failed->trained_tokens.has_value());
  }
  SECTION("chat data for a DPO job") {
    JobCreateRequest req;
    req.model = "gpt-4o-mini-2024-07-18";
    req.training_file = h.Upload("chat_small.jsonl");
    req.method = Method{MethodType::kDpo, {}};
    auto job = h.client->CreateJob(req);
    REQUIRE(job.ok());
    auto failed = h.client->RetrieveJob(job->id);
    REQUIRE(failed.ok());
    CHECK(failed->status == JobStatus::kFailed);
    CHECK(failed->error.code == "invalid_training_file");
    CHECK(Contains(failed->error.message, "needs preference format"));
  }
  SECTION("a failure while running") {
    std::string id = h.CreateSupervisedJob();
    REQUIRE(h.fake.AdvanceJob(id).ok());  // queued
    REQUIRE(h.fake.AdvanceJob(id).ok());  // running
    REQUIRE(h.fake.FailJobNextStep(id, "server_error", "Fine-tuning failed unexpectedly", "").ok());
    auto failed = h.client->RetrieveJob(id);
    REQUIRE(failed.ok());
    CHECK(failed->status == JobStatus::kFailed);
    CHECK(failed->error.code == "server_error");
    CHECK(failed->error.message == "Fine-tuning failed unexpectedly");
    auto events = h.client->ListJobEvents(id);
    REQUIRE(events.ok());
    CHECK(events->data[0].level == "error");  // newest first
  }
}

TEST_CASE("openai: client: cancel a running job, cancelling a finished one is refused", "[openai][client]") {
  Harness h;
  std::string id = h.CreateSupervisedJob();
  REQUIRE(h.fake.AdvanceJob(id).ok());
  REQUIRE(h.fake.AdvanceJob(id).ok());
  auto cancelled = h.client->CancelJob(id);
  REQUIRE(cancelled.ok());
  CHECK(cancelled->status == JobStatus::kCancelled);
  CHECK(cancelled->finished_at.has_value());
  auto polled = h.client->RetrieveJob(id);  // polling no longer moves it
  REQUIRE(polled.ok());
  CHECK(polled->status == JobStatus::kCancelled);
  auto again = h.client->CancelJob(id);
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == Code::kInvalidArgument);
  CHECK(Contains(again.status().message(), "has already cancelled and cannot be cancelled"));
  CHECK(h.client->CancelJob("ftjob-nope").status().code() == Code::kNotFound);
}

TEST_CASE("openai: client: list jobs pages newest first and filters by metadata", "[openai][client]") {
  Harness h;
  std::string first = h.CreateSupervisedJob("one");
  std::string second = h.CreateSupervisedJob("two");
  JobCreateRequest tagged;
  tagged.model = "gpt-4o-mini-2024-07-18";
  tagged.training_file = h.Upload("chat_small.jsonl");
  tagged.metadata["team"] = "emea";
  auto third = h.client->CreateJob(tagged);
  REQUIRE(third.ok());

  JobListParams p;
  p.limit = 2;
  auto page = h.client->ListJobs(p);
  REQUIRE(page.ok());
  REQUIRE(page->data.size() == 2);
  CHECK(page->data[0].id == third->id);
  CHECK(page->data[1].id == second);
  CHECK(page->has_more);
  p.after = page->last_id;
  auto rest = h.client->ListJobs(p);
  REQUIRE(rest.ok());
  REQUIRE(rest->data.size() == 1);
  CHECK(rest->data[0].id == first);
  CHECK_FALSE(rest->has_more);

  JobListParams by_team;
  by_team.metadata["team"] = "emea";
  auto emea = h.client->ListJobs(by_team);
  REQUIRE(emea.ok());
  REQUIRE(emea->data.size() == 1);
  CHECK(emea->data[0].id == third->id);
}

TEST_CASE("openai: client: job events page newest first with after=", "[openai][client]") {
  Harness h;
  std::string id = h.CreateSupervisedJob();
  REQUIRE(h.fake.RunJobToEnd(id).ok());

  std::vector<JobEvent> all;
  ListParams p;
  p.limit = 3;
  int pages = 0;
  for (;;) {
    auto page = h.client->ListJobEvents(id, p);
    REQUIRE(page.ok());
    ++pages;
    CHECK(page->data.size() <= 3);
    all.insert(all.end(), page->data.begin(), page->data.end());
    if (!page->has_more) break;
    p.after = page->data.back().id;
  }
  CHECK(pages >= 3);
  REQUIRE(all.size() >= 8);
  CHECK(all.front().message == "The job has successfully completed");
  CHECK(all.back().message == "Created fine-tuning job: " + id);
  for (std::size_t i = 1; i < all.size(); ++i) {
    CHECK(all[i - 1].created_at > all[i].created_at);  // strictly newest first, no repeats
  }
  bool saw_metrics = false;
  for (const JobEvent& e : all) {
    if (e.type == "metrics") {
      saw_metrics = true;
      CHECK(e.metrics.count("train_loss") == 1);
      CHECK(e.metrics.count("step") == 1);
    }
  }
  CHECK(saw_metrics);
}

TEST_CASE("openai: client: checkpoints with metrics", "[openai][client]") {
  Harness h;
  std::string id = h.CreateSupervisedJob();
  auto none = h.client->ListJobCheckpoints(id);
  REQUIRE(none.ok());
  CHECK(none->data.empty());
  REQUIRE(h.fake.RunJobToEnd(id).ok());
  auto ckpts = h.client->ListJobCheckpoints(id);
  REQUIRE(ckpts.ok());
  REQUIRE(ckpts->data.size() == 3);
  CHECK(ckpts->data[0].step_number > ckpts->data[1].step_number);
  CHECK(ckpts->data[0].fine_tuning_job_id == id);
  CHECK(ckpts->data[0].metrics.at("full_valid_loss") > 0);
  CHECK(Contains(ckpts->data[1].fine_tuned_model_checkpoint, ":ckpt-step-"));
  ListParams one;
  one.limit = 1;
  auto first = h.client->ListJobCheckpoints(id, one);
  REQUIRE(first.ok());
  CHECK(first->has_more);
  CHECK(first->first_id == ckpts->data[0].id);
}

// ---------------------------------------------------------------- inference

TEST_CASE("openai: client: chat completion from the fake's table", "[openai][client]") {
  Harness h;
  h.fake.AddChatRule({"vpn", "Use the self-service portal to reset it.", "stop"});
  ChatRequest req;
  req.model = "gpt-4o-mini";
  req.messages = {{"system", "Answer briefly.", ""}, {"user", "My VPN password expired", ""}};
  req.temperature = 0.2;
  req.n = 2;
  req.stop = {"\n\n"};
  auto resp = h.client->CreateChatCompletion(req);
  REQUIRE(resp.ok());
  REQUIRE(resp->choices.size() == 2);
  CHECK(resp->choices[0].message.role == "assistant");
  CHECK(resp->choices[0].message.content == "Use the self-service portal to reset it.");
  CHECK(resp->choices[0].finish_reason == "stop");
  CHECK(resp->choices[1].index == 1);
  CHECK(resp->usage.prompt_tokens > 0);
  CHECK(resp->usage.completion_tokens == 2 * EstimateTextTokens("Use the self-service portal to reset it."));
  CHECK(resp->usage.total_tokens == resp->usage.prompt_tokens + resp->usage.completion_tokens);

  // Unmatched questions follow the deterministic rule; the cap truncates.
  req.messages = {{"user", "Where is the cafeteria on the second floor of the building?", ""}};
  req.n.reset();
  req.max_completion_tokens = 3;
  auto cut = h.client->CreateChatCompletion(req);
  REQUIRE(cut.ok());
  CHECK(cut->choices[0].finish_reason == "length");
  CHECK(cut->choices[0].message.content == std::string("echo: Where is the cafeteria").substr(0, 12));
  auto sent = nlohmann::json::parse(h.fake.requests().back().body);
  CHECK(sent["max_completion_tokens"] == 3);

  // An unknown fine-tuned model is a clean not-found.
  req.model = "ft:gpt-4o-mini:acme::nope";
  auto missing = h.client->CreateChatCompletion(req);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(Contains(missing.status().message(), "(code model_not_found)"));
}

TEST_CASE("openai: client: output-cap field name is configurable", "[openai][client]") {
  openai_fake::FakeOptions legacy;
  legacy.legacy_max_tokens_only = true;
  ChatRequest req;
  req.model = "local-llama";
  req.messages = {{"user", "hello there", ""}};
  req.max_completion_tokens = 50;
  {
    Harness h(legacy);
    auto refused = h.client->CreateChatCompletion(req);
    REQUIRE_FALSE(refused.ok());
    CHECK(Contains(refused.status().message(), "Unrecognized request argument supplied: max_completion_tokens"));
  }
  ClientOptions old_server;
  old_server.max_tokens_field = "max_tokens";
  Harness h(legacy, old_server);
  auto ok = h.client->CreateChatCompletion(req);
  REQUIRE(ok.ok());
  CHECK(ok->choices[0].message.content == "echo: hello there");
}

TEST_CASE("openai: client: embeddings come back in input order", "[openai][client]") {
  Harness h;
  EmbeddingRequest req;
  req.model = "text-embedding-3-small";
  req.input = {"reset vpn password", "printer offline floor 3", "vpn password reset"};
  req.dimensions = 32;
  auto resp = h.client->CreateEmbeddings(req);
  REQUIRE(resp.ok());
  REQUIRE(resp->embeddings.size() == 3);
  CHECK(resp->embeddings[0].size() == 32);
  auto dot = [](const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
  };
  // Same words -> same vector; the fake answered in reverse order, so a
  // client ordering by position would pair these wrongly.
  CHECK(dot(resp->embeddings[0], resp->embeddings[2]) == Approx(1.0));
  CHECK(dot(resp->embeddings[0], resp->embeddings[1]) < 0.9);
  CHECK(resp->usage.prompt_tokens > 0);

  EmbeddingRequest empty_item = req;
  empty_item.input = {"ok", ""};
  CHECK(h.client->CreateEmbeddings(empty_item).status().message() == "openai: embeddings: input 1 is empty");
  EmbeddingRequest none = req;
  none.input.clear();
  CHECK_FALSE(h.client->CreateEmbeddings(none).ok());
}

// ---------------------------------------------------------------- failures

TEST_CASE("openai: client: a 429 storm within the retry budget succeeds", "[openai][client]") {
  ClientOptions o;
  o.retry.max_attempts = 5;
  Harness h({}, o);
  h.fake.InjectRateLimit(4, /*retry_after_seconds=*/2, "/files");
  auto list = h.client->ListFiles();
  REQUIRE(list.ok());
  CHECK(h.fake.CountRequests("GET", "/files") == 5);
  REQUIRE(h.waits.size() == 4);
  for (auto w : h.waits) CHECK(w == std::chrono::milliseconds(2000));  // Retry-After honoured
}

TEST_CASE("openai: client: a 429 storm past the budget fails cleanly", "[openai][client]") {
  ClientOptions o;
  o.retry.max_attempts = 3;
  Harness h({}, o);
  h.fake.InjectRateLimit(10, 1);
  JobCreateRequest req;
  req.model = "gpt-4o-mini";
  req.training_file = "file-x";
  auto job = h.client->CreateJob(req);  // a POST: 429 means not processed, so it is retried
  REQUIRE_FALSE(job.ok());
  CHECK(job.status().code() == Code::kUnavailable);
  CHECK(job.status().message() ==
        "openai: POST /fine_tuning/jobs: 429 requests: Rate limit reached for requests "
        "(code rate_limit_exceeded) [request req_fake000003] (after 3 attempts)");
  CHECK(h.fake.CountRequests("POST", "/fine_tuning/jobs") == 3);
  CHECK(h.waits.size() == 2);
}

TEST_CASE("openai: client: a server asking for too long a wait ends the retries", "[openai][client]") {
  ClientOptions o;
  o.max_server_wait = std::chrono::seconds(30);
  Harness h({}, o);
  h.fake.InjectRateLimit(5, /*retry_after_seconds=*/300);
  auto r = h.client->ListFiles();
  REQUIRE_FALSE(r.ok());
  CHECK(Contains(r.status().message(), "the service asks to wait 300 s, more than the allowed 30 s"));
  CHECK(h.fake.CountRequests("GET", "/files") == 1);
  CHECK(h.waits.empty());
}

TEST_CASE("openai: client: x-ratelimit-reset and retry-after-ms set the wait", "[openai][client]") {
  Harness h;
  openai_fake::Fault reset;
  reset.status = 429;
  reset.body = R"({"error":{"message":"Rate limit reached for tokens","type":"tokens","param":null,"code":"rate_limit_exceeded"}})";
  reset.headers = {{"x-ratelimit-remaining-requests", "12"}, {"x-ratelimit-reset-requests", "120ms"},
                   {"x-ratelimit-remaining-tokens", "0"}, {"x-ratelimit-reset-tokens", "1.5s"}};
  h.fake.Inject(reset);
  openai_fake::Fault ms;
  ms.status = 429;
  ms.body = reset.body;
  ms.headers = {{"retry-after-ms", "250"}, {"retry-after", "9"}};
  h.fake.Inject(ms);
  auto r = h.client->ListFiles();
  REQUIRE(r.ok());
  REQUIRE(h.waits.size() == 2);
  CHECK(h.waits[0] == std::chrono::milliseconds(1500));  // the exhausted limit's reset
  CHECK(h.waits[1] == std::chrono::milliseconds(250));   // retry-after-ms beats retry-after
}

TEST_CASE("openai: client: insufficient_quota is not retried", "[openai][client]") {
  Harness h;
  h.fake.InjectQuotaExceeded(5);
  auto r = h.client->ListFiles();
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUnauthorized);
  CHECK(Contains(r.status().message(), "429 insufficient_quota: You exceeded your current quota"));
  CHECK(Contains(r.status().message(), "waiting will not help"));
  CHECK(h.fake.CountRequests("GET", "/files") == 1);
}

TEST_CASE("openai: client: a 500 is retried with backoff", "[openai][client]") {
  Harness h;
  h.fake.InjectServerError(1, 500);
  h.fake.InjectServerError(1, 503);
  ChatRequest req;
  req.model = "gpt-4o-mini";
  req.messages = {{"user", "hi", ""}};
  auto r = h.client->CreateChatCompletion(req);
  REQUIRE(r.ok());
  CHECK(h.fake.CountRequests("POST", "/chat/completions") == 3);
  REQUIRE(h.waits.size() == 2);
  // 0.5 s then 1 s, each +-25 % jitter.
  CHECK(h.waits[0] >= std::chrono::milliseconds(375));
  CHECK(h.waits[0] <= std::chrono::milliseconds(625));
  CHECK(h.waits[1] >= std::chrono::milliseconds(750));
  CHECK(h.waits[1] <= std::chrono::milliseconds(1250));

  h.fake.InjectServerError(3, 502);
  auto failed = h.client->ListFiles();
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().code() == Code::kUnavailable);
  CHECK(Contains(failed.status().message(), "openai: GET /files: 502 server_error: The server had an error"));
  CHECK(Contains(failed.status().message(), "(after 3 attempts)"));
}

TEST_CASE("openai: client: job create after a 500 finds the job instead of repeating", "[openai][client]") {
  Harness h;
  const std::string file = h.Upload("chat_small.jsonl");
  // The create fails with a 500 before anything was made: the client looks
  // for a job carrying its tag, finds none, and only then sends it again.
  h.fake.InjectServerError(1, 500, "/fine_tuning/jobs");
  JobCreateRequest req;
  req.model = "gpt-4o-mini-2024-07-18";
  req.training_file = file;
  auto job = h.client->CreateJob(req);
  REQUIRE(job.ok());
  CHECK(h.fake.CountRequests("POST", "/fine_tuning/jobs") == 2);
  CHECK(h.fake.CountRequests("GET", "/fine_tuning/jobs") == 1);  // the idempotency lookup
  auto list = h.client->ListJobs();
  REQUIRE(list.ok());
  CHECK(list->data.size() == 1);  // exactly one job
}

TEST_CASE("openai: client: job create whose answer was lost is found by its tag", "[openai][client]") {
  Harness h;
  const std::string file = h.Upload("chat_small.jsonl");
  // A job made by a create whose answer never arrived: same tag, already on
  // the server. The next create with that tag gets a 502 from a gateway
  // (uncertain: the server may have acted), looks the tag up and returns the
  // existing job instead of making a second one.
  JobCreateRequest req;
  req.model = "gpt-4o-mini-2024-07-18";
  req.training_file = file;
  req.metadata[h.options.idempotency_metadata_key] = "fixed-token-1";
  auto first = h.client->CreateJob(req);
  REQUIRE(first.ok());
  h.fake.InjectServerError(1, 502, "/fine_tuning/jobs");
  auto again = h.client->CreateJob(req);
  REQUIRE(again.ok());
  CHECK(again->id == first->id);
  CHECK(h.fake.CountRequests("POST", "/fine_tuning/jobs") == 2);  // not a third
}

TEST_CASE("openai: client: a malformed response gives a clear error", "[openai][client]") {
  Harness h;
  std::string id = h.CreateSupervisedJob();
  h.fake.InjectMalformed(1, "/fine_tuning/jobs/");
  auto r = h.client->RetrieveJob(id);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalidArgument);
  CHECK(r.status().message().rfind("openai: GET /fine_tuning/jobs/" + id +
                                   ": malformed response: expected a fine_tuning.job JSON object", 0) == 0);
  CHECK(h.fake.CountRequests("GET", "/fine_tuning/jobs/") == 1);  // not retried: it was a 200

  openai_fake::Fault html;
  html.status = 502;
  html.body = "<html><body>Bad Gateway</body></html>";
  html.times = 3;
  h.fake.Inject(html);
  auto gw = h.client->ListFiles();
  REQUIRE_FALSE(gw.ok());
  CHECK(Contains(gw.status().message(), "502 (not an OpenAI error object: <html><body>Bad Gateway</body></html>)"));
}

TEST_CASE("openai: client: the API key never appears in errors", "[openai][client]") {
  const std::string secret = "sk-proj-SECRETSECRET-9876543210";
  openai_fake::FakeOptions echo;
  echo.echo_key_in_errors = true;  // a server that repeats the key it got
  ClientOptions wrong;
  wrong.api_key = secret;
  Harness h(echo, wrong);
  std::vector<util::Status> errors;
  errors.push_back(h.client->ListFiles().status());
  errors.push_back(h.client->RetrieveJob("ftjob-1").status());
  ChatRequest chat;
  chat.model = "gpt-4o-mini";
  chat.messages = {{"user", "hi", ""}};
  errors.push_back(h.client->CreateChatCompletion(chat).status());
  // Other failure paths: retries, a gateway page quoting the key, a dead server.
  openai_fake::Fault quoting;
  quoting.status = 500;
  quoting.times = 5;
  quoting.body = "upstream rejected Authorization: Bearer " + secret + " (prefix sk-proj-SECRET...)";
  h.fake.Inject(quoting);
  errors.push_back(h.client->ListFiles().status());
  h.fake.Stop();
  errors.push_back(h.client->ListFiles().status());

  for (const util::Status& st : errors) {
    INFO(st.ToString());
    REQUIRE_FALSE(st.ok());
    CHECK_FALSE(Contains(st.ToString(), secret));
    CHECK_FALSE(Contains(st.ToString(), "SECRETSECRET"));
    CHECK_FALSE(Contains(st.ToString(), "sk-proj-SECRET"));
  }
  CHECK(errors[0].code() == Code::kUnauthorized);
  CHECK(Contains(errors[0].message(), "401 invalid_request_error: Incorrect API key provided: [redacted]"));
  CHECK(errors[4].code() == Code::kUnavailable);  // connection refused
}

TEST_CASE("openai: client: Azure-style auth header, api-version and deployment paths", "[openai][client]") {
  openai_fake::FakeOptions azure;
  azure.auth_header = "api-key";
  azure.auth_scheme = "";
  azure.path_prefix = "/openai";
  azure.required_query = std::make_pair(std::string("api-version"), std::string("2024-10-21"));
  ClientOptions o;
  o.auth_header = "api-key";
  o.auth_scheme = "";
  o.extra_query = {{"api-version", "2024-10-21"}};
  o.chat_path = "/deployments/{model}/chat/completions";
  o.embeddings_path = "/deployments/{model}/embeddings";
  Harness h(azure, o);
  ChatRequest chat;
  chat.model = "my-gpt4o-deployment";
  chat.messages = {{"user", "hello", ""}};
  auto answer = h.client->CreateChatCompletion(chat);
  REQUIRE(answer.ok());
  CHECK(answer->model == "my-gpt4o-deployment");
  EmbeddingRequest emb;
  emb.model = "my-embedding-deployment";
  emb.input = {"hello"};
  CHECK(h.client->CreateEmbeddings(emb).ok());
  CHECK(h.client->UploadFile(DataPath("training/chat_small.jsonl")).ok());
  auto reqs = h.fake.requests();
  CHECK(reqs[0].path == "/deployments/my-gpt4o-deployment/chat/completions");
  CHECK(reqs[0].query == "api-version=2024-10-21");
  CHECK(reqs[0].auth == h.fake.api_key());
  CHECK(reqs[2].query == "api-version=2024-10-21");

  // Without api-version the server says 404: shown as such.
  ClientOptions missing_version = o;
  missing_version.extra_query.clear();
  missing_version.base_url = h.fake.base_url();
  missing_version.api_key = h.fake.api_key();
  auto bare = Client::Create(missing_version);
  REQUIRE(bare.ok());
  auto nf = (*bare)->ListFiles();
  REQUIRE_FALSE(nf.ok());
  CHECK(nf.status().code() == Code::kNotFound);
  CHECK(Contains(nf.status().message(), "404 404: Resource not found"));
}

TEST_CASE("openai: client: every call has a timeout", "[openai][client]") {
  // A socket that accepts connections (the kernel does, into the backlog) but
  // never answers.
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener, 8) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);

  ClientOptions o;
  o.base_url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/v1";
  o.api_key = "sk-timeout-test-key-123456";
  o.timeout = std::chrono::milliseconds(300);
  o.retry.max_attempts = 2;
  std::vector<std::chrono::milliseconds> waits;
  o.sleep = [&](std::chrono::milliseconds d) { waits.push_back(d); };
  auto client = Client::Create(o);
  REQUIRE(client.ok());
  auto start = std::chrono::steady_clock::now();
  auto r = (*client)->RetrieveJob("ftjob-1");
  auto took = std::chrono::steady_clock::now() - start;
  ::close(listener);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUnavailable);
  CHECK(r.status().message().rfind("openai: GET /fine_tuning/jobs/ftjob-1: ", 0) == 0);
  CHECK(Contains(r.status().message(), "(after 2 attempts)"));
  CHECK_FALSE(Contains(r.status().message(), o.api_key));
  INFO(r.status().message());
  CHECK(waits.size() == 1);  // a GET is retried after a timeout
  CHECK(took < std::chrono::seconds(10));  // bounded by the timeout, not hanging
}
