#include "connectors/openai/training_data.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

namespace openai {
namespace {

using json = nlohmann::json;

const std::set<std::string>& KnownRoles() {
  static const std::set<std::string> roles = {"system", "developer", "user",
                                              "assistant", "tool", "function"};
  return roles;
}

const std::set<std::string>& MessageKeys() {
  static const std::set<std::string> keys = {"role",      "content",    "name",
                                             "weight",    "tool_calls", "tool_call_id",
                                             "function_call"};
  return keys;
}

util::Status Bad(const std::string& what) { return util::Status::InvalidArgument(what); }

bool IsContent(const json& c) {
  if (c.is_string()) return true;
  if (!c.is_array()) return false;
  for (const json& part : c) {  // content parts: {"type":"text","text":...} or images
    if (!part.is_object() || !part.contains("type")) return false;
  }
  return true;
}

// One message of a conversation. `where` is "message 3" or "preferred_output".
util::Status CheckMessage(const json& m, const std::string& where) {
  if (!m.is_object()) return Bad(where + ": not a JSON object");
  for (const auto& [key, value] : m.items()) {
    if (!MessageKeys().count(key)) return Bad(where + ": unknown key \"" + key + "\"");
  }
  auto role = m.find("role");
  if (role == m.end()) return Bad(where + ": no \"role\"");
  if (!role->is_string() || !KnownRoles().count(role->get<std::string>())) {
    return Bad(where + ": role is not one of system, developer, user, assistant, tool, function");
  }
  const std::string r = role->get<std::string>();
  const bool calls_tools = m.contains("tool_calls") || m.contains("function_call");
  auto content = m.find("content");
  if (content == m.end() || content->is_null()) {
    // Only an assistant turn that calls a tool may go without text.
    if (!(r == "assistant" && calls_tools)) return Bad(where + ": no \"content\"");
  } else if (!IsContent(*content)) {
    return Bad(where + ": content is neither a string nor a list of parts");
  }
  if (auto w = m.find("weight"); w != m.end()) {
    if (r != "assistant") return Bad(where + ": \"weight\" is only allowed on assistant turns");
    if (!w->is_number_integer() || (w->get<int64_t>() != 0 && w->get<int64_t>() != 1)) {
      return Bad(where + ": weight must be 0 or 1");
    }
  }
  return util::Status::OK();
}

// Checks a list of messages; counts assistant turns into `assistants`.
util::Status CheckMessages(const json& messages, const std::string& where, int* assistants) {
  if (!messages.is_array()) return Bad(where + " is not a list");
  if (messages.empty()) return Bad(where + " is empty");
  int n = 0;
  for (const json& m : messages) {
    ++n;
    DESK_RETURN_IF_ERROR(CheckMessage(m, "message " + std::to_string(n)));
    if (m["role"] == "assistant") ++*assistants;
  }
  return util::Status::OK();
}

util::Status CheckKeys(const json& obj, const std::set<std::string>& allowed,
                       const std::string& where) {
  for (const auto& [key, value] : obj.items()) {
    if (!allowed.count(key)) return Bad(where + "unknown key \"" + key + "\"");
  }
  return util::Status::OK();
}

util::Status CheckChat(const json& ex) {
  DESK_RETURN_IF_ERROR(
      CheckKeys(ex, {"messages", "tools", "functions", "parallel_tool_calls"}, ""));
  auto messages = ex.find("messages");
  if (messages == ex.end()) return Bad("no \"messages\"");
  int assistants = 0;
  DESK_RETURN_IF_ERROR(CheckMessages(*messages, "\"messages\"", &assistants));
  if (assistants == 0) return Bad("no assistant message to learn from");
  return util::Status::OK();
}

// preferred_output / non_preferred_output: exactly one assistant message.
util::Status CheckOutput(const json& ex, const char* key) {
  auto out = ex.find(key);
  if (out == ex.end()) return Bad(std::string("no \"") + key + "\"");
  if (!out->is_array() || out->size() != 1) {
    return Bad(std::string(key) + " must hold exactly one assistant message");
  }
  const json& m = (*out)[0];
  DESK_RETURN_IF_ERROR(CheckMessage(m, key));
  if (m["role"] != "assistant") return Bad(std::string(key) + ": role must be assistant");
  if (!m.contains("content") || !m["content"].is_string()) {
    return Bad(std::string(key) + ": content must be text");
  }
  return util::Status::OK();
}

util::Status CheckPreference(const json& ex) {
  DESK_RETURN_IF_ERROR(
      CheckKeys(ex, {"input", "preferred_output", "non_preferred_output"}, ""));
  auto input = ex.find("input");
  if (input == ex.end() || !input->is_object()) return Bad("no \"input\" object");
  DESK_RETURN_IF_ERROR(
      CheckKeys(*input, {"messages", "tools", "parallel_tool_calls"}, "input: "));
  auto messages = input->find("messages");
  if (messages == input->end()) return Bad("input: no \"messages\"");
  int assistants = 0;
  DESK_RETURN_IF_ERROR(CheckMessages(*messages, "input.messages", &assistants));
  if (messages->back()["role"] == "assistant") {
    return Bad("input.messages must not end with an assistant turn (that goes in the outputs)");
  }
  DESK_RETURN_IF_ERROR(CheckOutput(ex, "preferred_output"));
  return CheckOutput(ex, "non_preferred_output");
}

util::Status CheckPromptCompletion(const json& ex) {
  DESK_RETURN_IF_ERROR(CheckKeys(ex, {"prompt", "completion"}, ""));
  for (const char* key : {"prompt", "completion"}) {
    auto v = ex.find(key);
    if (v == ex.end() || !v->is_string()) return Bad(std::string("\"") + key + "\" is not text");
  }
  return util::Status::OK();
}

util::Result<json> ParseLine(std::string_view line) {
  json ex = json::parse(line.begin(), line.end(), nullptr, false);
  if (ex.is_discarded()) return Bad("not valid JSON");
  if (!ex.is_object()) return Bad("not a JSON object");
  return ex;
}

bool IsBlank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

}  // namespace

const char* TrainingFormatName(TrainingFormat format) {
  switch (format) {
    case TrainingFormat::kChat: return "chat";
    case TrainingFormat::kPreference: return "preference";
    case TrainingFormat::kPromptCompletion: return "prompt";
  }
  return "chat";
}

util::Result<TrainingFormat> DetectTrainingFormat(std::string_view line) {
  auto ex = ParseLine(line);
  if (!ex.ok()) return ex.status();
  if (ex->contains("messages")) return TrainingFormat::kChat;
  if (ex->contains("preferred_output") || ex->contains("input")) {
    return TrainingFormat::kPreference;
  }
  if (ex->contains("prompt")) return TrainingFormat::kPromptCompletion;
  return Bad("neither chat (\"messages\"), preference (\"input\") nor prompt/completion");
}

util::Status ValidateTrainingLine(std::string_view line, TrainingFormat format) {
  auto ex = ParseLine(line);
  if (!ex.ok()) return ex.status();
  switch (format) {
    case TrainingFormat::kChat: return CheckChat(*ex);
    case TrainingFormat::kPreference: return CheckPreference(*ex);
    case TrainingFormat::kPromptCompletion: return CheckPromptCompletion(*ex);
  }
  return util::Status::OK();
}

util::Result<TrainingDataCheck> ValidateTrainingData(std::istream& in,
                                                     const TrainingFormat* format) {
  TrainingDataCheck check;
  bool have_format = format != nullptr;
  if (have_format) check.format = *format;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = "line " + std::to_string(number);
    if (IsBlank(line)) return Bad(where + " is empty");
    if (!have_format) {
      auto detected = DetectTrainingFormat(line);
      if (!detected.ok()) return detected.status().WithContext(where);
      check.format = *detected;
      have_format = true;
    }
    util::Status st = ValidateTrainingLine(line, check.format);
    if (!st.ok()) return st.WithContext(where);
    ++check.examples;
  }
  if (in.bad()) return util::Status::IOError("read error after line " + std::to_string(number));
  return check;
}

util::Result<TrainingDataCheck> ValidateTrainingFile(const std::string& path,
                                                     const TrainingFormat* format) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return util::Status::IOError("cannot open training file " + path);
  auto check = ValidateTrainingData(in, format);
  if (!check.ok()) return check.status().WithContext(path);
  return check;
}

}  // namespace openai
