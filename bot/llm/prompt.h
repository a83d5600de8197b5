// The messages an LLM is asked with: prompts/answer/system.mustache and
// prompts/answer/user.mustache (kainjow mustache, HTML escaping off), with
//   {{system}}        prompts/system.txt (the same system message the
//                     fine-tuning examples carry, so the model sees what it
//                     was trained on)
//   {{question}}      the question (redacted)
//   {{has_context}}   true when similar resolved tickets are given
//   {{#context}}      each: {{rank}} {{question}} {{answer}} {{source}} {{ticket}}
// Rendered texts are trimmed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "connectors/openai/types.h"
#include "connectors/util/status.h"

namespace deskbot::llm {

// A resolved ticket the local model found for the question.
struct ContextTicket {
  std::string question;
  std::string answer;
  std::string source;
  std::string ticket;
};

class AnswerPrompt {
 public:
  // `dir` holds system.txt and answer/*.mustache. A missing or invalid file
  // is an error naming it.
  static util::Result<AnswerPrompt> Load(const std::string& dir);
  AnswerPrompt(AnswerPrompt&&) noexcept;
  AnswerPrompt& operator=(AnswerPrompt&&) noexcept;
  ~AnswerPrompt();

  // [system, user]. Thread-safe.
  std::vector<openai::ChatMessage> Render(const std::string& question,
                                          const std::vector<ContextTicket>& context) const;

 private:
  struct Impl;
  explicit AnswerPrompt(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace deskbot::llm
