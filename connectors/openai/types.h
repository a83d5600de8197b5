// The objects of the OpenAI REST API (files, fine-tuning jobs, chat
// completions, embeddings) as plain structs, in the API's own terms.
//
// Only the fields a caller acts on are kept; unknown fields in responses are
// ignored so newer API versions (and OpenAI-compatible servers) still parse.
// Nothing here names a vendor or a model: those are configuration.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace openai {

// One page of a list endpoint ({"object":"list","data":[...],"has_more":...}).
// Pass `last_id` (or the id of the last element) as `after` to get the next page.
template <typename T>
struct Page {
  std::vector<T> data;
  bool has_more = false;
  std::string first_id;  // may be empty: not every list endpoint sends it
  std::string last_id;
};

struct ListParams {
  std::string after;  // cursor: an object id; empty = from the start
  int limit = 0;      // 0 = the service default
};

// ---------------------------------------------------------------- files

struct FileObject {
  std::string id;  // "file-abc123"
  int64_t bytes = 0;
  int64_t created_at = 0;
  std::optional<int64_t> expires_at;
  std::string filename;
  std::string purpose;  // "fine-tune", "fine-tune-results", ...
};

struct FileListParams {
  std::string purpose;  // empty = all
  std::string after;
  int limit = 0;
  std::string order;  // "asc" | "desc" | "" (service default)
};

struct FileDeleted {
  std::string id;
  bool deleted = false;
};

// ---------------------------------------------------------------- fine-tuning

// A hyperparameter is either left out (the service default), the string
// "auto" (the service chooses), or a number.
struct HyperParam {
  enum class Kind { kUnset, kAuto, kValue };
  Kind kind = Kind::kUnset;
  double value = 0;

  static HyperParam Auto() { return {Kind::kAuto, 0}; }
  static HyperParam Of(double v) { return {Kind::kValue, v}; }
  bool is_set() const { return kind != Kind::kUnset; }
  bool is_value() const { return kind == Kind::kValue; }
};

struct Hyperparameters {
  HyperParam n_epochs;                  // 1..50
  HyperParam batch_size;                // 1..256
  HyperParam learning_rate_multiplier;  // > 0
  HyperParam beta;                      // DPO only, (0, 2]
};

enum class MethodType { kSupervised, kDpo };
const char* MethodTypeName(MethodType type);  // "supervised" | "dpo"

struct Method {
  MethodType type = MethodType::kSupervised;
  Hyperparameters hyperparameters;
};

struct JobCreateRequest {
  std::string model;          // required: base or fine-tuned model name
  std::string training_file;  // required: a file id with purpose fine-tune
  std::string validation_file;
  std::string suffix;         // 1..64 characters; appears in the model name
  std::optional<int64_t> seed;
  std::optional<Method> method;  // absent = the service default (supervised)
  std::map<std::string, std::string> metadata;
};

enum class JobStatus {
  kValidatingFiles,
  kQueued,
  kRunning,
  kSucceeded,
  kFailed,
  kCancelled,
  kOther,  // a status this code does not know (e.g. "paused"); see Job::status_text
};
const char* JobStatusName(JobStatus status);
JobStatus ParseJobStatus(const std::string& text);
// succeeded, failed and cancelled never change again.
bool IsTerminal(JobStatus status);

// Why a job failed. All empty while the job has not failed.
struct JobError {
  std::string code;
  std::string message;
  std::string param;
  bool empty() const { return code.empty() && message.empty() && param.empty(); }
};

struct Job {
  std::string id;  // "ftjob-..."
  std::string model;
  int64_t created_at = 0;
  std::optional<int64_t> finished_at;
  JobStatus status = JobStatus::kOther;
  std::string status_text;       // as sent
  std::string fine_tuned_model;  // empty until succeeded
  std::string organization_id;
  std::string training_file;
  std::string validation_file;
  std::vector<std::string> result_files;
  std::optional<int64_t> trained_tokens;  // billable tokens; only once finished
  JobError error;
  std::optional<int64_t> estimated_finish;
  std::optional<int64_t> seed;
  std::optional<Method> method;
  std::string user_provided_suffix;
  std::map<std::string, std::string> metadata;

  bool terminal() const { return IsTerminal(status); }
};

struct JobListParams {
  std::string after;
  int limit = 0;
  std::map<std::string, std::string> metadata;  // filter: metadata[k]=v
};

struct JobEvent {
  std::string id;
  int64_t created_at = 0;
  std::string level;    // "info" | "warn" | "error"
  std::string message;
  std::string type;     // "message" | "metrics"
  // Numeric fields of `data` (step, train_loss, valid_loss, total_steps...).
  std::map<std::string, double> metrics;
  std::string data_json;  // `data` exactly as sent ("null" when absent)
};

struct Checkpoint {
  std::string id;  // "ftckpt_..."
  int64_t created_at = 0;
  std::string fine_tuned_model_checkpoint;  // usable as a model name
  std::string fine_tuning_job_id;
  int64_t step_number = 0;
  std::map<std::string, double> metrics;  // train_loss, valid_loss, full_valid_loss...
};

// ---------------------------------------------------------------- chat

struct ChatMessage {
  std::string role;     // "system" | "developer" | "user" | "assistant" | "tool"
  std::string content;  // text; empty when the service sent null (tool calls, refusals)
  std::string name;     // optional participant name
};

struct ChatRequest {
  std::string model;
  std::vector<ChatMessage> messages;
  std::optional<double> temperature;  // 0..2
  std::optional<double> top_p;
  // Output cap. Sent under the field name chosen in ClientOptions
  // (max_completion_tokens for OpenAI, max_tokens for older compatible servers).
  std::optional<int> max_completion_tokens;
  std::optional<int> n;  // number of choices; each is billed
  std::vector<std::string> stop;  // up to 4 sequences
  std::optional<int64_t> seed;
  std::string user;  // stable, hashed end-user id
};

struct Choice {
  int index = 0;
  ChatMessage message;
  std::string refusal;
  // "stop" | "length" (truncated) | "tool_calls" | "content_filter"
  std::string finish_reason;
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;  // chat only
  int64_t total_tokens = 0;
};

struct ChatResponse {
  std::string id;
  std::string model;
  int64_t created = 0;
  std::vector<Choice> choices;
  Usage usage;
  bool has_usage = false;  // some compatible servers leave usage out
};

// ---------------------------------------------------------------- embeddings

struct EmbeddingRequest {
  std::string model;
  std::vector<std::string> input;  // 1..2048 non-empty strings
  std::optional<int> dimensions;   // shorten vectors (models that support it)
  std::string user;
};

struct EmbeddingResponse {
  std::string model;
  std::vector<std::vector<float>> embeddings;  // embeddings[i] belongs to input[i]
  Usage usage;
};

// ---------------------------------------------------------------- errors

// The body of every non-2xx answer:
// {"error":{"message":"...","type":"...","param":...,"code":...}}.
struct ApiError {
  std::string message;
  std::string type;   // "invalid_request_error", ...
  std::string param;
  std::string code;   // "rate_limit_exceeded", "insufficient_quota", ...
};

}  // namespace openai
