#include "bot/llm/prompt.h"

#include <filesystem>
#include <kainjow/mustache.hpp>
#include <mutex>

#include "bot/dataset/prompts.h"

namespace deskbot::llm {

namespace mus = kainjow::mustache;

namespace {

std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

}  // namespace

struct AnswerPrompt::Impl {
  std::string system_text;
  mus::mustache system, user;
  std::mutex mu;  // rendering is not documented to be thread-safe
  Impl(std::string sys, const std::string& system_template, const std::string& user_template)
      : system_text(std::move(sys)), system(system_template), user(user_template) {
    for (auto* t : {&system, &user}) t->set_custom_escape([](const std::string& s) { return s; });
  }
  std::string Render(mus::mustache& t, const mus::data& d) const {
    std::string out;
    t.render(d, [&out](const std::string& s) { out += s; });
    return Trim(out);
  }
};

util::Result<AnswerPrompt> AnswerPrompt::Load(const std::string& dir) {
  const std::filesystem::path base(dir);
  auto sys = dataset::ReadPromptFile((base / "system.txt").string());
  if (!sys.ok()) return sys.status();
  auto system_t = dataset::ReadPromptFile((base / "answer" / "system.mustache").string());
  if (!system_t.ok()) return system_t.status();
  auto user_t = dataset::ReadPromptFile((base / "answer" / "user.mustache").string());
  if (!user_t.ok()) return user_t.status();
  auto impl = std::make_unique<Impl>(std::move(sys).value(), *system_t, *user_t);
  if (!impl->system.is_valid())
    return util::Status::InvalidArgument("prompt template answer/system.mustache: " + impl->system.error_message());
  if (!impl->user.is_valid())
    return util::Status::InvalidArgument("prompt template answer/user.mustache: " + impl->user.error_message());
  return AnswerPrompt(std::move(impl));
}

AnswerPrompt::AnswerPrompt(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AnswerPrompt::AnswerPrompt(AnswerPrompt&&) noexcept = default;
AnswerPrompt& AnswerPrompt::operator=(AnswerPrompt&&) noexcept = default;
AnswerPrompt::~AnswerPrompt() = default;

std::vector<openai::ChatMessage> AnswerPrompt::Render(const std::string& question,
                                                      const std::vector<ContextTicket>& context) const {
  mus::data d;
  d.set("system", impl_->system_text);
  d.set("question", question);
  d.set("has_context", mus::data(!context.empty()));
  mus::data list{mus::data::type::list};
  int rank = 0;
  for (const ContextTicket& c : context) {
    mus::data item;
    item.set("rank", std::to_string(++rank));
    item.set("question", c.question);
    item.set("answer", c.answer);
    item.set("source", c.source);
    item.set("ticket", c.ticket);
    list << item;
  }
  d.set("context", list);
  std::vector<openai::ChatMessage> messages;
  std::lock_guard<std::mutex> lock(impl_->mu);
  messages.push_back({"system", impl_->Render(impl_->system, d), ""});
  messages.push_back({"user", impl_->Render(impl_->user, d), ""});
  return messages;
}

}  // namespace deskbot::llm
