// A fake OpenAI API server for tests, on the project's HTTP server.
//
// It implements the endpoints connectors/openai uses (files, fine-tuning jobs
// with events and checkpoints, chat completions, embeddings), answers in the
// shapes of the vendor's documented examples (tests/data/openai), and checks
// requests the way the service does: the auth header, required fields, value
// ranges, unknown arguments, and every line of an uploaded training file.
//
// Jobs move validating_files -> queued -> running -> succeeded one step per
// GET of the job (or per AdvanceJob()), failing at validation when the
// training file has too few examples or the wrong format for the method, or
// when a test asks for a failure. Tests can inject 429s (with Retry-After and
// x-ratelimit headers), 5xx and malformed bodies.
//
//   openai_fake::FakeOpenAI fake;
//   REQUIRE(fake.Start().ok());
//   options.base_url = fake.base_url();   // http://127.0.0.1:<port>/v1
//   options.api_key = fake.api_key();
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "connectors/util/status.h"

namespace openai_fake {

struct FakeOptions {
  std::string api_key = "sk-fake-0123456789abcdefghijklmnop";
  // How the key must arrive: "Authorization: Bearer <key>" or, Azure-style,
  // auth_header "api-key" with an empty scheme.
  std::string auth_header = "Authorization";
  std::string auth_scheme = "Bearer";
  std::string path_prefix = "/v1";  // Azure: "/openai"
  // A query parameter every request must carry, e.g. {"api-version", "2024-10-21"}.
  std::optional<std::pair<std::string, std::string>> required_query;
  std::string organization = "deskbot";  // appears in fine-tuned model names
  int64_t min_examples = 10;
  // Answer 400 to max_completion_tokens, like older OpenAI-compatible servers.
  bool legacy_max_tokens_only = false;
  // Put the whole received key in 401 messages (a misbehaving proxy), to prove
  // that clients redact it.
  bool echo_key_in_errors = false;
  // Each GET /fine_tuning/jobs/{id} advances the job one step.
  bool advance_on_poll = true;
  std::size_t max_body_bytes = 16u << 20;
  int embedding_dimensions = 16;  // default when the request gives none
};

// An answer the fake gives instead of handling a request.
struct Fault {
  int times = 1;             // how many matching requests get it
  std::string method;        // "" = any
  std::string path_prefix;   // below path_prefix, e.g. "/fine_tuning/jobs"; "" = any
  int status = 500;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// A chat answer: the first rule whose `contains` occurs (case-insensitive)
// in the last user message wins; otherwise the answer is "echo: <message>".
struct ChatRule {
  std::string contains;
  std::string answer;
  std::string finish_reason = "stop";
};

struct RecordedRequest {
  std::string method;
  std::string path;   // without the prefix: "/files"
  std::string query;
  std::string content_type;
  std::string auth;   // the auth header value as received (tests check it arrives)
  std::string body;
};

class FakeOpenAI {
 public:
  explicit FakeOpenAI(FakeOptions options = {});
  ~FakeOpenAI();
  FakeOpenAI(const FakeOpenAI&) = delete;
  FakeOpenAI& operator=(const FakeOpenAI&) = delete;

  util::Status Start();  // listens on 127.0.0.1, an ephemeral port
  void Stop();
  std::string base_url() const;  // "http://127.0.0.1:<port>/v1"
  const std::string& api_key() const;

  // ---- faults
  void Inject(Fault fault);
  // 429 rate_limit_exceeded with retry-after (seconds) and x-ratelimit-* headers.
  void InjectRateLimit(int times, int retry_after_seconds = 1, std::string path_prefix = "");
  // 429 insufficient_quota: no retry header, waiting does not help.
  void InjectQuotaExceeded(int times);
  void InjectServerError(int times, int status = 500, std::string path_prefix = "");
  // 200 with a truncated JSON body.
  void InjectMalformed(int times, std::string path_prefix = "");

  // ---- jobs
  // One step along validating_files -> queued -> running -> succeeded.
  util::Status AdvanceJob(const std::string& job_id);
  // Steps until the job is terminal.
  util::Status RunJobToEnd(const std::string& job_id);
  // The job fails at its next step with this error.
  util::Status FailJobNextStep(const std::string& job_id, std::string code, std::string message,
                               std::string param);

  // ---- chat
  void AddChatRule(ChatRule rule);

  // ---- observation
  std::vector<RecordedRequest> requests() const;
  int CountRequests(const std::string& method, const std::string& path_prefix) const;
  // Bytes of an uploaded file as received (empty when unknown).
  std::string FileContent(const std::string& file_id) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace openai_fake
