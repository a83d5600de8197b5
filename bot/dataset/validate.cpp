#include "bot/dataset/validate.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bot/dataset/text_util.h"
#include "bot/dataset/tokens.h"

namespace deskbot::dataset {

using nlohmann::json;

std::optional<ExportFormat> ParseExportFormat(std::string_view s) {
  if (s == "chat") return ExportFormat::kChat;
  if (s == "completion") return ExportFormat::kCompletion;
  if (s == "preference") return ExportFormat::kPreference;
  return std::nullopt;
}

const char* ExportFormatName(ExportFormat f) {
  switch (f) {
    case ExportFormat::kChat: return "chat";
    case ExportFormat::kCompletion: return "completion";
    case ExportFormat::kPreference: return "preference";
  }
  return "chat";
}

Distribution Summarize(std::vector<std::int32_t>& values) {
  Distribution d;
  if (values.empty()) return d;
  std::sort(values.begin(), values.end());
  d.count = static_cast<std::int64_t>(values.size());
  d.min = values.front();
  d.max = values.back();
  double sum = 0;
  for (auto v : values) sum += v;
  d.mean = sum / static_cast<double>(values.size());
  auto rank = [&](double q) {
    auto idx = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
    return values[std::min(values.size() - 1, idx == 0 ? 0 : idx - 1)];
  };
  d.p50 = rank(0.50);
  d.p95 = rank(0.95);
  return d;
}

namespace {

size_t CountOccurrences(std::string_view text, std::string_view needle) {
  if (needle.empty()) return 0;
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string_view::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

std::int32_t Clamp32(std::int64_t v) { return static_cast<std::int32_t>(std::min<std::int64_t>(v, INT32_MAX)); }

bool IsKnownRole(const std::string& role) {
  return role == "system" || role == "developer" || role == "user" || role == "assistant" || role == "tool" ||
         role == "function";
}

bool IsKnownMessageKey(const std::string& key) {
  return key == "role" || key == "content" || key == "name" || key == "weight" || key == "tool_calls" ||
         key == "function_call" || key == "tool_call_id";
}

std::string FormatInt(std::int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return v < 0 ? "-" + out : out;
}

json DistributionJson(const Distribution& d) {
  return json{{"count", d.count}, {"min", d.min}, {"max", d.max}, {"mean", d.mean}, {"p50", d.p50}, {"p95", d.p95}};
}

}  // namespace

bool ValidationReport::ok() const {
  bool completion = format == "completion";
  return invalid_json == 0 && blank_lines == 0 && format_errors.empty() && empty_completions == 0 &&
         over_token_limit == 0 &&
         (!completion || (missing_separator == 0 && separator_in_text == 0 && missing_leading_space == 0 &&
                          missing_stop == 0 && stop_in_text == 0));
}

std::string ValidationReport::ToText() const {
  std::ostringstream o;
  o << "Validation (" << format << "): " << (ok() ? "OK" : "PROBLEMS FOUND") << "\n";
  o << "  examples            " << FormatInt(examples);
  if (lines > 0) o << " of " << FormatInt(lines) << " lines";
  o << "\n";
  if (invalid_json) o << "  invalid JSON lines  " << FormatInt(invalid_json) << "\n";
  if (blank_lines) o << "  blank lines         " << FormatInt(blank_lines) << "\n";
  for (const auto& [kind, n] : format_errors) o << "  error " << kind << ": " << FormatInt(n) << "\n";
  o << "  empty prompts       " << FormatInt(empty_prompts) << "\n";
  o << "  empty completions   " << FormatInt(empty_completions) << "\n";
  o << "  exact duplicates    " << FormatInt(duplicates) << "\n";
  o << "  over token limit    " << FormatInt(over_token_limit) << " (limit " << FormatInt(token_limit)
    << " estimated tokens)\n";
  if (format == "completion" || separator_in_text || stop_in_text) {
    o << "  separator missing   " << FormatInt(missing_separator) << ", inside text " << FormatInt(separator_in_text)
      << "\n";
    o << "  stop missing        " << FormatInt(missing_stop) << ", inside text " << FormatInt(stop_in_text)
      << ", no leading space " << FormatInt(missing_leading_space) << "\n";
  }
  char buf[160];
  o << "                           min      p50      p95      max     mean\n";
  auto row = [&](const char* name, const Distribution& d) {
    std::snprintf(buf, sizeof(buf), "  %-22s %8lld %8lld %8lld %8lld %8.1f\n", name, static_cast<long long>(d.min),
                  static_cast<long long>(d.p50), static_cast<long long>(d.p95), static_cast<long long>(d.max), d.mean);
    o << buf;
  };
  row("prompt chars", prompt_chars);
  row("completion chars", completion_chars);
  row("tokens (estimated)", tokens);
  o << "  estimated tokens    " << FormatInt(total_tokens) << " total; ~" << FormatInt(billable_tokens)
    << " billable over " << epochs << " epochs\n";
  for (const auto& w : warnings) o << "  warning: " << w << "\n";
  for (const auto& p : problems) o << "  " << p << "\n";
  return o.str();
}

std::string ValidationReport::ToJson() const {
  json j = {
      {"format", format},
      {"ok", ok()},
      {"lines", lines},
      {"examples", examples},
      {"invalid_json", invalid_json},
      {"blank_lines", blank_lines},
      {"format_errors", format_errors},
      {"empty_prompts", empty_prompts},
      {"empty_completions", empty_completions},
      {"duplicates", duplicates},
      {"over_token_limit", over_token_limit},
      {"token_limit", token_limit},
      {"missing_separator", missing_separator},
      {"separator_in_text", separator_in_text},
      {"missing_leading_space", missing_leading_space},
      {"missing_stop", missing_stop},
      {"stop_in_text", stop_in_text},
      {"prompt_chars", DistributionJson(prompt_chars)},
      {"completion_chars", DistributionJson(completion_chars)},
      {"tokens_estimated", DistributionJson(tokens)},
      {"total_tokens_estimated", total_tokens},
      {"epochs", epochs},
      {"billable_tokens_estimated", billable_tokens},
      {"token_estimate", "max(ceil(code_points/4), words+symbols) + 4 per chat message + 3"},
      {"warnings", warnings},
      {"problems", problems},
  };
  return j.dump(2);
}

Validator::Validator(const ValidationOptions& options) : options_(options) {
  report_.format = ExportFormatName(options.format);
  report_.token_limit = options.token_limit;
  report_.epochs = options.epochs;
}

Validator::~Validator() = default;

void Validator::Problem(std::int64_t line_no, const std::string& kind, const std::string& detail) {
  ++report_.format_errors[kind];
  if (report_.problems.size() < 10) report_.problems.push_back("line " + std::to_string(line_no) + ": " + detail);
}

void Validator::AddExample(std::string_view prompt, std::string_view completion, std::int64_t tokens) {
  ++report_.examples;
  if (TrimView(prompt).empty()) ++report_.empty_prompts;
  if (TrimView(completion).empty()) ++report_.empty_completions;
  prompt_chars_.push_back(Clamp32(static_cast<std::int64_t>(CountCodePoints(prompt))));
  completion_chars_.push_back(Clamp32(static_cast<std::int64_t>(CountCodePoints(completion))));
  tokens_.push_back(Clamp32(tokens));
  report_.total_tokens += tokens;
  if (tokens > options_.token_limit) ++report_.over_token_limit;
  std::uint64_t h = Hash64(completion, Hash64(prompt, 0xd0b));
  if (!seen_.insert(h).second) ++report_.duplicates;
  if (options_.format != ExportFormat::kCompletion) {
    // Texts that could not be exported in the legacy format unchanged.
    const auto& m = options_.markers;
    if (!m.separator.empty() && (prompt.find(m.separator) != std::string_view::npos ||
                                 completion.find(m.separator) != std::string_view::npos))
      ++report_.separator_in_text;
    if (!m.stop.empty() && completion.find(m.stop) != std::string_view::npos) ++report_.stop_in_text;
  }
}

void Validator::CheckCompletionMarkers(std::string_view prompt, std::string_view completion, std::int64_t line_no) {
  const auto& m = options_.markers;
  if (!m.separator.empty()) {
    if (!prompt.ends_with(m.separator)) {
      ++report_.missing_separator;
      if (report_.problems.size() < 10) report_.problems.push_back("line " + std::to_string(line_no) + ": prompt does not end with the separator");
    } else if (CountOccurrences(prompt, m.separator) > 1) {
      ++report_.separator_in_text;
    }
    if (completion.find(m.separator) != std::string_view::npos) ++report_.separator_in_text;
  }
  if (completion.empty() || completion[0] != ' ') ++report_.missing_leading_space;
  if (!m.stop.empty()) {
    if (!completion.ends_with(m.stop)) {
      ++report_.missing_stop;
      if (report_.problems.size() < 10) report_.problems.push_back("line " + std::to_string(line_no) + ": completion does not end with the stop sequence");
    } else if (CountOccurrences(completion, m.stop) > 1) {
      ++report_.stop_in_text;
    }
  }
}

void Validator::AddJsonLine(std::string_view line, std::int64_t line_no) {
  if (TrimView(line).empty()) {
    ++report_.blank_lines;
    if (report_.problems.size() < 10) report_.problems.push_back("line " + std::to_string(line_no) + ": blank line");
    return;
  }
  ++report_.lines;
  json j = json::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    ++report_.invalid_json;
    if (report_.problems.size() < 10)
      report_.problems.push_back("line " + std::to_string(line_no) + (j.is_discarded() ? ": invalid JSON" : ": not a JSON object"));
    return;
  }
  auto error_total = [&]() {
    std::int64_t t = 0;
    for (const auto& [k, n] : report_.format_errors) t += n;
    return t;
  };
  const std::int64_t errors_count_before = error_total();

  std::string prompt, completion;
  std::int64_t tokens = 0;

  // Checks one messages array; appends user/system text to `prompt` and
  // assistant text to `completion`. Returns the number of assistant turns.
  auto check_messages = [&](const json& messages, bool count_assistant_as_completion) -> int {
    int assistants = 0;
    for (const auto& m : messages) {
      if (!m.is_object()) {
        Problem(line_no, "bad_message", "a message is not an object");
        continue;
      }
      for (const auto& [key, value] : m.items())
        if (!IsKnownMessageKey(key)) Problem(line_no, "unknown_message_key", "unknown message key \"" + key + "\"");
      if (!m.contains("role") || !m["role"].is_string() || !IsKnownRole(m["role"].get<std::string>())) {
        Problem(line_no, "bad_role", "a message has a missing or unknown role");
        continue;
      }
      std::string role = m["role"].get<std::string>();
      bool tool_call = m.contains("tool_calls") || m.contains("function_call");
      if (!m.contains("content") || !(m["content"].is_string() || (m["content"].is_null() && role == "assistant" && tool_call))) {
        Problem(line_no, "bad_content", "a " + role + " message has no string content");
        continue;
      }
      if (m.contains("weight") && !(m["weight"] == 0 || m["weight"] == 1))
        Problem(line_no, "bad_weight", "weight must be 0 or 1");
      std::string content = m["content"].is_string() ? m["content"].get<std::string>() : std::string();
      if (!IsValidUtf8(content)) Problem(line_no, "invalid_utf8", "content is not valid UTF-8");
      tokens += EstimateTokens(content) + kTokensPerMessage;
      if (role == "assistant") {
        ++assistants;
        if (count_assistant_as_completion) {
          if (!completion.empty()) completion += "\n";
          completion += content;
          if (TrimView(content).empty() && !tool_call) ++report_.empty_completions;
        }
      } else if (role != "system" && role != "developer") {
        if (!prompt.empty()) prompt += "\n";
        prompt += content;
      }
    }
    return assistants;
  };

  switch (options_.format) {
    case ExportFormat::kChat: {
      for (const auto& [key, value] : j.items())
        if (key != "messages" && key != "tools" && key != "parallel_tool_calls" && key != "functions")
          Problem(line_no, "unknown_key", "unknown key \"" + key + "\"");
      if (!j.contains("messages") || !j["messages"].is_array() || j["messages"].empty()) {
        Problem(line_no, "missing_messages", "\"messages\" is missing or not a non-empty list");
        break;
      }
      if (check_messages(j["messages"], true) == 0) Problem(line_no, "no_assistant", "no assistant message");
      tokens += kTokensReplyPriming;
      break;
    }
    case ExportFormat::kCompletion: {
      for (const auto& [key, value] : j.items())
        if (key != "prompt" && key != "completion") Problem(line_no, "unknown_key", "unknown key \"" + key + "\"");
      if (!j.contains("prompt") || !j["prompt"].is_string()) {
        Problem(line_no, "missing_prompt", "\"prompt\" is missing or not a string");
        break;
      }
      if (!j.contains("completion") || !j["completion"].is_string()) {
        Problem(line_no, "missing_completion", "\"completion\" is missing or not a string");
        break;
      }
      prompt = j["prompt"].get<std::string>();
      completion = j["completion"].get<std::string>();
      CheckCompletionMarkers(prompt, completion, line_no);
      tokens = EstimateTokens(prompt) + EstimateTokens(completion);
      // Empty means nothing besides the markers.
      std::string_view body = completion;
      if (!options_.markers.stop.empty() && body.ends_with(options_.markers.stop))
        body.remove_suffix(options_.markers.stop.size());
      if (TrimView(body).empty()) ++report_.empty_completions;
      std::string_view pbody = prompt;
      if (!options_.markers.separator.empty() && pbody.ends_with(options_.markers.separator))
        pbody.remove_suffix(options_.markers.separator.size());
      if (TrimView(pbody).empty()) ++report_.empty_prompts;
      break;
    }
    case ExportFormat::kPreference: {
      for (const auto& [key, value] : j.items())
        if (key != "input" && key != "preferred_output" && key != "non_preferred_output")
          Problem(line_no, "unknown_key", "unknown key \"" + key + "\"");
      if (!j.contains("input") || !j["input"].is_object() || !j["input"].contains("messages") ||
          !j["input"]["messages"].is_array() || j["input"]["messages"].empty()) {
        Problem(line_no, "missing_input", "\"input.messages\" is missing or empty");
        break;
      }
      for (const auto& [key, value] : j["input"].items())
        if (key != "messages" && key != "tools" && key != "parallel_tool_calls")
          Problem(line_no, "unknown_key", "unknown key \"input." + key + "\"");
      const json& input = j["input"]["messages"];
      check_messages(input, false);
      if (input.back().is_object() && input.back().value("role", "") == "assistant")
        Problem(line_no, "input_ends_with_assistant", "input.messages must not end with an assistant turn");
      std::string outputs[2];
      const char* names[2] = {"preferred_output", "non_preferred_output"};
      std::int64_t output_tokens = 0;
      for (int k = 0; k < 2; ++k) {
        const char* name = names[k];
        if (!j.contains(name) || !j[name].is_array() || j[name].size() != 1 || !j[name][0].is_object() ||
            j[name][0].value("role", "") != "assistant" || !j[name][0].contains("content") ||
            !j[name][0]["content"].is_string()) {
          Problem(line_no, std::string("bad_") + name, std::string("\"") + name + "\" must hold exactly one assistant message");
          continue;
        }
        outputs[k] = j[name][0]["content"].get<std::string>();
        output_tokens = std::max(output_tokens, EstimateTokens(outputs[k]) + kTokensPerMessage);
      }
      if (!outputs[0].empty() && outputs[0] == outputs[1])
        Problem(line_no, "identical_outputs", "preferred and non-preferred outputs are the same");
      if (TrimView(outputs[0]).empty()) ++report_.empty_completions;
      completion = outputs[0];
      tokens += output_tokens + kTokensReplyPriming;
      break;
    }
  }
  if (error_total() != errors_count_before) return;  // counted as a format error, not an example
  if (TrimView(prompt).empty() && options_.format == ExportFormat::kChat) ++report_.empty_prompts;
  ++report_.examples;
  prompt_chars_.push_back(Clamp32(static_cast<std::int64_t>(CountCodePoints(prompt))));
  completion_chars_.push_back(Clamp32(static_cast<std::int64_t>(CountCodePoints(completion))));
  tokens_.push_back(Clamp32(tokens));
  report_.total_tokens += tokens;
  if (tokens > options_.token_limit) ++report_.over_token_limit;
  std::uint64_t h = Hash64(completion, Hash64(prompt, 0xd0b));
  if (!seen_.insert(h).second) ++report_.duplicates;
}

ValidationReport Validator::Finish() {
  report_.prompt_chars = Summarize(prompt_chars_);
  report_.completion_chars = Summarize(completion_chars_);
  report_.tokens = Summarize(tokens_);
  report_.billable_tokens = report_.total_tokens * report_.epochs;
  if (report_.examples < options_.min_examples)
    report_.warnings.push_back("only " + std::to_string(report_.examples) + " examples; OpenAI requires at least " +
                               std::to_string(options_.min_examples) + " (50-100 recommended)");
  if (report_.duplicates > 0)
    report_.warnings.push_back(std::to_string(report_.duplicates) + " exact duplicate examples");
  if (report_.over_token_limit > 0)
    report_.warnings.push_back(std::to_string(report_.over_token_limit) +
                               " examples over the token limit would be truncated or rejected");
  return std::move(report_);
}

util::Result<ValidationReport> ValidateJsonlFile(const std::string& path, const ValidationOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return util::Status::IOError("cannot open " + path);
  Validator v(options);
  std::string line;
  std::int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    v.AddJsonLine(line, line_no);
  }
  if (in.bad()) return util::Status::IOError("read error in " + path);
  return v.Finish();
}

}  // namespace deskbot::dataset
