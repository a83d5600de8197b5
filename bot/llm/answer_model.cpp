#include "bot/llm/answer_model.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "bot/dataset/redact.h"
#include "bot/llm/pricing.h"
#include "bot/model/local_model.h"
#include "bot/model/text.h"
#include "connectors/openai/estimate.h"

namespace deskbot::llm {
namespace {

std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// What the local model says about a question.
struct Support {
  double confidence = 0;
  bool supported = false;
  std::vector<ContextTicket> context;
  std::vector<SourceRef> sources;
};

// The choice the others agree with most (mean token-F1), and that agreement.
std::pair<std::size_t, double> Consensus(const std::vector<openai::Choice>& choices) {
  if (choices.size() < 2) return {0, 1.0};
  std::size_t best = 0;
  double best_agreement = -1;
  for (std::size_t i = 0; i < choices.size(); ++i) {
    double sum = 0;
    for (std::size_t j = 0; j < choices.size(); ++j)
      if (j != i) sum += model::TokenF1(choices[i].message.content, choices[j].message.content);
    const double agreement = sum / static_cast<double>(choices.size() - 1);
    if (agreement > best_agreement) {
      best_agreement = agreement;
      best = i;
    }
  }
  return {best, best_agreement};
}

}  // namespace

struct LlmAnswerModel::Impl {
  AnswerSettings settings;
  std::string model, version;
  std::shared_ptr<openai::Client> client;
  std::shared_ptr<const model::LocalModel> support;
  std::shared_ptr<const AnswerPrompt> prompt;
  std::shared_ptr<LlmCounters> counters;
  std::optional<InferencePrice> price;

  Support FindSupport(const std::string& question) const {
    Support s;
    if (!support) return s;
    const std::size_t want = std::max<std::size_t>(static_cast<std::size_t>(settings.context_tickets), 3);
    model::Ranking ranking = support->Rank(question, want);
    s.confidence = ranking.confidence;
    const double threshold = settings.min_support >= 0 ? settings.min_support : support->threshold();
    s.supported = !ranking.answers.empty() && s.confidence >= threshold;
    for (std::size_t i = 0; i < ranking.answers.size() && static_cast<int>(i) < settings.context_tickets; ++i) {
      const std::uint32_t doc = ranking.answers[i].doc;
      s.context.push_back({support->question(doc), support->answer(doc), support->source(doc), support->ticket_id(doc)});
    }
    // Sources as the local model gives them: the tickets behind its best
    // answer, or the nearest ones when it has none.
    std::vector<std::uint32_t> docs = ranking.sources;
    if (docs.empty())
      for (const auto& a : ranking.answers)
        if (docs.size() < 3) docs.push_back(a.doc);
    for (std::uint32_t d : docs) {
      SourceRef ref;
      ref.source = support->source(d);
      ref.ticket_external_id = support->ticket_id(d);
      ref.question = support->question(d);
      ref.score = ranking.answers.empty() ? 0 : ranking.answers[0].score;
      s.sources.push_back(std::move(ref));
    }
    return s;
  }

  std::vector<openai::ChatMessage> Messages(const std::string& question, const Support& support_info) const {
    std::string asked = question;
    if (settings.redact_questions) asked = dataset::RedactionScope().Redact(question, nullptr);
    return prompt->Render(asked, support_info.context);
  }

  // The local model's suggestion, marked as a fallback.
  util::Result<Suggestion> Fallback(const std::string& question) const {
    if (!support) {
      Suggestion s;
      s.model_version = version + kUnavailableMark;
      return s;
    }
    auto s = support->Suggest(question);
    if (!s.ok()) return s.status();
    s->model_version = (support->version().empty() ? std::string("local") : support->version()) + kUnavailableMark;
    return s;
  }
};

LlmAnswerModel::LlmAnswerModel(AnswerSettings settings, std::string model, std::string version,
                               std::shared_ptr<openai::Client> client,
                               std::shared_ptr<const model::LocalModel> support,
                               std::shared_ptr<const AnswerPrompt> prompt, std::shared_ptr<LlmCounters> counters)
    : impl_(new Impl{std::move(settings), std::move(model), std::move(version), std::move(client),
                     std::move(support), std::move(prompt), std::move(counters), std::nullopt}) {
  if (impl_->version.empty()) impl_->version = impl_->model;
  impl_->price = PriceFor(impl_->model, impl_->settings.usd_per_million_input, impl_->settings.usd_per_million_output);
}

LlmAnswerModel::~LlmAnswerModel() = default;

const std::string& LlmAnswerModel::model() const { return impl_->model; }
const std::string& LlmAnswerModel::version() const { return impl_->version; }
const std::shared_ptr<LlmCounters>& LlmAnswerModel::counters() const { return impl_->counters; }

util::Result<Suggestion> LlmAnswerModel::Suggest(const std::string& question) const {
  auto answer = Answer(question, Mode::kServe);
  if (!answer.ok()) return answer.status();
  if (impl_->counters) impl_->counters->Add(answer->usage);
  return std::move(answer->suggestion);
}

util::Result<LlmAnswer> LlmAnswerModel::Answer(const std::string& question, Mode mode) const {
  const Impl& m = *impl_;
  LlmAnswer out;
  const Support support = m.FindSupport(question);
  Suggestion& s = out.suggestion;
  s.model_version = m.version;
  s.confidence = support.confidence;
  s.sources = support.sources;
  s.abstained = true;
  if (!support.supported && mode == Mode::kServe) {
    out.usage.abstained = true;
    out.error = m.support ? "no support among resolved tickets" : "no local model for support";
    return out;
  }

  openai::ChatRequest request;
  request.model = m.model;
  request.messages = m.Messages(question, support);
  request.temperature = m.settings.temperature;
  request.max_completion_tokens = m.settings.max_tokens;
  if (m.settings.n > 1) request.n = m.settings.n;
  request.stop = m.settings.stop;
  out.usage.asked = true;
  auto response = m.client->CreateChatCompletion(request);
  if (response.ok() && response->choices.empty())
    response = util::Status::InvalidArgument("openai: chat completion without choices");
  if (!response.ok()) {
    out.usage.failed = true;
    out.error = response.status().ToString();
    if (mode == Mode::kEvaluate) return response.status();
    spdlog::warn("llm {}: {}; the local model answers", m.model, out.error);
    auto fallback = m.Fallback(question);
    if (!fallback.ok()) return fallback.status();
    out.usage.fallback = true;
    out.usage.abstained = fallback->abstained;
    out.suggestion = std::move(fallback).value();
    return out;
  }

  // Usage as billed; estimated when the server leaves it out.
  if (response->has_usage) {
    out.usage.prompt_tokens = response->usage.prompt_tokens;
    out.usage.completion_tokens = response->usage.completion_tokens;
  } else {
    out.usage.prompt_tokens = 3;
    for (const auto& msg : request.messages) out.usage.prompt_tokens += 4 + openai::EstimateTextTokens(msg.content);
    for (const auto& c : response->choices) out.usage.completion_tokens += openai::EstimateTextTokens(c.message.content);
  }
  if (m.price) {
    out.usage.priced = true;
    out.usage.cost_usd = CostUsd(*m.price, out.usage.prompt_tokens, out.usage.completion_tokens);
  }

  const auto [chosen, agreement] = Consensus(response->choices);
  const openai::Choice& choice = response->choices[chosen];
  out.llm_text = Trim(choice.message.content);
  out.usage.truncated = choice.finish_reason == "length";
  const bool unusable = out.llm_text.empty() || !choice.refusal.empty() ||
                        choice.finish_reason == "content_filter" || out.usage.truncated;
  s.confidence = support.confidence * agreement;
  s.abstained = !support.supported || unusable;
  if (!s.abstained) s.text = out.llm_text;
  if (unusable)
    out.error = out.usage.truncated ? "answer cut at max_tokens" : "no usable answer (" + choice.finish_reason + ")";
  out.usage.abstained = s.abstained;
  return out;
}

}  // namespace deskbot::llm
