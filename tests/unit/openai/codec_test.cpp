// Wire shapes against the vendor's documented examples (tests/data/openai).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "connectors/openai/codec.h"
#include "test_util.h"

using namespace openai;
using openai_test::ReadData;
using json = nlohmann::json;

TEST_CASE("openai: files: upload response, list and delete parse", "[openai][codec]") {
  auto file = ParseFileObject(ReadData("files/file_upload_response.json"));
  REQUIRE(file.ok());
  CHECK(file->id == "file-abc123");
  CHECK(file->bytes == 120000);
  CHECK(file->filename == "mydata.jsonl");
  CHECK(file->purpose == "fine-tune");
  CHECK(file->expires_at == 1677614202);

  auto list = ParseFileList(ReadData("files/files_list.json"));
  REQUIRE(list.ok());
  REQUIRE(list->data.size() == 2);
  CHECK(list->data[1].filename == "puppy.jsonl");
  CHECK(list->last_id == "file-abc456");
  CHECK_FALSE(list->has_more);

  auto deleted = ParseFileDeleted(ReadData("files/file_delete_response.json"));
  REQUIRE(deleted.ok());
  CHECK(deleted->deleted);
}

TEST_CASE("openai: jobs: every documented job example parses", "[openai][codec]") {
  auto queued = ParseJob(ReadData("fine_tuning/job_create_response_full_fields.json"));
  REQUIRE(queued.ok());
  CHECK(queued->status == JobStatus::kQueued);
  CHECK_FALSE(queued->terminal());
  CHECK(queued->error.empty());
  CHECK(queued->seed == 683058546);
  CHECK_FALSE(queued->trained_tokens.has_value());
  REQUIRE(queued->method.has_value());
  CHECK(queued->method->type == MethodType::kSupervised);
  CHECK(queued->method->hyperparameters.n_epochs.is_value());
  CHECK(queued->method->hyperparameters.n_epochs.value == 2);
  CHECK(queued->method->hyperparameters.batch_size.kind == HyperParam::Kind::kAuto);

  auto dpo = ParseJob(ReadData("fine_tuning/job_create_response_dpo.json"));
  REQUIRE(dpo.ok());
  REQUIRE(dpo->method.has_value());
  CHECK(dpo->method->type == MethodType::kDpo);
  CHECK(dpo->method->hyperparameters.beta.value == Approx(0.1));

  auto done = ParseJob(ReadData("fine_tuning/job_retrieve_succeeded.json"));
  REQUIRE(done.ok());
  CHECK(done->status == JobStatus::kSucceeded);
  CHECK(done->terminal());
  CHECK(done->fine_tuned_model == "ft:davinci-002:my-org:custom_suffix:7q8mpxmy");
  CHECK(done->trained_tokens == 5768);
  CHECK(done->result_files == std::vector<std::string>{"file-abc123"});
  CHECK(done->finished_at == 1692661190);

  auto cancelled = ParseJob(ReadData("fine_tuning/job_cancel_response.json"));
  REQUIRE(cancelled.ok());
  CHECK(cancelled->status == JobStatus::kCancelled);
  CHECK(cancelled->validation_file == "file-abc123");

  for (const char* f : {"fine_tuning/job_create_response_queued.json",
                        "fine_tuning/job_create_response_with_validation.json"}) {
    INFO(f);
    CHECK(ParseJob(ReadData(f)).ok());
  }

  auto list = ParseJobList(ReadData("fine_tuning/jobs_list.json"));
  REQUIRE(list.ok());
  REQUIRE(list->data.size() == 1);
  CHECK(list->has_more);
  CHECK(list->data[0].metadata.at("key") == "value");
  CHECK(list->last_id == "ftjob-abc123");  // derived from the data when absent
}

TEST_CASE("openai: jobs: a failed job keeps its error", "[openai][codec]") {
  auto job = ParseJob(R"({"id":"ftjob-1","object":"fine_tuning.job","status":"failed",
      "error":{"code":"invalid_training_file","message":"line 3: no assistant message",
               "param":"training_file"}})");
  REQUIRE(job.ok());
  CHECK(job->status == JobStatus::kFailed);
  CHECK(job->error.code == "invalid_training_file");
  CHECK(job->error.param == "training_file");
  CHECK(job->error.message == "line 3: no assistant message");
}

TEST_CASE("openai: jobs: unknown status is kept as text", "[openai][codec]") {
  auto job = ParseJob(R"({"id":"ftjob-1","status":"paused"})");
  REQUIRE(job.ok());
  CHECK(job->status == JobStatus::kOther);
  CHECK(job->status_text == "paused");
  CHECK_FALSE(job->terminal());
}

TEST_CASE("openai: events and checkpoints parse with metrics", "[openai][codec]") {
  auto events = ParseEventList(ReadData("fine_tuning/job_events_list.json"));
  REQUIRE(events.ok());
  REQUIRE(events->data.size() == 2);
  CHECK(events->has_more);
  CHECK(events->data[0].message == "Fine tuning job successfully completed");
  CHECK(events->last_id == "ft-event-tyiGuB72evQncpH87xe505Sv");

  auto metrics = ParseEventList(R"({"object":"list","has_more":false,"data":[
      {"object":"fine_tuning.job.event","id":"ftevent-9","created_at":1,"level":"info",
       "message":"Step 10/20","type":"metrics","data":{"step":10,"train_loss":0.25,"total_steps":20}}]})");
  REQUIRE(metrics.ok());
  CHECK(metrics->data[0].type == "metrics");
  CHECK(metrics->data[0].metrics.at("train_loss") == Approx(0.25));
  CHECK(metrics->data[0].metrics.at("step") == 10);

  auto ckpts = ParseCheckpointList(ReadData("fine_tuning/job_checkpoints_list.json"));
  REQUIRE(ckpts.ok());
  REQUIRE(ckpts->data.size() == 2);
  CHECK(ckpts->data[0].step_number == 2000);
  CHECK(ckpts->data[0].metrics.at("full_valid_loss") == Approx(0.134));
  CHECK(ckpts->data[1].fine_tuned_model_checkpoint ==
        "ft:gpt-4o-mini-2024-07-18:my-org:custom-suffix:7q8mpxmy:ckpt-step-1000");
  CHECK(ckpts->has_more);

  // The single-object fixtures parse as one-element lists too.
  auto one = ParseCheckpointList("{\"data\":[" + ReadData("fine_tuning/checkpoint_object_with_all_metrics.json") + "]}");
  REQUIRE(one.ok());
  CHECK(one->data[0].metrics.size() == 7);
  auto ev = ParseEventList("{\"data\":[" + ReadData("fine_tuning/event_object.json") + "]}");
  REQUIRE(ev.ok());
  CHECK(ev->data[0].data_json == "{}");
}

TEST_CASE("openai: job create bodies match the documented requests", "[openai][codec]") {
  JobCreateRequest sup;
  sup.training_file = "file-abc123";
  sup.model = "gpt-4o-mini";
  sup.method = Method{MethodType::kSupervised, {}};
  sup.method->hyperparameters.n_epochs = HyperParam::Of(2);
  CHECK(json::parse(EncodeJobCreate(sup)) ==
        json::parse(ReadData("fine_tuning/job_create_request_supervised_epochs.json")));

  JobCreateRequest dpo;
  dpo.training_file = "file-abc123";
  dpo.validation_file = "file-abc123";
  dpo.model = "gpt-4o-mini";
  dpo.method = Method{MethodType::kDpo, {}};
  dpo.method->hyperparameters.beta = HyperParam::Of(0.1);
  CHECK(json::parse(EncodeJobCreate(dpo)) ==
        json::parse(ReadData("fine_tuning/job_create_request_dpo.json")));

  JobCreateRequest full = sup;
  full.suffix = "deskbot";
  full.seed = 42;
  full.method->hyperparameters.batch_size = HyperParam::Auto();
  full.method->hyperparameters.learning_rate_multiplier = HyperParam::Of(0.5);
  full.method->hyperparameters.beta = HyperParam::Of(0.3);  // not a supervised parameter: dropped
  full.metadata["team"] = "desk";
  json body = json::parse(EncodeJobCreate(full));
  CHECK(body["suffix"] == "deskbot");
  CHECK(body["seed"] == 42);
  CHECK(body["metadata"]["team"] == "desk");
  const json& hp = body["method"]["supervised"]["hyperparameters"];
  CHECK(hp["batch_size"] == "auto");
  CHECK(hp["learning_rate_multiplier"] == 0.5);
  CHECK(hp["n_epochs"].is_number_integer());
  CHECK_FALSE(hp.contains("beta"));
}

TEST_CASE("openai: chat request body and response", "[openai][codec]") {
  ChatRequest req;
  req.model = "VAR_chat_model_id";
  req.messages = {{"developer", "You are a helpful assistant.", ""}, {"user", "Hello!", ""}};
  CHECK(json::parse(EncodeChatRequest(req, "max_completion_tokens")) ==
        json::parse(ReadData("chat/chat_completion_request.json")));

  req.temperature = 0.2;
  req.max_completion_tokens = 300;
  req.n = 2;
  req.stop = {"\n\n###"};
  json modern = json::parse(EncodeChatRequest(req, "max_completion_tokens"));
  CHECK(modern["max_completion_tokens"] == 300);
  CHECK_FALSE(modern.contains("max_tokens"));
  CHECK(modern["temperature"] == 0.2);
  CHECK(modern["n"] == 2);
  CHECK(modern["stop"] == json::array({"\n\n###"}));
  json legacy = json::parse(EncodeChatRequest(req, "max_tokens"));
  CHECK(legacy["max_tokens"] == 300);
  CHECK_FALSE(legacy.contains("max_completion_tokens"));

  auto resp = ParseChatResponse(ReadData("chat/chat_completion_response.json"));
  REQUIRE(resp.ok());
  REQUIRE(resp->choices.size() == 1);
  CHECK(resp->choices[0].message.content == "Hello! How can I assist you today?");
  CHECK(resp->choices[0].finish_reason == "stop");
  CHECK(resp->usage.prompt_tokens == 19);
  CHECK(resp->usage.completion_tokens == 10);
  CHECK(resp->usage.total_tokens == 29);
  CHECK(resp->has_usage);

  auto parts = ParseChatResponse(R"({"choices":[{"index":0,"finish_reason":"stop","message":
      {"role":"assistant","content":[{"type":"text","text":"Hello "},{"type":"text","text":"there"}]}}]})");
  REQUIRE(parts.ok());
  CHECK(parts->choices[0].message.content == "Hello there");
  CHECK_FALSE(parts->has_usage);  // compatible servers may leave usage out

  auto tools = ParseChatResponse(ReadData("chat/chat_completion_response_tool_calls.json"));
  REQUIRE(tools.ok());
  CHECK(tools->choices[0].message.content.empty());  // null content
  CHECK(tools->choices[0].finish_reason == "tool_calls");
}

TEST_CASE("openai: embeddings request and response", "[openai][codec]") {
  EmbeddingRequest req;
  req.model = "text-embedding-ada-002";
  req.input = {"The food was delicious and the waiter..."};
  json body = json::parse(EncodeEmbeddingRequest(req));
  json doc = json::parse(ReadData("embeddings/embeddings_request.json"));
  CHECK(body["model"] == doc["model"]);
  CHECK(body["encoding_format"] == doc["encoding_format"]);
  CHECK(body["input"] == json::array({doc["input"]}));  // always sent as a list

  auto resp = ParseEmbeddingResponse(ReadData("embeddings/embeddings_response.json"));
  REQUIRE(resp.ok());
  REQUIRE(resp->embeddings.size() == 1);
  CHECK(resp->embeddings[0].size() == 3);
  CHECK(resp->embeddings[0][1] == Approx(-0.009327292));
  CHECK(resp->usage.prompt_tokens == 8);

  // Ordered by index, not by position.
  auto swapped = ParseEmbeddingResponse(R"({"data":[{"index":1,"embedding":[2.0]},
                                                    {"index":0,"embedding":[1.0]}]})");
  REQUIRE(swapped.ok());
  CHECK(swapped->embeddings[0][0] == 1.0f);
  CHECK(swapped->embeddings[1][0] == 2.0f);
  CHECK_FALSE(ParseEmbeddingResponse(R"({"data":[{"index":0,"embedding":[1]},{"index":0,"embedding":[2]}]})").ok());
  CHECK_FALSE(ParseEmbeddingResponse(R"({"data":[{"index":0,"embedding":"AAAA"}]})").ok());
}

TEST_CASE("openai: malformed responses give a clear error", "[openai][codec]") {
  auto notjson = ParseJob("<html>502 Bad Gateway</html>");
  REQUIRE_FALSE(notjson.ok());
  CHECK(notjson.status().code() == util::Status::Code::kInvalidArgument);
  CHECK(notjson.status().message().find("malformed response") != std::string::npos);

  auto noid = ParseJob(R"({"status":"queued"})");
  REQUIRE_FALSE(noid.ok());
  CHECK(noid.status().message() == "malformed response: fine_tuning.job: field \"id\" is missing");

  auto badtype = ParseFileObject(R"({"id":"file-1","bytes":"many"})");
  REQUIRE_FALSE(badtype.ok());
  CHECK(badtype.status().message().find("\"bytes\" is not a number") != std::string::npos);

  CHECK_FALSE(ParseFileList(R"({"data":{}})").ok());
  CHECK_FALSE(ParseChatResponse(R"({"choices":[{"index":0}]})").ok());
  CHECK_FALSE(ParseChatResponse("[1,2]").ok());
  CHECK_FALSE(ParseEmbeddingResponse("").ok());
}

TEST_CASE("openai: error bodies: OpenAI's object and compatible servers' shapes", "[openai][codec]") {
  auto e = ParseApiError(R"({"error":{"message":"bad","type":"invalid_request_error",
                               "param":"model","code":null}})");
  REQUIRE(e.ok());
  CHECK(e->message == "bad");
  CHECK(e->type == "invalid_request_error");
  CHECK(e->param == "model");
  CHECK(e->code.empty());
  auto s = ParseApiError(R"({"error":"model not loaded"})");
  REQUIRE(s.ok());
  CHECK(s->message == "model not loaded");
  auto d = ParseApiError(R"({"detail":"Not Found"})");
  REQUIRE(d.ok());
  CHECK(d->message == "Not Found");
  auto n = ParseApiError(R"({"error":{"message":"x","code":404}})");
  REQUIRE(n.ok());
  CHECK(n->code == "404");
  CHECK_FALSE(ParseApiError("Bad Gateway").ok());
  CHECK_FALSE(ParseApiError(R"({"ok":false})").ok());
}
