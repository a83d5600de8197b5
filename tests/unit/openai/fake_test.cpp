// The fake itself: it must refuse what the service refuses and answer in the
// shapes of the documented examples, or client tests against it prove little.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "connectors/http/client.h"
#include "connectors/openai/multipart.h"
#include "fake_openai.h"
#include "test_util.h"

using json = nlohmann::json;
using openai_fake::FakeOpenAI;

namespace {

struct Raw {
  Raw() {
    REQUIRE(fake.Start().ok());
    http::ClientOptions o;
    o.retry.max_attempts = 1;
    auto c = http::Client::Create(o);
    REQUIRE(c.ok());
    client = std::move(*c);
  }

  http::Response Send(const std::string& method, const std::string& path, const std::string& body = "",
                      const std::string& content_type = "application/json", bool auth = true) {
    http::Request r;
    r.method = method;
    r.url = fake.base_url() + path;
    r.body = body;
    r.fail_on_http_error = false;
    if (!body.empty()) r.headers.Set("Content-Type", content_type);
    if (auth) r.headers.Set("Authorization", "Bearer " + fake.api_key());
    auto resp = client->Send(r);
    REQUIRE(resp.ok());
    return *resp;
  }

  json Ok(const std::string& method, const std::string& path, const std::string& body = "",
          const std::string& content_type = "application/json") {
    http::Response r = Send(method, path, body, content_type);
    INFO(r.body);
    REQUIRE(r.status == 200);
    return json::parse(r.body);
  }

  std::string UploadBody(const std::string& purpose, const std::string& content, const std::string& name,
                         std::string* content_type) {
    openai::MultipartForm form;
    if (!purpose.empty()) form.AddField("purpose", purpose);
    form.AddFileContent("file", content, name);
    *content_type = form.content_type();
    return *form.Encode();
  }

  FakeOpenAI fake;
  std::unique_ptr<http::Client> client;
};

// Every key of the documented example is present in the fake's object.
void CheckKeysOf(const json& ours, const std::string& fixture) {
  json doc = json::parse(openai_test::ReadData(fixture));
  for (const auto& [key, value] : doc.items()) {
    INFO(fixture << ": " << key);
    CHECK(ours.contains(key));
  }
}

std::string ErrorMessage(const http::Response& r) {
  json doc = json::parse(r.body);
  REQUIRE(doc["error"].is_object());
  for (const char* k : {"message", "type", "param", "code"}) CHECK(doc["error"].contains(k));
  return doc["error"]["message"];
}

}  // namespace

TEST_CASE("openai: fake: answers in the documented shapes", "[openai][fake]") {
  Raw raw;
  std::string ct;
  json file = raw.Ok("POST", "/files",
                     raw.UploadBody("fine-tune", openai_test::ReadData("training/chat_small.jsonl"), "t.jsonl", &ct), ct);
  CheckKeysOf(file, "files/file_upload_response.json");
  CheckKeysOf(raw.Ok("GET", "/files"), "files/files_list.json");
  json job = raw.Ok("POST", "/fine_tuning/jobs",
                    json{{"model", "gpt-4o-mini"}, {"training_file", file["id"]}}.dump());
  CheckKeysOf(job, "fine_tuning/job_create_response_full_fields.json");
  const std::string id = job["id"];
  REQUIRE(raw.fake.RunJobToEnd(id).ok());
  CheckKeysOf(raw.Ok("GET", "/fine_tuning/jobs/" + id), "fine_tuning/job_retrieve_succeeded.json");
  CheckKeysOf(raw.Ok("GET", "/fine_tuning/jobs"), "fine_tuning/jobs_list.json");
  json events = raw.Ok("GET", "/fine_tuning/jobs/" + id + "/events");
  CheckKeysOf(events, "fine_tuning/job_events_list.json");
  CheckKeysOf(events["data"][0], "fine_tuning/event_object.json");
  json ckpts = raw.Ok("GET", "/fine_tuning/jobs/" + id + "/checkpoints");
  CheckKeysOf(ckpts, "fine_tuning/job_checkpoints_list.json");
  CheckKeysOf(ckpts["data"][0], "fine_tuning/checkpoint_object_with_all_metrics.json");
  CheckKeysOf(raw.Ok("POST", "/chat/completions", openai_test::ReadData("chat/chat_completion_request.json")),
              "chat/chat_completion_response.json");
  CheckKeysOf(raw.Ok("POST", "/embeddings", openai_test::ReadData("embeddings/embeddings_request.json")),
              "embeddings/embeddings_response.json");
  CheckKeysOf(raw.Ok("DELETE", "/files/" + file["id"].get<std::string>()), "files/file_delete_response.json");
  // The documented request bodies are accepted as they are.
  json up = raw.Ok("POST", "/files",
                   raw.UploadBody("fine-tune", openai_test::ReadData("training/dpo_small.jsonl"), "d.jsonl", &ct), ct);
  for (const char* f : {"fine_tuning/job_create_request_supervised_epochs.json", "fine_tuning/job_create_request_dpo.json"}) {
    json body = json::parse(openai_test::ReadData(f));
    body["training_file"] = up["id"];
    if (body.contains("validation_file")) body["validation_file"] = up["id"];
    INFO(f);
    raw.Ok("POST", "/fine_tuning/jobs", body.dump());
  }
}

TEST_CASE("openai: fake: refuses what the service refuses", "[openai][fake]") {
  Raw raw;
  CHECK(raw.Send("GET", "/files", "", "", /*auth=*/false).status == 401);
  CHECK(raw.Send("GET", "/nope").status == 404);
  CHECK(ErrorMessage(raw.Send("GET", "/nope")) == "Invalid URL (GET /v1/nope)");

  std::string ct;
  auto no_purpose = raw.Send("POST", "/files", raw.UploadBody("", "{}", "a.jsonl", &ct), ct);
  CHECK(no_purpose.status == 400);
  CHECK(ErrorMessage(no_purpose) == "Missing required parameter: 'purpose'.");
  auto not_multipart = raw.Send("POST", "/files", "{\"purpose\":\"fine-tune\"}");
  CHECK(not_multipart.status == 400);
  auto truncated = raw.Send("POST", "/files", "--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune",
                            "multipart/form-data; boundary=b");
  CHECK(truncated.status == 400);
  CHECK(ErrorMessage(truncated).find("part unterminated") != std::string::npos);
  auto not_jsonl = raw.Send("POST", "/files", raw.UploadBody("fine-tune", "{}", "a.csv", &ct), ct);
  CHECK(ErrorMessage(not_jsonl) == "Invalid file format for Fine-Tuning API. Must be .jsonl");

  auto unknown_arg = raw.Send("POST", "/chat/completions",
                              R"({"model":"m","messages":[{"role":"user","content":"x"}],"foo":1})");
  CHECK(unknown_arg.status == 400);
  CHECK(ErrorMessage(unknown_arg) == "Unrecognized request argument supplied: foo");
  auto bad_role = raw.Send("POST", "/chat/completions", R"({"model":"m","messages":[{"role":"robot","content":"x"}]})");
  CHECK(ErrorMessage(bad_role) == "Invalid value for 'messages[0].role'.");
  auto hot = raw.Send("POST", "/chat/completions",
                      R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":3})");
  CHECK(hot.status == 400);
  auto both_caps = raw.Send("POST", "/chat/completions",
                            R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":5,"max_completion_tokens":5})");
  CHECK(both_caps.status == 400);
  auto five_stops = raw.Send("POST", "/chat/completions",
                             R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]})");
  CHECK(five_stops.status == 400);
  CHECK(raw.Send("POST", "/embeddings", R"({"model":"m","input":["a",""]})").status == 400);
  CHECK(raw.Send("POST", "/embeddings", R"({"model":"m"})").status == 400);

  auto no_model = raw.Send("POST", "/fine_tuning/jobs", R"({"training_file":"file-1"})");
  CHECK(ErrorMessage(no_model) == "Missing required parameter: 'model'.");
  json file = raw.Ok("POST", "/files",
                     raw.UploadBody("fine-tune", openai_test::ReadData("training/chat_small.jsonl"), "t.jsonl", &ct), ct);
  json job = {{"model", "gpt-4o-mini"}, {"training_file", file["id"]}};
  job["method"] = {{"type", "supervised"}, {"supervised", {{"hyperparameters", {{"beta", 0.1}}}}}};
  auto beta = raw.Send("POST", "/fine_tuning/jobs", job.dump());
  CHECK(beta.status == 400);
  CHECK(ErrorMessage(beta) == "Unrecognized hyperparameter for method supervised: beta");
  job["method"] = {{"type", "dpo"}, {"dpo", {{"hyperparameters", {{"beta", 2.5}}}}}};
  CHECK(raw.Send("POST", "/fine_tuning/jobs", job.dump()).status == 400);
  job.erase("method");
  job["hyperparameters"] = json::object();
  job["suffix"] = std::string(65, 's');
  CHECK(raw.Send("POST", "/fine_tuning/jobs", job.dump()).status == 400);
  job.erase("suffix");
  job["seed"] = -1;
  CHECK(raw.Send("POST", "/fine_tuning/jobs", job.dump()).status == 400);
  job.erase("seed");
  job["bogus"] = true;
  CHECK(ErrorMessage(raw.Send("POST", "/fine_tuning/jobs", job.dump())) ==
        "Unrecognized request argument supplied: bogus");
}

TEST_CASE("openai: fake: polling can be switched off for step-by-step control", "[openai][fake]") {
  openai_fake::FakeOptions manual;
  manual.advance_on_poll = false;
  FakeOpenAI fake(manual);
  REQUIRE(fake.Start().ok());
  http::ClientOptions o;
  auto created = http::Client::Create(o);
  REQUIRE(created.ok());
  auto client = std::move(*created);
  auto send = [&](const std::string& method, const std::string& path, const std::string& body,
                  const std::string& ct) {
    http::Request r;
    r.method = method;
    r.url = fake.base_url() + path;
    r.body = body;
    if (!ct.empty()) r.headers.Set("Content-Type", ct);
    r.headers.Set("Authorization", "Bearer " + fake.api_key());
    auto resp = client->Send(r);
    REQUIRE(resp.ok());
    return json::parse(resp->body);
  };
  openai::MultipartForm form;
  form.AddField("purpose", "fine-tune");
  form.AddFileContent("file", openai_test::ReadData("training/chat_small.jsonl"), "t.jsonl");
  json file = send("POST", "/files", *form.Encode(), form.content_type());
  json job = send("POST", "/fine_tuning/jobs", json{{"model", "gpt-4o-mini"}, {"training_file", file["id"]}}.dump(),
                  "application/json");
  const std::string id = job["id"];
  CHECK(send("GET", "/fine_tuning/jobs/" + id, "", "")["status"] == "validating_files");
  CHECK(send("GET", "/fine_tuning/jobs/" + id, "", "")["status"] == "validating_files");
  REQUIRE(fake.AdvanceJob(id).ok());
  CHECK(send("GET", "/fine_tuning/jobs/" + id, "", "")["status"] == "queued");
  REQUIRE(fake.RunJobToEnd(id).ok());
  json done = send("GET", "/fine_tuning/jobs/" + id, "", "");
  CHECK(done["status"] == "succeeded");
  CHECK(done["fine_tuned_model"] == "ft:gpt-4o-mini:deskbot::" + id.substr(id.size() - 8));
  CHECK_FALSE(fake.AdvanceJob("ftjob-missing").ok());
}
