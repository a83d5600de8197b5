#include "connectors/openai/codec.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace openai {
namespace {

using json = nlohmann::json;

// ------------------------------------------------------------ parse helpers

// Parses `body` as one JSON object; `what` names the expected object in errors.
util::Result<json> ParseObject(std::string_view body, const char* what) {
  json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return util::Status::InvalidArgument(std::string("malformed response: expected a ") + what +
                                         " JSON object, got " + std::to_string(body.size()) +
                                         " bytes that are not JSON");
  }
  if (!doc.is_object()) {
    return util::Status::InvalidArgument(std::string("malformed response: expected a ") + what +
                                         " JSON object, got " + doc.type_name());
  }
  return doc;
}

// Reads fields of one response object and remembers the first problem, so a
// parser reads straight through and checks status() once at the end.
class Fields {
 public:
  Fields(const json& obj, std::string what) : obj_(obj), what_(std::move(what)) {}

  std::string String(const char* key, bool required = false) {
    const json* v = Find(key, required);
    if (v == nullptr) return "";
    if (v->is_string()) return v->get<std::string>();
    Fail(key, "is not a string");
    return "";
  }

  // An id-like field that some servers send as a number.
  std::string StringOrNumber(const char* key) {
    const json* v = Find(key, false);
    if (v == nullptr) return "";
    if (v->is_string()) return v->get<std::string>();
    if (v->is_number()) return v->dump();
    Fail(key, "is not a string");
    return "";
  }

  std::optional<int64_t> Int(const char* key, bool required = false) {
    const json* v = Find(key, required);
    if (v == nullptr) return std::nullopt;
    if (v->is_number_integer() || v->is_number_unsigned()) return v->get<int64_t>();
    if (v->is_number_float()) return static_cast<int64_t>(std::llround(v->get<double>()));
    Fail(key, "is not a number");
    return std::nullopt;
  }

  bool Bool(const char* key) {
    const json* v = Find(key, false);
    if (v == nullptr) return false;
    if (v->is_boolean()) return v->get<bool>();
    Fail(key, "is not a boolean");
    return false;
  }

  // The member `key` when it is present and not null.
  const json* Find(const char* key, bool required) {
    auto it = obj_.find(key);
    if (it == obj_.end() || it->is_null()) {
      if (required) Fail(key, "is missing");
      return nullptr;
    }
    return &*it;
  }

  void Fail(const std::string& key, const std::string& problem) {
    if (status_.ok()) {
      status_ = util::Status::InvalidArgument("malformed response: " + what_ + ": field \"" + key +
                                              "\" " + problem);
    }
  }
  void Merge(const util::Status& st) {
    if (status_.ok() && !st.ok()) status_ = st;
  }
  const util::Status& status() const { return status_; }

 private:
  const json& obj_;
  std::string what_;
  util::Status status_;
};

std::map<std::string, std::string> StringMap(Fields& f, const char* key) {
  std::map<std::string, std::string> out;
  const json* v = f.Find(key, false);
  if (v == nullptr) return out;
  if (!v->is_object()) {
    f.Fail(key, "is not an object");
    return out;
  }
  for (const auto& [k, val] : v->items()) {
    out[k] = val.is_string() ? val.get<std::string>() : val.dump();
  }
  return out;
}

std::map<std::string, double> NumberMap(const json* v) {
  std::map<std::string, double> out;
  if (v == nullptr || !v->is_object()) return out;
  for (const auto& [k, val] : v->items()) {
    if (val.is_number()) out[k] = val.get<double>();
  }
  return out;
}

HyperParam ParseHyper(Fields& f, const char* key) {
  const json* v = f.Find(key, false);
  if (v == nullptr) return {};
  if (v->is_string() && v->get<std::string>() == "auto") return HyperParam::Auto();
  if (v->is_number()) return HyperParam::Of(v->get<double>());
  f.Fail(key, "is neither \"auto\" nor a number");
  return {};
}

Hyperparameters ParseHyperparameters(const json& obj, const std::string& what, Fields& parent) {
  Hyperparameters h;
  if (!obj.is_object()) {
    parent.Fail("hyperparameters", "is not an object");
    return h;
  }
  Fields f(obj, what + ".hyperparameters");
  h.n_epochs = ParseHyper(f, "n_epochs");
  h.batch_size = ParseHyper(f, "batch_size");
  h.learning_rate_multiplier = ParseHyper(f, "learning_rate_multiplier");
  h.beta = ParseHyper(f, "beta");
  parent.Merge(f.status());
  return h;
}

std::optional<Method> ParseMethod(Fields& job) {
  const json* m = job.Find("method", false);
  if (m == nullptr) {
    // Older jobs carry only the (deprecated) top-level hyperparameters.
    const json* h = job.Find("hyperparameters", false);
    if (h == nullptr) return std::nullopt;
    Method method;
    method.hyperparameters = ParseHyperparameters(*h, "fine_tuning.job", job);
    return method;
  }
  if (!m->is_object()) {
    job.Fail("method", "is not an object");
    return std::nullopt;
  }
  Fields f(*m, "fine_tuning.job.method");
  Method method;
  std::string type = f.String("type", true);
  if (type == "supervised") {
    method.type = MethodType::kSupervised;
  } else if (type == "dpo") {
    method.type = MethodType::kDpo;
  } else if (!type.empty()) {
    // reinforcement and future methods: keep the job readable, drop the details.
    job.Merge(f.status());
    return std::nullopt;
  }
  if (const json* section = f.Find(type.c_str(), false)) {
    if (section->is_object()) {
      auto it = section->find("hyperparameters");
      if (it != section->end() && !it->is_null()) {
        method.hyperparameters = ParseHyperparameters(*it, "fine_tuning.job.method", f);
      }
    }
  }
  job.Merge(f.status());
  return method;
}

// Applies `parse_one` to every element of `data` in a list object.
template <typename T, typename Fn>
util::Result<Page<T>> ParseList(std::string_view body, const char* what, Fn parse_one) {
  auto doc = ParseObject(body, "list");
  if (!doc.ok()) return doc.status();
  Fields f(*doc, std::string("list of ") + what);
  Page<T> page;
  const json* data = f.Find("data", true);
  if (data != nullptr && !data->is_array()) f.Fail("data", "is not an array");
  page.has_more = f.Bool("has_more");
  page.first_id = f.String("first_id");
  page.last_id = f.String("last_id");
  if (!f.status().ok()) return f.status();
  for (const json& item : *data) {
    if (!item.is_object()) {
      return util::Status::InvalidArgument(std::string("malformed response: list of ") + what +
                                           ": an element is not an object");
    }
    auto one = parse_one(item);
    if (!one.ok()) return one.status();
    page.data.push_back(std::move(one).value());
  }
  if (page.last_id.empty() && !page.data.empty()) page.last_id = page.data.back().id;
  if (page.first_id.empty() && !page.data.empty()) page.first_id = page.data.front().id;
  return page;
}

// ------------------------------------------------------------ one object each

util::Result<FileObject> FileFromJson(const json& obj) {
  Fields f(obj, "file");
  FileObject file;
  file.id = f.String("id", true);
  file.bytes = f.Int("bytes").value_or(0);
  file.created_at = f.Int("created_at").value_or(0);
  file.expires_at = f.Int("expires_at");
  file.filename = f.String("filename");
  file.purpose = f.String("purpose");
  if (!f.status().ok()) return f.status();
  return file;
}

util::Result<Job> JobFromJson(const json& obj) {
  Fields f(obj, "fine_tuning.job");
  Job job;
  job.id = f.String("id", true);
  job.model = f.String("model");
  job.created_at = f.Int("created_at").value_or(0);
  job.finished_at = f.Int("finished_at");
  job.status_text = f.String("status", true);
  job.status = ParseJobStatus(job.status_text);
  job.fine_tuned_model = f.String("fine_tuned_model");
  job.organization_id = f.String("organization_id");
  job.training_file = f.String("training_file");
  job.validation_file = f.String("validation_file");
  if (const json* files = f.Find("result_files", false)) {
    if (!files->is_array()) {
      f.Fail("result_files", "is not an array");
    } else {
      for (const json& id : *files) {
        if (id.is_string()) job.result_files.push_back(id.get<std::string>());
      }
    }
  }
  job.trained_tokens = f.Int("trained_tokens");
  if (const json* err = f.Find("error", false)) {
    if (err->is_object()) {
      Fields e(*err, "fine_tuning.job.error");
      job.error.code = e.StringOrNumber("code");
      job.error.message = e.String("message");
      job.error.param = e.String("param");
      f.Merge(e.status());
    }
  }
  job.estimated_finish = f.Int("estimated_finish");
  job.seed = f.Int("seed");
  job.method = ParseMethod(f);
  job.user_provided_suffix = f.String("user_provided_suffix");
  job.metadata = StringMap(f, "metadata");
  if (!f.status().ok()) return f.status();
  return job;
}

util::Result<JobEvent> EventFromJson(const json& obj) {
  Fields f(obj, "fine_tuning.job.event");
  JobEvent event;
  event.id = f.String("id", true);
  event.created_at = f.Int("created_at").value_or(0);
  event.level = f.String("level");
  event.message = f.String("message");
  event.type = f.String("type");
  const json* data = f.Find("data", false);
  event.metrics = NumberMap(data);
  event.data_json = data ? data->dump() : "null";
  if (!f.status().ok()) return f.status();
  return event;
}

util::Result<Checkpoint> CheckpointFromJson(const json& obj) {
  Fields f(obj, "fine_tuning.job.checkpoint");
  Checkpoint ckpt;
  ckpt.id = f.String("id", true);
  ckpt.created_at = f.Int("created_at").value_or(0);
  ckpt.fine_tuned_model_checkpoint = f.String("fine_tuned_model_checkpoint");
  ckpt.fine_tuning_job_id = f.String("fine_tuning_job_id");
  ckpt.step_number = f.Int("step_number").value_or(0);
  ckpt.metrics = NumberMap(f.Find("metrics", false));
  if (!f.status().ok()) return f.status();
  return ckpt;
}

// Message content is a string, null, or an array of parts; text parts are joined.
std::string ContentText(const json* content) {
  if (content == nullptr) return "";
  if (content->is_string()) return content->get<std::string>();
  std::string text;
  if (content->is_array()) {
    for (const json& part : *content) {
      auto t = part.find("text");
      if (part.is_object() && t != part.end() && t->is_string()) text += t->get<std::string>();
    }
  }
  return text;
}

Usage ParseUsage(const json& obj, Fields& parent) {
  Fields f(obj, "usage");
  Usage usage;
  usage.prompt_tokens = f.Int("prompt_tokens").value_or(0);
  usage.completion_tokens = f.Int("completion_tokens").value_or(0);
  usage.total_tokens = f.Int("total_tokens").value_or(0);
  parent.Merge(f.status());
  return usage;
}

json HyperToJson(const HyperParam& h, bool integer) {
  if (h.kind == HyperParam::Kind::kAuto) return "auto";
  if (integer) return static_cast<int64_t>(std::llround(h.value));
  return h.value;
}

}  // namespace

// ------------------------------------------------------------ enums

const char* MethodTypeName(MethodType type) {
  return type == MethodType::kDpo ? "dpo" : "supervised";
}

const char* JobStatusName(JobStatus status) {
  switch (status) {
    case JobStatus::kValidatingFiles: return "validating_files";
    case JobStatus::kQueued: return "queued";
    case JobStatus::kRunning: return "running";
    case JobStatus::kSucceeded: return "succeeded";
    case JobStatus::kFailed: return "failed";
    case JobStatus::kCancelled: return "cancelled";
    case JobStatus::kOther: return "other";
  }
  return "other";
}

JobStatus ParseJobStatus(const std::string& text) {
  for (JobStatus s : {JobStatus::kValidatingFiles, JobStatus::kQueued, JobStatus::kRunning,
                      JobStatus::kSucceeded, JobStatus::kFailed, JobStatus::kCancelled}) {
    if (text == JobStatusName(s)) return s;
  }
  return JobStatus::kOther;
}

bool IsTerminal(JobStatus status) {
  return status == JobStatus::kSucceeded || status == JobStatus::kFailed ||
         status == JobStatus::kCancelled;
}

// ------------------------------------------------------------ encoders

std::string EncodeJobCreate(const JobCreateRequest& r) {
  json body = {{"model", r.model}, {"training_file", r.training_file}};
  if (!r.validation_file.empty()) body["validation_file"] = r.validation_file;
  if (!r.suffix.empty()) body["suffix"] = r.suffix;
  if (r.seed) body["seed"] = *r.seed;
  if (r.method) {
    const Hyperparameters& h = r.method->hyperparameters;
    json hp = json::object();
    if (h.n_epochs.is_set()) hp["n_epochs"] = HyperToJson(h.n_epochs, true);
    if (h.batch_size.is_set()) hp["batch_size"] = HyperToJson(h.batch_size, true);
    if (h.learning_rate_multiplier.is_set()) {
      hp["learning_rate_multiplier"] = HyperToJson(h.learning_rate_multiplier, false);
    }
    if (r.method->type == MethodType::kDpo && h.beta.is_set()) {
      hp["beta"] = HyperToJson(h.beta, false);
    }
    const char* type = MethodTypeName(r.method->type);
    body["method"] = {{"type", type}, {type, {{"hyperparameters", hp}}}};
  }
  if (!r.metadata.empty()) body["metadata"] = r.metadata;
  return body.dump();
}

std::string EncodeChatRequest(const ChatRequest& r, const std::string& max_tokens_field) {
  json messages = json::array();
  for (const ChatMessage& m : r.messages) {
    json msg = {{"role", m.role}, {"content", m.content}};
    if (!m.name.empty()) msg["name"] = m.name;
    messages.push_back(std::move(msg));
  }
  json body = {{"model", r.model}, {"messages", std::move(messages)}};
  if (r.temperature) body["temperature"] = *r.temperature;
  if (r.top_p) body["top_p"] = *r.top_p;
  if (r.max_completion_tokens) {
    body[max_tokens_field.empty() ? "max_completion_tokens" : max_tokens_field] =
        *r.max_completion_tokens;
  }
  if (r.n) body["n"] = *r.n;
  if (!r.stop.empty()) body["stop"] = r.stop;
  if (r.seed) body["seed"] = *r.seed;
  if (!r.user.empty()) body["user"] = r.user;
  return body.dump();
}

std::string EncodeEmbeddingRequest(const EmbeddingRequest& r) {
  json body = {{"model", r.model}, {"input", r.input}, {"encoding_format", "float"}};
  if (r.dimensions) body["dimensions"] = *r.dimensions;
  if (!r.user.empty()) body["user"] = r.user;
  return body.dump();
}

// ------------------------------------------------------------ parsers

util::Result<FileObject> ParseFileObject(std::string_view body) {
  auto doc = ParseObject(body, "file");
  if (!doc.ok()) return doc.status();
  return FileFromJson(*doc);
}

util::Result<Page<FileObject>> ParseFileList(std::string_view body) {
  return ParseList<FileObject>(body, "files", FileFromJson);
}

util::Result<FileDeleted> ParseFileDeleted(std::string_view body) {
  auto doc = ParseObject(body, "file deletion");
  if (!doc.ok()) return doc.status();
  Fields f(*doc, "file deletion");
  FileDeleted out;
  out.id = f.String("id", true);
  out.deleted = f.Bool("deleted");
  if (!f.status().ok()) return f.status();
  return out;
}

util::Result<Job> ParseJob(std::string_view body) {
  auto doc = ParseObject(body, "fine_tuning.job");
  if (!doc.ok()) return doc.status();
  return JobFromJson(*doc);
}

util::Result<Page<Job>> ParseJobList(std::string_view body) {
  return ParseList<Job>(body, "fine_tuning.job", JobFromJson);
}

util::Result<Page<JobEvent>> ParseEventList(std::string_view body) {
  return ParseList<JobEvent>(body, "fine_tuning.job.event", EventFromJson);
}

util::Result<Page<Checkpoint>> ParseCheckpointList(std::string_view body) {
  return ParseList<Checkpoint>(body, "fine_tuning.job.checkpoint", CheckpointFromJson);
}

util::Result<ChatResponse> ParseChatResponse(std::string_view body) {
  auto doc = ParseObject(body, "chat.completion");
  if (!doc.ok()) return doc.status();
  Fields f(*doc, "chat.completion");
  ChatResponse out;
  out.id = f.String("id");
  out.model = f.String("model");
  out.created = f.Int("created").value_or(0);
  const json* choices = f.Find("choices", true);
  if (choices != nullptr && !choices->is_array()) f.Fail("choices", "is not an array");
  if (const json* usage = f.Find("usage", false)) {
    out.usage = ParseUsage(*usage, f);
    out.has_usage = true;
  }
  if (!f.status().ok()) return f.status();
  for (const json& c : *choices) {
    if (!c.is_object()) return util::Status::InvalidArgument(
        "malformed response: chat.completion: a choice is not an object");
    Fields cf(c, "chat.completion.choice");
    Choice choice;
    choice.index = static_cast<int>(cf.Int("index").value_or(0));
    choice.finish_reason = cf.String("finish_reason");
    const json* msg = cf.Find("message", true);
    if (msg != nullptr && !msg->is_object()) cf.Fail("message", "is not an object");
    if (!cf.status().ok()) return cf.status();
    Fields mf(*msg, "chat.completion.message");
    choice.message.role = mf.String("role");
    choice.message.content = ContentText(mf.Find("content", false));
    choice.refusal = mf.String("refusal");
    if (!mf.status().ok()) return mf.status();
    out.choices.push_back(std::move(choice));
  }
  std::sort(out.choices.begin(), out.choices.end(),
            [](const Choice& a, const Choice& b) { return a.index < b.index; });
  return out;
}

util::Result<EmbeddingResponse> ParseEmbeddingResponse(std::string_view body) {
  auto doc = ParseObject(body, "embedding list");
  if (!doc.ok()) return doc.status();
  Fields f(*doc, "embedding list");
  EmbeddingResponse out;
  out.model = f.String("model");
  const json* data = f.Find("data", true);
  if (data != nullptr && !data->is_array()) f.Fail("data", "is not an array");
  if (const json* usage = f.Find("usage", false)) out.usage = ParseUsage(*usage, f);
  if (!f.status().ok()) return f.status();
  // The service promises an index per item; order by it, never by position.
  out.embeddings.resize(data->size());
  std::vector<bool> seen(data->size(), false);
  for (const json& item : *data) {
    if (!item.is_object()) return util::Status::InvalidArgument(
        "malformed response: embedding list: an element is not an object");
    Fields ef(item, "embedding");
    int64_t index = ef.Int("index", true).value_or(-1);
    const json* vec = ef.Find("embedding", true);
    if (!ef.status().ok()) return ef.status();
    if (index < 0 || index >= static_cast<int64_t>(seen.size()) || seen[index]) {
      return util::Status::InvalidArgument("malformed response: embedding list: index " +
                                           std::to_string(index) + " is out of range or repeated");
    }
    if (!vec->is_array()) {
      return util::Status::InvalidArgument(
          "malformed response: embedding: field \"embedding\" is not a float array");
    }
    seen[index] = true;
    std::vector<float>& v = out.embeddings[index];
    v.reserve(vec->size());
    for (const json& x : *vec) {
      if (!x.is_number()) return util::Status::InvalidArgument(
          "malformed response: embedding: a vector element is not a number");
      v.push_back(x.get<float>());
    }
  }
  return out;
}

util::Result<ApiError> ParseApiError(std::string_view body) {
  json doc = json::parse(body.begin(), body.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return util::Status::InvalidArgument("error body is not a JSON object");
  }
  ApiError err;
  auto text = [](const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
  if (auto it = doc.find("error"); it != doc.end() && !it->is_null()) {
    if (it->is_string()) {  // {"error":"text"} (some compatible servers)
      err.message = it->get<std::string>();
      return err;
    }
    if (it->is_object()) {
      Fields f(*it, "error");
      err.message = f.String("message");
      err.type = f.String("type");
      err.param = f.StringOrNumber("param");
      err.code = f.StringOrNumber("code");
      return err;  // lenient: a malformed field just stays empty
    }
  }
  if (auto it = doc.find("detail"); it != doc.end() && !it->is_null()) {
    err.message = text(*it);
    return err;
  }
  if (auto it = doc.find("message"); it != doc.end() && !it->is_null()) {
    err.message = text(*it);
    return err;
  }
  return util::Status::InvalidArgument("error body has no error object");
}

}  // namespace openai
