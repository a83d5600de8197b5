#include "connectors/openai/client.h"

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "connectors/http/client.h"
#include "connectors/http/url.h"
#include "connectors/openai/codec.h"
#include "connectors/openai/multipart.h"

namespace openai {
namespace {

using Ms = std::chrono::milliseconds;
using util::Result;
using util::Status;

// Whether a failed call may simply be sent again.
enum class Repeat {
  kSafe,        // no lasting effect, or a repeat is harmless (reads, chat, uploads)
  kCheckFirst,  // after an uncertain failure, look for the result before repeating
};

struct Call {
  Call(std::string m, std::string p) : method(std::move(m)), path(std::move(p)) {}
  // A call with a JSON body.
  static Call Json(std::string m, std::string p, std::string json_body) {
    Call c(std::move(m), std::move(p));
    c.body = std::move(json_body);
    c.content_type = "application/json";
    return c;
  }

  std::string method;
  std::string path;  // below base_url, no query: "/fine_tuning/jobs" (also used in errors)
  http::QueryParams query;
  std::string body;
  std::string content_type;  // empty: no body
  bool bulk = false;         // uploads and downloads: the long timeout
  Repeat repeat = Repeat::kSafe;
  // For kCheckFirst: finds the object an earlier attempt may have created and
  // returns its JSON, or nullopt when there is none.
  std::function<Result<std::optional<std::string>>()> find_existing;
};

// 408, 409 (a conflict that clears), 429 and 5xx: the SDKs' retry set.
bool IsRetryable(int status) { return status == 408 || status == 409 || status == 429 || status >= 500; }

std::optional<Ms> HeaderMs(const http::Headers& h, const char* name) {
  auto v = h.Get(name);
  if (!v) return std::nullopt;
  char* end = nullptr;
  double ms = std::strtod(v->c_str(), &end);
  if (end == v->c_str() || ms < 0 || !std::isfinite(ms)) return std::nullopt;
  return Ms(static_cast<int64_t>(std::ceil(ms)));
}

// What the server asks us to wait, most precise header first.
std::optional<Ms> ServerWait(const http::Headers& h) {
  if (auto ms = HeaderMs(h, "retry-after-ms")) return ms;
  if (auto ra = h.Get("retry-after")) {
    if (auto wait = http::ParseRetryAfter(*ra, std::chrono::system_clock::now())) return wait;
  }
  // The reset time of the exhausted limit; when unclear which one is
  // exhausted, the sooner reset (retrying then costs one more 429 at most).
  std::optional<Ms> exhausted, soonest;
  for (const char* kind : {"requests", "tokens"}) {
    auto reset = h.Get(std::string("x-ratelimit-reset-") + kind);
    if (!reset) continue;
    auto wait = ParseResetDuration(*reset);
    if (!wait) continue;
    if (h.Get(std::string("x-ratelimit-remaining-") + kind) == std::optional<std::string>("0")) {
      exhausted = exhausted ? std::max(*exhausted, *wait) : *wait;
    }
    soonest = soonest ? std::min(*soonest, *wait) : *wait;
  }
  return exhausted ? exhausted : soonest;
}

std::string OneLine(std::string_view text, std::size_t limit) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= ' ') {
      space = !out.empty();
      continue;
    }
    if (out.size() >= limit) {
      while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
      if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
      return out + "...";
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// "400 invalid_request_error: <message> (param x, code y)" from an error answer.
std::string DescribeHttpError(const http::Response& r, bool* insufficient_quota) {
  std::string text = std::to_string(r.status);
  auto err = ParseApiError(r.body);
  if (!err.ok()) {
    if (r.body.empty()) return text + " (empty body)";
    return text + " (not an OpenAI error object: " + OneLine(r.body, 120) + ")";
  }
  *insufficient_quota = err->code == "insufficient_quota" || err->type == "insufficient_quota";
  const std::string& kind = !err->type.empty() ? err->type : err->code;
  if (!kind.empty()) text += " " + kind;
  text += ": " + (err->message.empty() ? std::string("(no message)") : OneLine(err->message, 400));
  std::string extra;
  if (!err->param.empty()) extra += "param " + err->param;
  if (!err->code.empty() && err->code != kind) extra += (extra.empty() ? "" : ", ") + ("code " + err->code);
  if (!extra.empty()) text += " (" + extra + ")";
  if (*insufficient_quota) text += " [billing: waiting will not help]";
  return text;
}

std::string AttemptsNote(int attempts) {
  return attempts > 1 ? " (after " + std::to_string(attempts) + " attempts)" : "";
}

std::string RequestIdNote(const http::Headers& h) {
  auto id = h.Get("x-request-id");
  return id && !id->empty() ? " [request " + OneLine(*id, 80) + "]" : "";
}

std::string RandomToken() {
  std::random_device rd;
  std::uniform_int_distribution<int> hex(0, 15);
  std::string t;
  for (int i = 0; i < 24; ++i) t += "0123456789abcdef"[hex(rd)];
  return t;
}

std::string PathId(const std::string& id) { return http::PercentEncode(id); }

void AddPaging(http::QueryParams& q, const std::string& after, int limit) {
  if (!after.empty()) q.emplace_back("after", after);
  if (limit > 0) q.emplace_back("limit", std::to_string(limit));
}

}  // namespace

// ------------------------------------------------------------ free functions

std::string RedactSecret(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  const std::size_t min_echo = std::min<std::size_t>(8, secret.size());
  std::size_t pos = 0;
  while ((pos = text.find(std::string_view(secret).substr(0, min_echo), pos)) != std::string::npos) {
    std::size_t len = min_echo;
    while (len < secret.size() && pos + len < text.size() && text[pos + len] == secret[len]) ++len;
    text.replace(pos, len, "[redacted]");
    pos += 10;
  }
  return text;
}

std::optional<Ms> ParseResetDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  double total_ms = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (i == start) return std::nullopt;
    double value = std::strtod(std::string(text.substr(start, i - start)).c_str(), nullptr);
    std::size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit == "h") total_ms += value * 3600000;
    else if (unit == "m") total_ms += value * 60000;
    else if (unit == "s" || unit.empty()) total_ms += value * 1000;  // bare number: seconds
    else if (unit == "ms") total_ms += value;
    else if (unit == "us" || unit == "µs") total_ms += value / 1000;
    else if (unit == "ns") total_ms += value / 1e6;
    else return std::nullopt;
  }
  return Ms(static_cast<int64_t>(std::ceil(total_ms)));
}

// ------------------------------------------------------------ Impl

class Client::Impl {
 public:
  Impl(ClientOptions options, std::unique_ptr<http::Client> calls,
       std::unique_ptr<http::Client> bulk)
      : options_(std::move(options)), calls_(std::move(calls)), bulk_(std::move(bulk)) {
    while (!options_.base_url.empty() && options_.base_url.back() == '/') options_.base_url.pop_back();
    if (options_.retry.max_attempts < 1) options_.retry.max_attempts = 1;
  }

  const ClientOptions& options() const { return options_; }

  // Sends `call`, retrying as the header comment of client.h describes, and
  // returns the 2xx response or an error in plain words.
  Result<http::Response> Execute(const Call& call) {
    const std::string prefix = "openai: " + call.method + " " + call.path;
    static thread_local std::mt19937 rng{std::random_device{}()};
    std::uniform_real_distribution<double> uniform(0.0, 1.0);

    for (int attempt = 1;; ++attempt) {
      Result<http::Response> sent = (call.bulk ? bulk_ : calls_)->Send(BuildRequest(call));
      Status failure;
      bool retry = false;
      bool uncertain = false;  // the server may have acted on the request
      std::optional<Ms> server_wait;
      if (!sent.ok()) {
        // Transport failures (refused, reset, timed out) come back as errors.
        failure = Status(sent.status()).WithContext(prefix);
        retry = sent.status().code() == Status::Code::kUnavailable;
        uncertain = true;
      } else {
        http::Response& r = *sent;
        if (r.status >= 200 && r.status < 300) return std::move(r);
        bool no_quota = false;
        std::string what = DescribeHttpError(r, &no_quota) + RequestIdNote(r.headers);
        Status::Code code = no_quota ? Status::Code::kUnauthorized : http::CodeForHttpStatus(r.status);
        failure = MakeStatus(code, prefix + ": " + what);
        retry = IsRetryable(r.status) && !no_quota;
        if (auto should = r.headers.Get("x-should-retry")) {
          if (*should == "true") retry = true;
          if (*should == "false") retry = false;
        }
        uncertain = r.status != 429;
        server_wait = ServerWait(r.headers);
      }
      if (!retry || attempt >= options_.retry.max_attempts) {
        return Redacted(failure, AttemptsNote(attempt));
      }
      Ms wait = http::BackoffDelay(options_.retry, attempt, uniform(rng));
      if (server_wait) {
        if (*server_wait > options_.max_server_wait) {
          return Redacted(failure, AttemptsNote(attempt) + " (the service asks to wait " +
                                       std::to_string(server_wait->count() / 1000) +
                                       " s, more than the allowed " +
                                       std::to_string(options_.max_server_wait.count() / 1000) + " s)");
        }
        wait = *server_wait;
      }
      Sleep(wait);
      if (uncertain && call.repeat == Repeat::kCheckFirst) {
        auto existing = call.find_existing ? call.find_existing() : Result<std::optional<std::string>>(std::nullopt);
        if (!existing.ok()) {
          return Redacted(failure, AttemptsNote(attempt) +
                                       " (not repeated: could not check whether it took effect: " +
                                       existing.status().message() + ")");
        }
        if (*existing) {
          http::Response found;
          found.status = 200;
          found.body = std::move(**existing);
          found.attempts = attempt;
          return found;
        }
      }
    }
  }

  // Execute, then parse the body with `parse`; a body that does not parse is
  // an error naming the call.
  template <typename T, typename Parse>
  Result<T> ExecuteAndParse(const Call& call, Parse parse) {
    auto r = Execute(call);
    if (!r.ok()) return r.status();
    Result<T> parsed = parse(r->body);
    if (!parsed.ok()) {
      return Redacted(parsed.status().WithContext("openai: " + call.method + " " + call.path),
                      RequestIdNote(r->headers));
    }
    return parsed;
  }

  Status Redacted(const Status& st, const std::string& note) const {
    return MakeStatus(st.code(), RedactSecret(st.message() + note, options_.api_key));
  }

 private:
  static Status MakeStatus(Status::Code code, std::string msg) {
    switch (code) {
      case Status::Code::kNotFound: return Status::NotFound(std::move(msg));
      case Status::Code::kInvalidArgument: return Status::InvalidArgument(std::move(msg));
      case Status::Code::kCorruption: return Status::Corruption(std::move(msg));
      case Status::Code::kUnauthorized: return Status::Unauthorized(std::move(msg));
      case Status::Code::kUnavailable: return Status::Unavailable(std::move(msg));
      case Status::Code::kAlreadyExists: return Status::AlreadyExists(std::move(msg));
      case Status::Code::kInternal: return Status::Internal(std::move(msg));
      default: return Status::IOError(std::move(msg));
    }
  }

  http::Request BuildRequest(const Call& call) const {
    http::Request req;
    req.method = call.method;
    http::QueryParams query = call.query;
    query.insert(query.end(), options_.extra_query.begin(), options_.extra_query.end());
    req.url = http::WithQuery(options_.base_url + call.path, query);
    for (const auto& [name, value] : options_.extra_headers) req.headers.Set(name, value);
    if (!options_.api_key.empty()) {
      req.headers.Set(options_.auth_header, options_.auth_scheme.empty()
                                                ? options_.api_key
                                                : options_.auth_scheme + " " + options_.api_key);
    }
    req.headers.Set("Accept", "application/json");
    if (!call.content_type.empty()) req.headers.Set("Content-Type", call.content_type);
    req.body = call.body;
    req.fail_on_http_error = false;  // this client reads the error body itself
    return req;
  }

  void Sleep(Ms d) const {
    if (options_.sleep) options_.sleep(d);
    else std::this_thread::sleep_for(d);
  }

  ClientOptions options_;
  std::unique_ptr<http::Client> calls_;
  std::unique_ptr<http::Client> bulk_;
};

// ------------------------------------------------------------ Client

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  auto url = http::ParseUrl(options.base_url);
  if (!url.ok()) return url.status().WithContext("openai: base_url");
  if (url->has_userinfo) {
    return Status::InvalidArgument("openai: base_url must not hold credentials; set api_key");
  }
  if (options.auth_header.empty()) return Status::InvalidArgument("openai: auth_header is empty");
  auto make = [&](Ms timeout) {
    http::ClientOptions o;
    o.connect_timeout = options.connect_timeout;
    o.request_timeout = timeout;
    o.max_body_bytes = options.max_response_bytes;
    o.ca_file = options.ca_file;
    o.retry.max_attempts = 1;  // retries are decided here, with OpenAI's headers
    o.user_agent = "deskbot-openai/0.1";
    return http::Client::Create(o);
  };
  auto calls = make(options.timeout);
  if (!calls.ok()) return calls.status().WithContext("openai");
  auto bulk = make(options.upload_timeout);
  if (!bulk.ok()) return bulk.status().WithContext("openai");
  return std::unique_ptr<Client>(new Client(
      std::make_unique<Impl>(std::move(options), std::move(*calls), std::move(*bulk))));
}

// ---- files

Result<FileObject> Client::UploadFile(const std::string& path, const std::string& purpose,
                                      const std::string& filename) {
  const std::string name =
      filename.empty() ? std::filesystem::path(path).filename().string() : filename;
  if (purpose == "fine-tune" && !name.ends_with(".jsonl")) {
    return Status::InvalidArgument("openai: upload: fine-tune files must be named *.jsonl, not " + name);
  }
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return Status::IOError("openai: upload: cannot read " + path + ": " + ec.message());
  if (size > impl_->options().max_upload_bytes) {
    return Status::InvalidArgument("openai: upload: " + path + " has " + std::to_string(size) +
                                   " bytes, more than the " +
                                   std::to_string(impl_->options().max_upload_bytes) + " allowed");
  }
  MultipartForm form;
  form.AddField("purpose", purpose);
  form.AddFile("file", path, name);
  // The shared HTTP client sends bodies from memory, so the file is read in
  // chunks into one buffer of exactly the body's size.
  auto body = form.Encode();
  if (!body.ok()) return body.status().WithContext("openai: upload");
  Call call("POST", "/files");
  call.body = std::move(*body);
  call.content_type = form.content_type();
  call.bulk = true;
  return impl_->ExecuteAndParse<FileObject>(call, ParseFileObject);
}

Result<FileObject> Client::UploadFileContent(std::string content, const std::string& filename,
                                             const std::string& purpose) {
  if (filename.empty()) return Status::InvalidArgument("openai: upload: empty filename");
  if (purpose == "fine-tune" && !filename.ends_with(".jsonl")) {
    return Status::InvalidArgument("openai: upload: fine-tune files must be named *.jsonl, not " +
                                   filename);
  }
  if (content.size() > impl_->options().max_upload_bytes) {
    return Status::InvalidArgument("openai: upload: " + filename + " is larger than allowed");
  }
  MultipartForm form;
  form.AddField("purpose", purpose);
  form.AddFileContent("file", std::move(content), filename);
  auto body = form.Encode();
  if (!body.ok()) return body.status().WithContext("openai: upload");
  Call call("POST", "/files");
  call.body = std::move(*body);
  call.content_type = form.content_type();
  call.bulk = true;
  return impl_->ExecuteAndParse<FileObject>(call, ParseFileObject);
}

Result<FileObject> Client::RetrieveFile(const std::string& file_id) {
  if (file_id.empty()) return Status::InvalidArgument("openai: retrieve file: empty file id");
  Call call("GET", "/files/" + PathId(file_id));
  return impl_->ExecuteAndParse<FileObject>(call, ParseFileObject);
}

Result<Page<FileObject>> Client::ListFiles(const FileListParams& params) {
  Call call("GET", "/files");
  if (!params.purpose.empty()) call.query.emplace_back("purpose", params.purpose);
  if (!params.order.empty()) call.query.emplace_back("order", params.order);
  AddPaging(call.query, params.after, params.limit);
  return impl_->ExecuteAndParse<Page<FileObject>>(call, ParseFileList);
}

Result<FileDeleted> Client::DeleteFile(const std::string& file_id) {
  if (file_id.empty()) return Status::InvalidArgument("openai: delete file: empty file id");
  Call call("DELETE", "/files/" + PathId(file_id));
  return impl_->ExecuteAndParse<FileDeleted>(call, ParseFileDeleted);
}

Result<std::string> Client::RetrieveFileContent(const std::string& file_id) {
  if (file_id.empty()) return Status::InvalidArgument("openai: file content: empty file id");
  Call call("GET", "/files/" + PathId(file_id) + "/content");
  call.bulk = true;
  auto r = impl_->Execute(call);
  if (!r.ok()) return r.status();
  return std::move(r->body);
}

// ---- fine-tuning jobs

Result<Job> Client::CreateJob(const JobCreateRequest& request) {
  if (request.model.empty()) return Status::InvalidArgument("openai: create job: no model");
  if (request.training_file.empty()) {
    return Status::InvalidArgument("openai: create job: no training_file");
  }
  if (request.suffix.size() > 64) {
    return Status::InvalidArgument("openai: create job: suffix longer than 64 characters");
  }
  JobCreateRequest tagged = request;
  const std::string& key = impl_->options().idempotency_metadata_key;
  std::string token;
  if (!key.empty()) {
    auto it = tagged.metadata.find(key);
    if (it == tagged.metadata.end()) it = tagged.metadata.emplace(key, RandomToken()).first;
    token = it->second;
  }
  Call call = Call::Json("POST", "/fine_tuning/jobs", EncodeJobCreate(tagged));
  call.repeat = key.empty() ? Repeat::kSafe : Repeat::kCheckFirst;
  // Without a tag there is no way to tell; the service's job ids make a
  // duplicate visible, and creating twice beats never creating.
  call.find_existing = [this, key, token]() -> Result<std::optional<std::string>> {
    Call list("GET", "/fine_tuning/jobs");
    list.query = {{"metadata[" + key + "]", token}, {"limit", "10"}};
    auto r = impl_->Execute(list);
    if (!r.ok()) return r.status();
    // Servers that ignore the filter return other jobs: match the tag here.
    auto doc = nlohmann::json::parse(r->body, nullptr, false);
    if (!doc.is_object() || !doc.contains("data") || !doc["data"].is_array()) {
      return Status::InvalidArgument("malformed job list");
    }
    for (const auto& job : doc["data"]) {
      if (!job.is_object()) continue;
      auto meta = job.find("metadata");
      if (meta == job.end() || !meta->is_object()) continue;
      auto tag = meta->find(key);
      if (tag != meta->end() && *tag == token) return std::optional<std::string>(job.dump());
    }
    return std::optional<std::string>();
  };
  return impl_->ExecuteAndParse<Job>(call, ParseJob);
}

Result<Job> Client::RetrieveJob(const std::string& job_id) {
  if (job_id.empty()) return Status::InvalidArgument("openai: retrieve job: empty job id");
  Call call("GET", "/fine_tuning/jobs/" + PathId(job_id));
  return impl_->ExecuteAndParse<Job>(call, ParseJob);
}

Result<Page<Job>> Client::ListJobs(const JobListParams& params) {
  Call call("GET", "/fine_tuning/jobs");
  AddPaging(call.query, params.after, params.limit);
  for (const auto& [k, v] : params.metadata) call.query.emplace_back("metadata[" + k + "]", v);
  return impl_->ExecuteAndParse<Page<Job>>(call, ParseJobList);
}

Result<Job> Client::CancelJob(const std::string& job_id) {
  if (job_id.empty()) return Status::InvalidArgument("openai: cancel job: empty job id");
  // Cancelling twice has the same effect as once: safe to repeat.
  Call call("POST", "/fine_tuning/jobs/" + PathId(job_id) + "/cancel");
  return impl_->ExecuteAndParse<Job>(call, ParseJob);
}

Result<Page<JobEvent>> Client::ListJobEvents(const std::string& job_id, const ListParams& params) {
  if (job_id.empty()) return Status::InvalidArgument("openai: job events: empty job id");
  Call call("GET", "/fine_tuning/jobs/" + PathId(job_id) + "/events");
  AddPaging(call.query, params.after, params.limit);
  return impl_->ExecuteAndParse<Page<JobEvent>>(call, ParseEventList);
}

Result<Page<Checkpoint>> Client::ListJobCheckpoints(const std::string& job_id,
                                                    const ListParams& params) {
  if (job_id.empty()) return Status::InvalidArgument("openai: job checkpoints: empty job id");
  Call call("GET", "/fine_tuning/jobs/" + PathId(job_id) + "/checkpoints");
  AddPaging(call.query, params.after, params.limit);
  return impl_->ExecuteAndParse<Page<Checkpoint>>(call, ParseCheckpointList);
}

// ---- inference

namespace {
std::string ModelPath(std::string path, const std::string& model) {
  const std::string placeholder = "{model}";
  if (auto pos = path.find(placeholder); pos != std::string::npos) {
    path.replace(pos, placeholder.size(), http::PercentEncode(model));
  }
  return path;
}
}  // namespace

Result<ChatResponse> Client::CreateChatCompletion(const ChatRequest& request) {
  if (request.model.empty()) return Status::InvalidArgument("openai: chat: no model");
  if (request.messages.empty()) return Status::InvalidArgument("openai: chat: no messages");
  if (request.stop.size() > 4) return Status::InvalidArgument("openai: chat: more than 4 stop sequences");
  Call call = Call::Json("POST", ModelPath(impl_->options().chat_path, request.model),
                         EncodeChatRequest(request, impl_->options().max_tokens_field));
  auto out = impl_->ExecuteAndParse<ChatResponse>(call, ParseChatResponse);
  if (out.ok() && out->choices.empty()) {
    return Status::InvalidArgument("openai: POST " + call.path + ": malformed response: no choices");
  }
  return out;
}

Result<EmbeddingResponse> Client::CreateEmbeddings(const EmbeddingRequest& request) {
  if (request.model.empty()) return Status::InvalidArgument("openai: embeddings: no model");
  if (request.input.empty()) return Status::InvalidArgument("openai: embeddings: no input");
  if (request.input.size() > 2048) {
    return Status::InvalidArgument("openai: embeddings: more than 2048 inputs in one request");
  }
  for (std::size_t i = 0; i < request.input.size(); ++i) {
    if (request.input[i].empty()) {
      return Status::InvalidArgument("openai: embeddings: input " + std::to_string(i) + " is empty");
    }
  }
  Call call = Call::Json("POST", ModelPath(impl_->options().embeddings_path, request.model),
                         EncodeEmbeddingRequest(request));
  auto out = impl_->ExecuteAndParse<EmbeddingResponse>(call, ParseEmbeddingResponse);
  if (out.ok() && out->embeddings.size() != request.input.size()) {
    return Status::InvalidArgument("openai: POST " + call.path + ": malformed response: " +
                                   std::to_string(request.input.size()) + " inputs but " +
                                   std::to_string(out->embeddings.size()) + " embeddings");
  }
  return out;
}

}  // namespace openai
