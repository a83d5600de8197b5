#include "fake_openai.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "connectors/http/server.h"
#include "connectors/openai/estimate.h"
#include "connectors/openai/training_data.h"

namespace openai_fake {
namespace {

using json = nlohmann::json;
using http::server::Request;
using http::server::Response;

// ------------------------------------------------------------ answers

Response JsonAnswer(int status, const json& body) {
  return Response::Json(status, body.dump());
}

json NullOr(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

// The service's error object.
Response Error(int status, const std::string& message, const std::string& type = "invalid_request_error",
               const std::string& param = "", const std::string& code = "") {
  return JsonAnswer(status, {{"error",
                              {{"message", message},
                               {"type", type},
                               {"param", NullOr(param)},
                               {"code", NullOr(code)}}}});
}

Response Invalid(const std::string& message, const std::string& param = "", const std::string& code = "") {
  return Error(400, message, "invalid_request_error", param, code);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

// ------------------------------------------------------------ multipart

struct FormPart {
  std::string name;
  std::string filename;
  bool is_file = false;
  std::string data;
};

std::map<std::string, std::string> HeaderParams(const std::string& value) {
  std::map<std::string, std::string> params;
  std::stringstream ss(value);
  std::string item;
  while (std::getline(ss, item, ';')) {
    auto eq = item.find('=');
    if (eq == std::string::npos) continue;
    std::string key = item.substr(0, eq);
    std::string val = item.substr(eq + 1);
    key.erase(0, key.find_first_not_of(' '));
    key.erase(key.find_last_not_of(' ') + 1);
    if (val.size() >= 2 && val.front() == '"' && val.back() == '"') val = val.substr(1, val.size() - 2);
    params[Lower(key)] = val;
  }
  return params;
}

util::Result<std::vector<FormPart>> ParseMultipart(const std::string& content_type,
                                                   const std::string& body) {
  if (Lower(content_type).rfind("multipart/form-data", 0) != 0) {
    return util::Status::InvalidArgument("Content-Type must be multipart/form-data");
  }
  std::string boundary = HeaderParams(content_type)["boundary"];
  if (boundary.empty()) return util::Status::InvalidArgument("multipart boundary missing");
  const std::string delim = "--" + boundary;
  if (body.compare(0, delim.size(), delim) != 0) {
    return util::Status::InvalidArgument("body does not start with the boundary");
  }
  std::vector<FormPart> parts;
  std::size_t pos = delim.size();
  for (;;) {
    if (body.compare(pos, 2, "--") == 0) break;  // closing delimiter
    if (body.compare(pos, 2, "\r\n") != 0) return util::Status::InvalidArgument("bad delimiter line");
    pos += 2;
    std::size_t header_end = body.find("\r\n\r\n", pos);
    if (header_end == std::string::npos) return util::Status::InvalidArgument("part headers unterminated");
    FormPart part;
    std::stringstream headers(body.substr(pos, header_end - pos));
    std::string line;
    bool disposition = false;
    while (std::getline(headers, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      auto colon = line.find(':');
      if (colon == std::string::npos) return util::Status::InvalidArgument("bad part header");
      if (Lower(line.substr(0, colon)) != "content-disposition") continue;
      auto params = HeaderParams(line.substr(colon + 1));
      if (line.find("form-data") == std::string::npos) {
        return util::Status::InvalidArgument("part is not form-data");
      }
      disposition = true;
      part.name = params["name"];
      if (params.count("filename")) {
        part.is_file = true;
        part.filename = params["filename"];
      }
    }
    if (!disposition) return util::Status::InvalidArgument("part without Content-Disposition");
    std::size_t data_start = header_end + 4;
    std::size_t next = body.find("\r\n" + delim, data_start);
    if (next == std::string::npos) return util::Status::InvalidArgument("part unterminated");
    part.data = body.substr(data_start, next - data_start);
    parts.push_back(std::move(part));
    pos = next + 2 + delim.size();
  }
  return parts;
}

// ------------------------------------------------------------ request checks

// "auto" or a number within [lo, hi] (an integer when `integer`).
bool HyperOk(const json& v, double lo, double hi, bool integer, bool lo_open = false) {
  if (v.is_string()) return v == "auto";
  if (!v.is_number()) return false;
  if (integer && !v.is_number_integer()) return false;
  double x = v.get<double>();
  return (lo_open ? x > lo : x >= lo) && x <= hi;
}

std::optional<std::string> UnknownKey(const json& obj, const std::set<std::string>& allowed) {
  for (const auto& [key, value] : obj.items()) {
    if (!allowed.count(key)) return key;
  }
  return std::nullopt;
}

// Embedding of a text: hashed bag of lower-case words, L2-normalised, so
// texts sharing words are close and the answer is deterministic.
std::vector<double> Embed(const std::string& text, int dims) {
  std::vector<double> v(static_cast<std::size_t>(dims), 0.0);
  std::string word;
  auto flush = [&]() {
    if (word.empty()) return;
    uint64_t h = 1469598103934665603ull;
    for (char c : word) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    v[h % static_cast<uint64_t>(dims)] += (h >> 63) ? -1.0 : 1.0;
    word.clear();
  };
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      flush();
    }
  }
  flush();
  double norm = 0;
  for (double x : v) norm += x * x;
  if (norm == 0) {
    v[0] = 1.0;
    return v;
  }
  for (double& x : v) x /= std::sqrt(norm);
  return v;
}

std::string Pad(int64_t n, int width = 6) {
  std::string s = std::to_string(n);
  return std::string(static_cast<std::size_t>(std::max<int>(0, width - static_cast<int>(s.size()))), '0') + s;
}

// Newest-first paging over `items` (already newest first) with an `after` cursor.
json PageOf(const std::vector<json>& items, const std::string& after, int limit, bool with_ids) {
  std::size_t start = 0;
  if (!after.empty()) {
    start = items.size();
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (items[i]["id"] == after) {
        start = i + 1;
        break;
      }
    }
  }
  json data = json::array();
  for (std::size_t i = start; i < items.size() && static_cast<int>(data.size()) < limit; ++i) {
    data.push_back(items[i]);
  }
  json page = {{"object", "list"}, {"data", data},
               {"has_more", start + data.size() < items.size()}};
  if (with_ids) {
    page["first_id"] = data.empty() ? json(nullptr) : data.front()["id"];
    page["last_id"] = data.empty() ? json(nullptr) : data.back()["id"];
  }
  return page;
}

struct FileRecord {
  json obj;
  std::string content;
};

struct JobRecord {
  json obj;
  std::vector<json> events;       // oldest first
  std::vector<json> checkpoints;  // oldest first
  std::optional<json> fail_next;  // {code, message, param}
};

}  // namespace

// ------------------------------------------------------------ Impl

class FakeOpenAI::Impl {
 public:
  explicit Impl(FakeOptions options) : options_(std::move(options)) {}

  util::Status Start() {
    http::server::ServerOptions so;
    so.max_body_bytes = options_.max_body_bytes;
    so.server_name = "fake-openai";
    server_ = std::make_unique<http::server::Server>(
        so, [this](const Request& r) { return Handle(r); });
    return server_->Start();
  }
  void Stop() {
    if (server_) server_->Stop();
  }
  std::string base_url() const {
    return "http://127.0.0.1:" + std::to_string(server_ ? server_->port() : 0) + options_.path_prefix;
  }
  const FakeOptions& options() const { return options_; }

  // ---- test controls (all under the lock)
  void Inject(Fault f) {
    std::lock_guard<std::mutex> lock(mu_);
    faults_.push_back(std::move(f));
  }
  void AddChatRule(ChatRule r) {
    std::lock_guard<std::mutex> lock(mu_);
    chat_rules_.push_back(std::move(r));
  }
  util::Status AdvanceJob(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return util::Status::NotFound("fake: no job " + id);
    Step(it->second);
    return util::Status::OK();
  }
  util::Status RunJobToEnd(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return util::Status::NotFound("fake: no job " + id);
    for (int i = 0; i < 10 && !Terminal(it->second); ++i) Step(it->second);
    return util::Status::OK();
  }
  util::Status FailJobNextStep(const std::string& id, json error) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return util::Status::NotFound("fake: no job " + id);
    it->second.fail_next = std::move(error);
    return util::Status::OK();
  }
  std::vector<RecordedRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::string FileContent(const std::string& id) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = files_.find(id);
    return it == files_.end() ? "" : it->second.content;
  }

 private:
  // ------------------------------------------------------------ dispatch

  Response Handle(const Request& req) {
    std::lock_guard<std::mutex> lock(mu_);
    Response r = HandleLocked(req);
    r.headers.Set("x-request-id", "req_fake" + Pad(++request_counter_));
    r.headers.Set("openai-processing-ms", "1");
    return r;
  }

  Response HandleLocked(const Request& req) {
    const std::string& prefix = options_.path_prefix;
    std::string path = req.path.compare(0, prefix.size(), prefix) == 0 ? req.path.substr(prefix.size())
                                                                       : req.path;
    requests_.push_back({req.method, path, req.query, req.headers.Get("Content-Type"),
                         req.headers.Get(options_.auth_header), req.body});
    if (auto fault = TakeFault(req.method, path)) return *fault;
    if (req.path.compare(0, prefix.size(), prefix) != 0) return InvalidUrl(req);

    auto query = http::server::ParseUrlEncoded(req.query);
    if (!query.ok()) return Invalid("bad query string");
    query_.clear();
    for (const auto& [k, v] : *query) query_[k] = v;
    if (options_.required_query) {
      auto it = query_.find(options_.required_query->first);
      if (it == query_.end() || it->second != options_.required_query->second) {
        return JsonAnswer(404, {{"error", {{"code", "404"}, {"message", "Resource not found"}}}});
      }
    }
    if (auto denied = CheckAuth(req)) return *denied;

    std::vector<std::string> seg = Split(path);
    const std::string& m = req.method;
    if (!seg.empty() && seg[0] == "files") {
      if (seg.size() == 1 && m == "POST") return UploadFile(req);
      if (seg.size() == 1 && m == "GET") return ListFiles();
      if (seg.size() == 2 && m == "GET") return RetrieveFile(seg[1]);
      if (seg.size() == 2 && m == "DELETE") return DeleteFile(seg[1]);
      if (seg.size() == 3 && seg[2] == "content" && m == "GET") return FileContentAnswer(seg[1]);
    }
    if (seg.size() >= 2 && seg[0] == "fine_tuning" && seg[1] == "jobs") {
      if (seg.size() == 2 && m == "POST") return CreateJob(req);
      if (seg.size() == 2 && m == "GET") return ListJobs();
      if (seg.size() == 3 && m == "GET") return RetrieveJob(seg[2]);
      if (seg.size() == 4 && seg[3] == "cancel" && m == "POST") return CancelJob(seg[2]);
      if (seg.size() == 4 && seg[3] == "events" && m == "GET") return ListEvents(seg[2]);
      if (seg.size() == 4 && seg[3] == "checkpoints" && m == "GET") return ListCheckpoints(seg[2]);
    }
    if (seg == std::vector<std::string>{"chat", "completions"} && m == "POST") return Chat(req, "");
    if (seg == std::vector<std::string>{"embeddings"} && m == "POST") return Embeddings(req, "");
    // Azure-style deployments: the model is in the path.
    if (seg.size() >= 3 && seg[0] == "deployments" && m == "POST") {
      std::vector<std::string> rest(seg.begin() + 2, seg.end());
      if (rest == std::vector<std::string>{"chat", "completions"}) return Chat(req, seg[1]);
      if (rest == std::vector<std::string>{"embeddings"}) return Embeddings(req, seg[1]);
    }
    return InvalidUrl(req);
  }

  static Response InvalidUrl(const Request& req) {
    return Error(404, "Invalid URL (" + req.method + " " + req.path + ")");
  }

  std::optional<Response> TakeFault(const std::string& method, const std::string& path) {
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
      if (!it->method.empty() && it->method != method) continue;
      if (path.compare(0, it->path_prefix.size(), it->path_prefix) != 0) continue;
      Response r = Response::Json(it->status, it->body);
      for (const auto& [name, value] : it->headers) r.headers.Set(name, value);
      if (--it->times <= 0) faults_.erase(it);
      return r;
    }
    return std::nullopt;
  }

  std::optional<Response> CheckAuth(const Request& req) {
    std::string got = req.headers.Get(options_.auth_header);
    if (got.empty()) {
      return Error(401, "You didn't provide an API key. You need to provide your API key in an "
                        "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).");
    }
    std::string want = options_.auth_scheme.empty() ? options_.api_key
                                                    : options_.auth_scheme + " " + options_.api_key;
    if (got == want) return std::nullopt;
    std::string key = got;
    if (!options_.auth_scheme.empty() && key.rfind(options_.auth_scheme + " ", 0) == 0) {
      key = key.substr(options_.auth_scheme.size() + 1);
    }
    std::string shown = options_.echo_key_in_errors || key.size() < 8
                            ? key
                            : key.substr(0, 3) + std::string(key.size() - 7, '*') + key.substr(key.size() - 4);
    return Error(401, "Incorrect API key provided: " + shown +
                          ". You can find your API key at https://platform.openai.com/account/api-keys.",
                 "invalid_request_error", "", "invalid_api_key");
  }

  int64_t Now() { return ++clock_; }

  int QueryInt(const char* key, int fallback, int lo, int hi, bool* bad) {
    auto it = query_.find(key);
    if (it == query_.end()) return fallback;
    try {
      int v = std::stoi(it->second);
      if (v < lo || v > hi) *bad = true;
      return v;
    } catch (...) {
      *bad = true;
      return fallback;
    }
  }
  std::string Query(const char* key) {
    auto it = query_.find(key);
    return it == query_.end() ? "" : it->second;
  }

  // ------------------------------------------------------------ files

  Response UploadFile(const Request& req) {
    auto parts = ParseMultipart(req.headers.Get("Content-Type"), req.body);
    if (!parts.ok()) return Invalid("Could not parse multipart form: " + parts.status().message());
    std::string purpose;
    const FormPart* file = nullptr;
    for (const FormPart& p : *parts) {
      if (p.name == "purpose" && !p.is_file) purpose = p.data;
      if (p.name == "file" && p.is_file) file = &p;
    }
    static const std::set<std::string> kPurposes = {"fine-tune", "assistants", "batch",
                                                    "vision",    "user_data",  "evals"};
    if (purpose.empty()) return Invalid("Missing required parameter: 'purpose'.", "purpose");
    if (!kPurposes.count(purpose)) return Invalid("Invalid value for 'purpose'.", "purpose");
    if (file == nullptr) return Invalid("Missing required parameter: 'file'.", "file");
    if (purpose == "fine-tune") {
      if (file->filename.size() < 6 || file->filename.substr(file->filename.size() - 6) != ".jsonl") {
        return Invalid("Invalid file format for Fine-Tuning API. Must be .jsonl", "file");
      }
      std::istringstream in(file->data);
      auto check = openai::ValidateTrainingData(in);
      if (!check.ok()) {
        return Invalid("Invalid file format for Fine-Tuning API: " + check.status().message(), "file");
      }
    }
    std::string id = "file-" + Pad(++file_counter_, 24);
    json obj = {{"object", "file"},        {"id", id},
                {"purpose", purpose},      {"filename", file->filename},
                {"bytes", file->data.size()}, {"created_at", Now()},
                {"expires_at", nullptr}};
    files_[id] = {obj, file->data};
    file_order_.push_back(id);
    return JsonAnswer(200, obj);
  }

  Response ListFiles() {
    bool bad = false;
    int limit = QueryInt("limit", 10000, 1, 10000, &bad);
    std::string order = Query("order");
    if (bad || (!order.empty() && order != "asc" && order != "desc")) return Invalid("bad list parameters");
    std::vector<json> items;
    for (const std::string& id : file_order_) {
      const json& obj = files_.at(id).obj;
      if (!Query("purpose").empty() && obj["purpose"] != Query("purpose")) continue;
      items.push_back(obj);
    }
    if (order != "asc") std::reverse(items.begin(), items.end());
    return JsonAnswer(200, PageOf(items, Query("after"), limit, true));
  }

  Response NoFile(const std::string& id) {
    return Error(404, "No such File object: " + id, "invalid_request_error", "id");
  }

  Response RetrieveFile(const std::string& id) {
    auto it = files_.find(id);
    return it == files_.end() ? NoFile(id) : JsonAnswer(200, it->second.obj);
  }

  Response DeleteFile(const std::string& id) {
    if (!files_.erase(id)) return NoFile(id);
    file_order_.erase(std::remove(file_order_.begin(), file_order_.end(), id), file_order_.end());
    return JsonAnswer(200, {{"id", id}, {"object", "file"}, {"deleted", true}});
  }

  Response FileContentAnswer(const std::string& id) {
    auto it = files_.find(id);
    if (it == files_.end()) return NoFile(id);
    Response r;
    r.status = 200;
    r.headers.Set("Content-Type", "application/octet-stream");
    r.body = it->second.content;
    return r;
  }

  // ------------------------------------------------------------ jobs

  std::optional<Response> CheckFileParam(const json& body, const char* key, bool required) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) {
      if (required) return Invalid(std::string("Missing required parameter: '") + key + "'.", key);
      return std::nullopt;
    }
    if (!it->is_string()) return Invalid(std::string("Invalid type for '") + key + "'.", key);
    auto f = files_.find(it->get<std::string>());
    if (f == files_.end()) {
      return Invalid("invalid " + std::string(key) + ": " + it->get<std::string>(), key, "invalid_file");
    }
    if (f->second.obj["purpose"] != "fine-tune") {
      return Invalid("File " + f->first + " has purpose '" + f->second.obj["purpose"].get<std::string>() +
                         "', expected 'fine-tune'.", key, "invalid_file_purpose");
    }
    return std::nullopt;
  }

  Response CreateJob(const Request& req) {
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object()) return Invalid("We could not parse the JSON body of your request.");
    if (auto k = UnknownKey(body, {"model", "training_file", "validation_file", "suffix", "seed",
                                   "method", "hyperparameters", "metadata", "integrations"})) {
      return Invalid("Unrecognized request argument supplied: " + *k);
    }
    if (!body.contains("model") || !body["model"].is_string() || body["model"] == "") {
      return Invalid("Missing required parameter: 'model'.", "model");
    }
    if (auto bad = CheckFileParam(body, "training_file", true)) return *bad;
    if (auto bad = CheckFileParam(body, "validation_file", false)) return *bad;
    std::string suffix;
    if (body.contains("suffix") && !body["suffix"].is_null()) {
      if (!body["suffix"].is_string() || body["suffix"].get<std::string>().empty() ||
          body["suffix"].get<std::string>().size() > 64) {
        return Invalid("suffix must be 1 to 64 characters.", "suffix");
      }
      suffix = body["suffix"];
    }
    int64_t seed = 1000 + job_counter_;
    if (body.contains("seed") && !body["seed"].is_null()) {
      if (!body["seed"].is_number_integer() || body["seed"].get<int64_t>() < 0 ||
          body["seed"].get<int64_t>() > 2147483647) {
        return Invalid("seed must be an integer between 0 and 2147483647.", "seed");
      }
      seed = body["seed"];
    }
    json method = {{"type", "supervised"}, {"supervised", {{"hyperparameters", json::object()}}}};
    if (body.contains("method")) {
      method = body["method"];
      if (!method.is_object() || !method.contains("type") || !method["type"].is_string()) {
        return Invalid("method.type is required.", "method.type");
      }
      std::string type = method["type"];
      if (type != "supervised" && type != "dpo") {
        return Invalid("Invalid value for 'method.type': " + type, "method.type");
      }
      if (auto k = UnknownKey(method, {"type", type})) {
        return Invalid("Unrecognized request argument supplied: method." + *k);
      }
      if (!method.contains(type)) method[type] = {{"hyperparameters", json::object()}};
      if (!method[type].contains("hyperparameters")) method[type]["hyperparameters"] = json::object();
      const json& hp = method[type]["hyperparameters"];
      if (!hp.is_object()) return Invalid("hyperparameters must be an object.", "method");
      std::set<std::string> allowed = {"n_epochs", "batch_size", "learning_rate_multiplier"};
      if (type == "dpo") allowed.insert("beta");
      if (auto k = UnknownKey(hp, allowed)) {
        return Invalid("Unrecognized hyperparameter for method " + type + ": " + *k,
                       "method." + type + ".hyperparameters." + *k);
      }
      if (hp.contains("n_epochs") && !HyperOk(hp["n_epochs"], 1, 50, true)) {
        return Invalid("n_epochs must be 'auto' or an integer from 1 to 50.", "n_epochs");
      }
      if (hp.contains("batch_size") && !HyperOk(hp["batch_size"], 1, 256, true)) {
        return Invalid("batch_size must be 'auto' or an integer from 1 to 256.", "batch_size");
      }
      if (hp.contains("learning_rate_multiplier") &&
          !HyperOk(hp["learning_rate_multiplier"], 0, 1e9, false, true)) {
        return Invalid("learning_rate_multiplier must be 'auto' or > 0.", "learning_rate_multiplier");
      }
      if (hp.contains("beta") && !HyperOk(hp["beta"], 0, 2, false, true)) {
        return Invalid("beta must be 'auto' or in (0, 2].", "beta");
      }
    }
    json metadata = nullptr;
    if (body.contains("metadata") && !body["metadata"].is_null()) {
      metadata = body["metadata"];
      if (!metadata.is_object() || metadata.size() > 16) {
        return Invalid("metadata must be an object with at most 16 keys.", "metadata");
      }
      for (const auto& [k, v] : metadata.items()) {
        if (!v.is_string()) return Invalid("metadata values must be strings.", "metadata." + k);
      }
    }
    // The service fills in defaults: every hyperparameter not given is "auto".
    const std::string type = method["type"];
    json& hp = method[type]["hyperparameters"];
    for (const char* k : {"n_epochs", "batch_size", "learning_rate_multiplier"}) {
      if (!hp.contains(k)) hp[k] = "auto";
    }
    if (type == "dpo" && !hp.contains("beta")) hp["beta"] = "auto";

    std::string id = "ftjob-" + Pad(++job_counter_, 24);
    json job = {{"object", "fine_tuning.job"},
                {"id", id},
                {"model", body["model"]},
                {"created_at", Now()},
                {"finished_at", nullptr},
                {"fine_tuned_model", nullptr},
                {"organization_id", "org-" + options_.organization},
                {"result_files", json::array()},
                {"status", "validating_files"},
                {"validation_file", body.value("validation_file", json(nullptr))},
                {"training_file", body["training_file"]},
                {"hyperparameters", type == "supervised" ? hp : json(nullptr)},
                {"method", method},
                {"metadata", metadata},
                {"error", {{"code", nullptr}, {"message", nullptr}, {"param", nullptr}}},
                {"seed", seed},
                {"trained_tokens", nullptr},
                {"estimated_finish", nullptr},
                {"integrations", json::array()},
                {"user_provided_suffix", NullOr(suffix)},
                {"usage_metrics", nullptr},
                {"shared_with_openai", false}};
    JobRecord rec{job, {}, {}, std::nullopt};
    AddEvent(rec, "info", "Created fine-tuning job: " + id);
    AddEvent(rec, "info", "Validating training file: " + body["training_file"].get<std::string>());
    jobs_[id] = std::move(rec);
    job_order_.push_back(id);
    return JsonAnswer(200, jobs_[id].obj);
  }

  Response ListJobs() {
    bool bad = false;
    int limit = QueryInt("limit", 20, 1, 100, &bad);
    if (bad) return Invalid("limit must be between 1 and 100.", "limit");
    std::vector<json> items;
    for (auto it = job_order_.rbegin(); it != job_order_.rend(); ++it) {
      const json& job = jobs_.at(*it).obj;
      bool match = true;
      for (const auto& [k, v] : query_) {
        if (k.rfind("metadata[", 0) != 0 || k.back() != ']') continue;
        std::string key = k.substr(9, k.size() - 10);
        const json& md = job["metadata"];
        if (!md.is_object() || !md.contains(key) || md[key] != v) match = false;
      }
      if (match) items.push_back(job);
    }
    return JsonAnswer(200, PageOf(items, Query("after"), limit, false));
  }

  Response NoJob(const std::string& id) {
    return Error(404, "Could not find fine-tune job: " + id, "invalid_request_error", "fine_tuning_job_id");
  }

  Response RetrieveJob(const std::string& id) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return NoJob(id);
    if (options_.advance_on_poll) Step(it->second);
    return JsonAnswer(200, it->second.obj);
  }

  Response CancelJob(const std::string& id) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return NoJob(id);
    JobRecord& job = it->second;
    if (Terminal(job)) {
      return Invalid("Job " + id + " has already " + job.obj["status"].get<std::string>() +
                     " and cannot be cancelled.", "fine_tuning_job_id");
    }
    job.obj["status"] = "cancelled";
    job.obj["finished_at"] = Now();
    job.obj["estimated_finish"] = nullptr;
    AddEvent(job, "info", "Fine-tuning job cancelled");
    return JsonAnswer(200, job.obj);
  }

  Response ListEvents(const std::string& id) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return NoJob(id);
    bool bad = false;
    int limit = QueryInt("limit", 20, 1, 100, &bad);
    if (bad) return Invalid("limit must be between 1 and 100.", "limit");
    std::vector<json> items(it->second.events.rbegin(), it->second.events.rend());
    return JsonAnswer(200, PageOf(items, Query("after"), limit, false));
  }

  Response ListCheckpoints(const std::string& id) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return NoJob(id);
    bool bad = false;
    int limit = QueryInt("limit", 10, 1, 100, &bad);
    if (bad) return Invalid("limit must be between 1 and 100.", "limit");
    std::vector<json> items(it->second.checkpoints.rbegin(), it->second.checkpoints.rend());
    return JsonAnswer(200, PageOf(items, Query("after"), limit, true));
  }

  // ------------------------------------------------------------ job life

  static bool Terminal(const JobRecord& job) {
    const std::string s = job.obj["status"];
    return s == "succeeded" || s == "failed" || s == "cancelled";
  }

  void AddEvent(JobRecord& job, const std::string& level, const std::string& message,
                json data = nullptr) {
    job.events.push_back({{"object", "fine_tuning.job.event"},
                          {"id", "ftevent-" + Pad(++event_counter_, 24)},
                          {"created_at", Now()},
                          {"level", level},
                          {"message", message},
                          {"data", data},
                          {"type", data.is_null() ? "message" : "metrics"}});
  }

  void Fail(JobRecord& job, const json& error) {
    job.obj["status"] = "failed";
    job.obj["error"] = error;
    job.obj["finished_at"] = Now();
    job.obj["estimated_finish"] = nullptr;
    AddEvent(job, "error", "Fine-tuning job failed: " + error.value("message", std::string()));
  }

  // The training file as the job will see it: format and example count.
  std::optional<json> ValidateForJob(JobRecord& job) {
    const std::string file_id = job.obj["training_file"];
    auto f = files_.find(file_id);
    auto error = [](std::string code, std::string message) {
      return json{{"code", code}, {"message", message}, {"param", "training_file"}};
    };
    if (f == files_.end()) return error("invalid_training_file", "The training file was deleted.");
    std::istringstream in(f->second.content);
    auto check = openai::ValidateTrainingData(in);
    if (!check.ok()) return error("invalid_training_file", check.status().message());
    if (check->examples < options_.min_examples) {
      return error("invalid_n_examples",
                   "Training file has " + std::to_string(check->examples) +
                       " example(s), but must have at least " + std::to_string(options_.min_examples) +
                       " examples");
    }
    const std::string type = job.obj["method"]["type"];
    const std::string model = job.obj["model"];
    const bool legacy_model = model.rfind("babbage-002", 0) == 0 || model.rfind("davinci-002", 0) == 0;
    openai::TrainingFormat want = type == "dpo" ? openai::TrainingFormat::kPreference
                                  : legacy_model ? openai::TrainingFormat::kPromptCompletion
                                                 : openai::TrainingFormat::kChat;
    if (check->format != want) {
      return error("invalid_training_file",
                   std::string("The training file is in ") + openai::TrainingFormatName(check->format) +
                       " format, but method " + type + " with model " + model + " needs " +
                       openai::TrainingFormatName(want) + " format.");
    }
    return std::nullopt;
  }

  void Step(JobRecord& job) {
    if (Terminal(job)) return;
    if (job.fail_next) {
      Fail(job, *job.fail_next);
      job.fail_next.reset();
      return;
    }
    const std::string status = job.obj["status"];
    if (status == "validating_files") {
      if (auto error = ValidateForJob(job)) return Fail(job, *error);
      job.obj["status"] = "queued";
      AddEvent(job, "info", "Files validated, moving job to queued state");
    } else if (status == "queued") {
      StartRunning(job);
    } else if (status == "running") {
      Succeed(job);
    }
  }

  void StartRunning(JobRecord& job) {
    const std::string type = job.obj["method"]["type"];
    json& hp = job.obj["method"][type]["hyperparameters"];
    const std::string& content = files_.at(job.obj["training_file"]).content;
    int64_t examples = std::count(content.begin(), content.end(), '\n');
    if (!content.empty() && content.back() != '\n') ++examples;
    if (hp["n_epochs"] == "auto") hp["n_epochs"] = openai::AutoEpochs(examples);
    if (hp["batch_size"] == "auto") hp["batch_size"] = 1;
    if (hp["learning_rate_multiplier"] == "auto") hp["learning_rate_multiplier"] = 1.8;
    if (type == "dpo" && hp["beta"] == "auto") hp["beta"] = 0.1;
    if (type == "supervised") job.obj["hyperparameters"] = hp;
    job.obj["status"] = "running";
    job.obj["estimated_finish"] = clock_ + 600;
    AddEvent(job, "info", "Fine-tuning job started");
    AddEvent(job, "info", "Step 1: training loss=1.2000",
             {{"step", 1}, {"train_loss", 1.2}, {"train_mean_token_accuracy", 0.5},
              {"total_steps", TotalSteps(job, examples)}});
  }

  static int64_t TotalSteps(const JobRecord& job, int64_t examples) {
    const std::string type = job.obj["method"]["type"];
    const json& hp = job.obj["method"][type]["hyperparameters"];
    int64_t batch = hp["batch_size"].get<int64_t>();
    return std::max<int64_t>(1, (examples + batch - 1) / batch) * hp["n_epochs"].get<int64_t>();
  }

  void Succeed(JobRecord& job) {
    const std::string id = job.obj["id"];
    const std::string type = job.obj["method"]["type"];
    const json& hp = job.obj["method"][type]["hyperparameters"];
    const std::string& content = files_.at(job.obj["training_file"]).content;
    std::istringstream in(content);
    openai::EstimateOptions eo;
    eo.base_model = job.obj["model"];
    eo.n_epochs = openai::HyperParam::Of(hp["n_epochs"].get<double>());
    auto est = openai::EstimateTraining(in, eo);
    const int64_t examples = est.ok() ? est->examples : 1;
    const int64_t total = TotalSteps(job, examples);
    const int64_t epochs = hp["n_epochs"];
    const int64_t per_epoch = std::max<int64_t>(1, total / epochs);

    std::string base = job.obj["model"];
    if (base.rfind("ft:", 0) == 0) base = base.substr(3, base.find(':', 3) - 3);
    std::string suffix = job.obj["user_provided_suffix"].is_string()
                             ? job.obj["user_provided_suffix"].get<std::string>()
                             : "";
    const std::string model_id = "ft:" + base + ":" + options_.organization + ":" + suffix + ":" +
                                 id.substr(id.size() - 8);
    std::string csv = "step,train_loss,train_accuracy\n";
    for (int64_t e = std::max<int64_t>(1, epochs - 2); e <= epochs; ++e) {
      const int64_t step = e * per_epoch;
      const double loss = 1.0 / static_cast<double>(e + 1);
      AddEvent(job, "info", "Step " + std::to_string(step) + "/" + std::to_string(total),
               {{"step", step}, {"train_loss", loss}, {"valid_loss", loss + 0.05},
                {"train_mean_token_accuracy", 1.0 - loss / 2}, {"total_steps", total}});
      const std::string ckpt_model = e == epochs ? model_id : model_id + ":ckpt-step-" + std::to_string(step);
      job.checkpoints.push_back({{"object", "fine_tuning.job.checkpoint"},
                                 {"id", "ftckpt_" + Pad(++checkpoint_counter_, 24)},
                                 {"created_at", Now()},
                                 {"fine_tuned_model_checkpoint", ckpt_model},
                                 {"fine_tuning_job_id", id},
                                 {"metrics", {{"step", step},
                                              {"train_loss", loss},
                                              {"train_mean_token_accuracy", 1.0 - loss / 2},
                                              {"valid_loss", loss + 0.05},
                                              {"full_valid_loss", loss + 0.04}}},
                                 {"step_number", step}});
      AddEvent(job, "info", "Checkpoint created at step " + std::to_string(step));
      csv += std::to_string(step) + "," + std::to_string(loss) + "," + std::to_string(1.0 - loss / 2) + "\n";
    }
    const std::string result_id = "file-" + Pad(++file_counter_, 24);
    json result = {{"object", "file"}, {"id", result_id}, {"purpose", "fine-tune-results"},
                   {"filename", "step_metrics.csv"}, {"bytes", csv.size()},
                   {"created_at", Now()}, {"expires_at", nullptr}};
    files_[result_id] = {result, csv};
    file_order_.push_back(result_id);
    models_.insert(model_id);
    for (const json& c : job.checkpoints) models_.insert(c["fine_tuned_model_checkpoint"].get<std::string>());

    job.obj["status"] = "succeeded";
    job.obj["fine_tuned_model"] = model_id;
    job.obj["trained_tokens"] = est.ok() ? est->billable_tokens : 0;
    job.obj["result_files"] = json::array({result_id});
    job.obj["finished_at"] = Now();
    job.obj["estimated_finish"] = nullptr;
    AddEvent(job, "info", "New fine-tuned model created: " + model_id);
    AddEvent(job, "info", "The job has successfully completed");
  }

  // ------------------------------------------------------------ inference

  std::optional<Response> CheckModel(const std::string& model) {
    if (model.rfind("ft:", 0) == 0 && !models_.count(model)) {
      return Error(404, "The model `" + model + "` does not exist or you do not have access to it.",
                   "invalid_request_error", "", "model_not_found");
    }
    return std::nullopt;
  }

  Response Chat(const Request& req, const std::string& path_model) {
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object()) return Invalid("We could not parse the JSON body of your request.");
    if (auto k = UnknownKey(body, {"model", "messages", "temperature", "top_p", "max_tokens",
                                   "max_completion_tokens", "n", "stop", "seed", "user",
                                   "presence_penalty", "frequency_penalty", "logprobs",
                                   "top_logprobs", "response_format", "stream", "tools",
                                   "tool_choice", "logit_bias", "safety_identifier"})) {
      return Invalid("Unrecognized request argument supplied: " + *k);
    }
    std::string model = path_model;
    if (model.empty()) {
      if (!body.contains("model") || !body["model"].is_string()) {
        return Invalid("you must provide a model parameter", "model");
      }
      model = body["model"];
    }
    if (auto bad = CheckModel(model)) return *bad;
    const json& messages = body.value("messages", json());
    if (!messages.is_array() || messages.empty()) {
      return Invalid("'messages' must be a non-empty array.", "messages");
    }
    static const std::set<std::string> kRoles = {"system", "developer", "user", "assistant", "tool",
                                                 "function"};
    int64_t prompt_tokens = 3;
    std::string last_user;
    for (std::size_t i = 0; i < messages.size(); ++i) {
      const json& msg = messages[i];
      const std::string where = "messages[" + std::to_string(i) + "]";
      if (!msg.is_object() || !msg.contains("role") || !msg["role"].is_string() ||
          !kRoles.count(msg["role"].get<std::string>())) {
        return Invalid("Invalid value for '" + where + ".role'.", where + ".role");
      }
      const json& content = msg.value("content", json());
      if (!content.is_string() && !content.is_array() && !(content.is_null() && msg["role"] == "assistant")) {
        return Invalid("Invalid type for '" + where + ".content'.", where + ".content");
      }
      if (content.is_string()) {
        prompt_tokens += 4 + openai::EstimateTextTokens(content.get<std::string>());
        if (msg["role"] == "user") last_user = content;
      }
    }
    if (body.contains("temperature") &&
        (!body["temperature"].is_number() || body["temperature"] < 0 || body["temperature"] > 2)) {
      return Invalid("temperature must be between 0 and 2.", "temperature");
    }
    if (body.contains("top_p") && (!body["top_p"].is_number() || body["top_p"] < 0 || body["top_p"] > 1)) {
      return Invalid("top_p must be between 0 and 1.", "top_p");
    }
    if (body.contains("max_tokens") && body.contains("max_completion_tokens")) {
      return Invalid("max_tokens and max_completion_tokens cannot both be set.", "max_tokens");
    }
    if (options_.legacy_max_tokens_only && body.contains("max_completion_tokens")) {
      return Invalid("Unrecognized request argument supplied: max_completion_tokens");
    }
    std::optional<int64_t> cap;
    for (const char* k : {"max_tokens", "max_completion_tokens"}) {
      if (!body.contains(k)) continue;
      if (!body[k].is_number_integer() || body[k] < 1) return Invalid(std::string(k) + " must be a positive integer.", k);
      cap = body[k].get<int64_t>();
    }
    int64_t n = 1;
    if (body.contains("n")) {
      if (!body["n"].is_number_integer() || body["n"] < 1 || body["n"] > 128) {
        return Invalid("n must be between 1 and 128.", "n");
      }
      n = body["n"];
    }
    if (body.contains("stop")) {
      const json& stop = body["stop"];
      bool ok = stop.is_string() || stop.is_null() || (stop.is_array() && stop.size() <= 4);
      if (stop.is_array()) {
        for (const json& s : stop) ok = ok && s.is_string();
      }
      if (!ok) return Invalid("stop must be a string or up to 4 strings.", "stop");
    }
    if (body.value("stream", false)) return Invalid("This fake does not stream.", "stream");

    std::string answer = "echo: " + last_user;
    std::string finish = "stop";
    for (const ChatRule& rule : chat_rules_) {
      if (Lower(last_user).find(Lower(rule.contains)) != std::string::npos) {
        answer = rule.answer;
        finish = rule.finish_reason;
        break;
      }
    }
    int64_t completion_tokens = openai::EstimateTextTokens(answer);
    if (cap && completion_tokens > *cap) {
      // Cut at the cap, as a real model stops mid-sentence.
      answer = answer.substr(0, static_cast<std::size_t>(*cap * 4));
      completion_tokens = *cap;
      finish = "length";
    }
    json choices = json::array();
    for (int64_t i = 0; i < n; ++i) {
      choices.push_back({{"index", i},
                         {"message", {{"role", "assistant"}, {"content", answer}, {"refusal", nullptr},
                                      {"annotations", json::array()}}},
                         {"logprobs", nullptr},
                         {"finish_reason", finish}});
    }
    return JsonAnswer(200, {{"id", "chatcmpl-fake" + Pad(++chat_counter_)},
                            {"object", "chat.completion"},
                            {"created", Now()},
                            {"model", model},
                            {"choices", choices},
                            {"usage", {{"prompt_tokens", prompt_tokens},
                                       {"completion_tokens", completion_tokens * n},
                                       {"total_tokens", prompt_tokens + completion_tokens * n},
                                       {"prompt_tokens_details", {{"cached_tokens", 0}}},
                                       {"completion_tokens_details", {{"reasoning_tokens", 0}}}}},
                            {"service_tier", "default"},
                            {"system_fingerprint", "fp_fake"}});
  }

  Response Embeddings(const Request& req, const std::string& path_model) {
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object()) return Invalid("We could not parse the JSON body of your request.");
    if (auto k = UnknownKey(body, {"model", "input", "encoding_format", "dimensions", "user"})) {
      return Invalid("Unrecognized request argument supplied: " + *k);
    }
    std::string model = path_model;
    if (model.empty()) {
      if (!body.contains("model") || !body["model"].is_string()) {
        return Invalid("you must provide a model parameter", "model");
      }
      model = body["model"];
    }
    if (auto bad = CheckModel(model)) return *bad;
    std::vector<std::string> inputs;
    const json& input = body.value("input", json());
    if (input.is_string()) {
      inputs.push_back(input);
    } else if (input.is_array()) {
      for (const json& t : input) {
        if (!t.is_string()) return Invalid("'$.input' must be a string or an array of strings.", "input");
        inputs.push_back(t);
      }
    } else {
      return Invalid("'$.input' is required.", "input");
    }
    if (inputs.empty() || inputs.size() > 2048) return Invalid("'$.input' must hold 1 to 2048 items.", "input");
    for (const std::string& t : inputs) {
      if (t.empty()) return Invalid("'$.input' is invalid: empty strings are not allowed.", "input");
    }
    std::string format = body.value("encoding_format", std::string("float"));
    if (format != "float") return Invalid("This fake only answers encoding_format float.", "encoding_format");
    int dims = options_.embedding_dimensions;
    if (body.contains("dimensions")) {
      if (!body["dimensions"].is_number_integer() || body["dimensions"] < 1 || body["dimensions"] > 3072) {
        return Invalid("dimensions must be between 1 and 3072.", "dimensions");
      }
      dims = body["dimensions"];
    }
    json data = json::array();
    int64_t tokens = 0;
    // Newest index first: clients must order by index, not by position.
    for (std::size_t i = inputs.size(); i-- > 0;) {
      data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", Embed(inputs[i], dims)}});
      tokens += openai::EstimateTextTokens(inputs[i]);
    }
    return JsonAnswer(200, {{"object", "list"}, {"data", data}, {"model", model},
                            {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}});
  }

  FakeOptions options_;
  std::unique_ptr<http::server::Server> server_;

  mutable std::mutex mu_;
  std::vector<Fault> faults_;
  std::vector<ChatRule> chat_rules_;
  std::vector<RecordedRequest> requests_;
  std::map<std::string, std::string> query_;  // of the request being handled
  std::map<std::string, FileRecord> files_;
  std::vector<std::string> file_order_;
  std::map<std::string, JobRecord> jobs_;
  std::vector<std::string> job_order_;
  std::set<std::string> models_;  // fine-tuned models and checkpoints that exist
  int64_t clock_ = 1700000000;
  int64_t request_counter_ = 0, file_counter_ = 0, job_counter_ = 0, event_counter_ = 0,
          checkpoint_counter_ = 0, chat_counter_ = 0;
};

// ------------------------------------------------------------ FakeOpenAI

FakeOpenAI::FakeOpenAI(FakeOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
FakeOpenAI::~FakeOpenAI() { impl_->Stop(); }

util::Status FakeOpenAI::Start() { return impl_->Start(); }
void FakeOpenAI::Stop() { impl_->Stop(); }
std::string FakeOpenAI::base_url() const { return impl_->base_url(); }
const std::string& FakeOpenAI::api_key() const { return impl_->options().api_key; }

void FakeOpenAI::Inject(Fault fault) { impl_->Inject(std::move(fault)); }

void FakeOpenAI::InjectRateLimit(int times, int retry_after_seconds, std::string path_prefix) {
  Fault f;
  f.times = times;
  f.path_prefix = std::move(path_prefix);
  f.status = 429;
  f.body = json{{"error", {{"message", "Rate limit reached for requests"},
                           {"type", "requests"},
                           {"param", nullptr},
                           {"code", "rate_limit_exceeded"}}}}.dump();
  f.headers = {{"retry-after", std::to_string(retry_after_seconds)},
               {"x-ratelimit-limit-requests", "60"},
               {"x-ratelimit-remaining-requests", "0"},
               {"x-ratelimit-reset-requests", std::to_string(retry_after_seconds) + "s"}};
  Inject(std::move(f));
}

void FakeOpenAI::InjectQuotaExceeded(int times) {
  Fault f;
  f.times = times;
  f.status = 429;
  f.body = json{{"error", {{"message", "You exceeded your current quota, please check your plan and billing details."},
                           {"type", "insufficient_quota"},
                           {"param", nullptr},
                           {"code", "insufficient_quota"}}}}.dump();
  Inject(std::move(f));
}

void FakeOpenAI::InjectServerError(int times, int status, std::string path_prefix) {
  Fault f;
  f.times = times;
  f.path_prefix = std::move(path_prefix);
  f.status = status;
  f.body = json{{"error", {{"message", "The server had an error while processing your request. Sorry about that!"},
                           {"type", "server_error"},
                           {"param", nullptr},
                           {"code", nullptr}}}}.dump();
  Inject(std::move(f));
}

void FakeOpenAI::InjectMalformed(int times, std::string path_prefix) {
  Fault f;
  f.times = times;
  f.path_prefix = std::move(path_prefix);
  f.status = 200;
  f.body = R"({"object": "fine_tuning.job", "id": "ftjob-trunc)";
  Inject(std::move(f));
}

util::Status FakeOpenAI::AdvanceJob(const std::string& job_id) { return impl_->AdvanceJob(job_id); }
util::Status FakeOpenAI::RunJobToEnd(const std::string& job_id) { return impl_->RunJobToEnd(job_id); }
util::Status FakeOpenAI::FailJobNextStep(const std::string& job_id, std::string code,
                                         std::string message, std::string param) {
  return impl_->FailJobNextStep(job_id, {{"code", code}, {"message", message}, {"param", NullOr(param)}});
}

void FakeOpenAI::AddChatRule(ChatRule rule) { impl_->AddChatRule(std::move(rule)); }

std::vector<RecordedRequest> FakeOpenAI::requests() const { return impl_->requests(); }

int FakeOpenAI::CountRequests(const std::string& method, const std::string& path_prefix) const {
  int n = 0;
  for (const RecordedRequest& r : impl_->requests()) {
    if ((method.empty() || r.method == method) && r.path.compare(0, path_prefix.size(), path_prefix) == 0) ++n;
  }
  return n;
}

std::string FakeOpenAI::FileContent(const std::string& file_id) const { return impl_->FileContent(file_id); }

}  // namespace openai_fake
