// A client for the OpenAI REST API: files, fine-tuning jobs, chat completions
// and embeddings, over the shared blocking HTTP client (connectors/http).
//
// Provider-neutral: base URL, the auth header and its scheme, extra headers,
// extra query parameters (Azure's api-version), the chat/embeddings paths and
// the name of the output-cap field are all options, so the same code talks to
// OpenAI, Azure OpenAI and OpenAI-compatible servers (vLLM, llama.cpp, Ollama).
//
//   openai::ClientOptions options;
//   options.api_key = secret;   // from config.Secret(), never logged
//   auto client = openai::Client::Create(options);
//   auto file = (*client)->UploadFile("/data/train.jsonl");
//   auto job = (*client)->CreateJob({.model = "gpt-4o-mini-2024-07-18",
//                                    .training_file = file->id});
//
// Errors read "openai: POST /fine_tuning/jobs: 400 invalid_request_error:
// <the service's message> (param ..., code ...)". Status codes: 400/422
// invalid argument, 401/403 unauthorized (also 429 insufficient_quota, which
// waiting never fixes), 404 not found, 409 already exists, 429/5xx/timeouts
// unavailable. The API key is blanked out of every message, even when a
// server echoes it back.
//
// Retries: 408, 409, 429 and 5xx and connection failures are retried up to
// retry.max_attempts, waiting what the server asks for (retry-after-ms,
// retry-after, x-ratelimit-reset-requests/-tokens) or else the policy's
// exponential backoff with jitter; `x-should-retry` overrides. A wait longer
// than max_server_wait ends the retries with a clear error. Job creation is
// not blindly repeated: after an uncertain failure the client first looks for
// the job by an idempotency tag it put in the job's metadata.
#pragma once

#include <chrono>
#include <functional>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/http/retry.h"
#include "connectors/openai/types.h"
#include "connectors/util/status.h"

namespace openai {

// 3 attempts, waits of 0.5 s doubling to at most 8 s, +-25 % jitter.
inline http::RetryPolicy SdkRetryPolicy() {
  http::RetryPolicy p;
  p.max_attempts = 3;
  p.initial_delay = std::chrono::milliseconds(500);
  p.multiplier = 2.0;
  p.max_delay = std::chrono::milliseconds(8000);
  p.jitter = 0.25;
  return p;
}

struct ClientOptions {
  std::string base_url = "https://api.openai.com/v1";
  std::string api_key;  // a secret: sent, never repeated in errors
  // How the key is sent: "Authorization: Bearer <key>" for OpenAI,
  // auth_header "api-key" with an empty scheme for Azure OpenAI.
  std::string auth_header = "Authorization";
  std::string auth_scheme = "Bearer";
  // e.g. {"OpenAI-Organization", "org-..."}, {"OpenAI-Project", "proj_..."}
  std::vector<std::pair<std::string, std::string>> extra_headers;
  // Added to every URL, e.g. {"api-version", "2024-10-21"} for Azure.
  std::vector<std::pair<std::string, std::string>> extra_query;
  // Paths below base_url. "{model}" is replaced by the request's model (Azure
  // deployments: "/deployments/{model}/chat/completions").
  std::string chat_path = "/chat/completions";
  std::string embeddings_path = "/embeddings";
  // Name of the output cap in chat requests: "max_completion_tokens" for
  // OpenAI, "max_tokens" for older OpenAI-compatible servers.
  std::string max_tokens_field = "max_completion_tokens";

  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds timeout{120000};         // one attempt of a JSON call
  std::chrono::milliseconds upload_timeout{900000};  // one attempt of an upload/download
  uint64_t max_upload_bytes = 512ull << 20;          // the service's per-file limit
  std::size_t max_response_bytes = 64u << 20;

  // The official SDKs' policy: 3 attempts, 0.5 s doubling to at most 8 s.
  http::RetryPolicy retry = SdkRetryPolicy();
  // A server asking for a longer wait than this ends the retries.
  std::chrono::milliseconds max_server_wait{120000};

  // Metadata key under which CreateJob stores a random request id, so that a
  // create whose answer was lost can be found instead of repeated. Empty:
  // do not tag (for servers without metadata filtering).
  std::string idempotency_metadata_key = "deskbot_request_id";

  std::string ca_file;  // PEM bundle to trust instead of the system store
  // Waits between attempts; tests replace it to avoid sleeping.
  std::function<void(std::chrono::milliseconds)> sleep;
};

// Safe to use from many threads at once (the HTTP client underneath is).
class Client {
 public:
  // Fails on a bad base URL or an unreadable ca_file.
  static util::Result<std::unique_ptr<Client>> Create(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // ---- files
  // Uploads the file at `path` (multipart/form-data). `filename` defaults to
  // the path's last component; for purpose "fine-tune" it must end ".jsonl".
  util::Result<FileObject> UploadFile(const std::string& path,
                                      const std::string& purpose = "fine-tune",
                                      const std::string& filename = "");
  // Same, for bytes already in memory.
  util::Result<FileObject> UploadFileContent(std::string content, const std::string& filename,
                                             const std::string& purpose = "fine-tune");
  util::Result<FileObject> RetrieveFile(const std::string& file_id);
  util::Result<Page<FileObject>> ListFiles(const FileListParams& params = {});
  util::Result<FileDeleted> DeleteFile(const std::string& file_id);
  // The file's raw bytes (e.g. a job's result file: CSV of training metrics).
  util::Result<std::string> RetrieveFileContent(const std::string& file_id);

  // ---- fine-tuning jobs
  util::Result<Job> CreateJob(const JobCreateRequest& request);
  util::Result<Job> RetrieveJob(const std::string& job_id);
  util::Result<Page<Job>> ListJobs(const JobListParams& params = {});
  util::Result<Job> CancelJob(const std::string& job_id);
  // Newest first; pass the last event's id as `after` for older ones.
  util::Result<Page<JobEvent>> ListJobEvents(const std::string& job_id,
                                             const ListParams& params = {});
  util::Result<Page<Checkpoint>> ListJobCheckpoints(const std::string& job_id,
                                                    const ListParams& params = {});

  // ---- inference
  util::Result<ChatResponse> CreateChatCompletion(const ChatRequest& request);
  // Vectors come back in input order, whatever order the server sent them in.
  util::Result<EmbeddingResponse> CreateEmbeddings(const EmbeddingRequest& request);

 private:
  class Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---- pieces of the client's behaviour, exposed for tests

// Blanks `secret` out of `text`, including any echoed prefix of it of 8 or
// more characters (services echo keys partly: "sk-proj-abcd****").
std::string RedactSecret(std::string text, const std::string& secret);

// A Go-style duration as in x-ratelimit-reset-*: "1s", "6m0s", "12ms",
// "1h2m3.5s". nullopt when unparseable.
std::optional<std::chrono::milliseconds> ParseResetDuration(std::string_view text);

}  // namespace openai
