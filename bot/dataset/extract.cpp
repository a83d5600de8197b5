#include "bot/dataset/extract.h"

#include <vector>

#include "bot/dataset/text_util.h"

namespace deskbot::dataset {
namespace {

bool IsGenericSubject(std::string_view s) {
  static const PhraseSet kGeneric{
      "", "help", "help!", "question", "issue", "problem", "support", "support request", "request",
      "ticket", "(no subject)", "no subject", "urgent", "hi", "hello", "help needed", "need help", "query",
      "inquiry", "enquiry", "new ticket", "untitled"};
  return s.empty() || kGeneric.Equals(s);
}

}  // namespace

bool IsClosingAcknowledgement(std::string_view reply) {
  static const PhraseSet kAcks{
      "glad", "great to hear", "good to hear", "happy to hear", "nice to hear", "you're welcome",
      "you’re welcome", "you are welcome", "no problem", "no worries", "my pleasure", "happy to help",
      "closing this", "closing the ticket", "i'm closing", "i am closing", "i'll close", "i will close",
      "we'll close", "we will close", "marking this", "marking as resolved", "this ticket has been",
      "ticket closed", "ticket resolved", "resolved", "perfect", "awesome", "excellent", "great",
      "thanks for confirming", "thank you for confirming", "thanks for letting", "thank you for letting",
  };
  std::string_view t = TrimView(reply);
  if (t.size() > 200) return false;
  return kAcks.MatchPrefix(t, true) > 0;
}

ExtractResult ExtractPair(const Ticket& ticket, const ExtractOptions& options) {
  ExtractResult result;
  if (!ticket.resolved) {
    result.drop_reason = kDropNotResolved;
    return result;
  }
  const auto& msgs = ticket.messages;
  // Pick the answer: the last substantive public agent reply.
  size_t answer_index = msgs.size();
  std::string answer;
  size_t fallback_index = msgs.size();
  std::string fallback;
  for (size_t i = msgs.size(); i > 0; --i) {
    const Message& m = msgs[i - 1];
    if (m.role != Role::kAgent || !m.is_public) continue;
    std::string cleaned = CleanBody(m.body, m.content_type, options.clean);
    if (CountCodePoints(cleaned) >= options.min_substantive_answer_chars && !IsClosingAcknowledgement(cleaned)) {
      answer_index = i - 1;
      answer = std::move(cleaned);
      break;
    }
    if (fallback_index == msgs.size() || cleaned.size() > fallback.size()) {
      fallback_index = i - 1;
      fallback = std::move(cleaned);
    }
  }
  if (answer_index == msgs.size()) {
    if (fallback_index == msgs.size()) {
      result.drop_reason = kDropNoAgentReply;
      return result;
    }
    answer_index = fallback_index;
    answer = std::move(fallback);
  }

  // The question: subject + the requester's public messages before the answer.
  std::vector<std::string> parts;
  for (size_t i = 0; i < answer_index; ++i) {
    const Message& m = msgs[i];
    if (m.role != Role::kRequester || !m.is_public) continue;
    std::string cleaned = CleanBody(m.body, m.content_type, options.clean);
    if (!cleaned.empty()) parts.push_back(std::move(cleaned));
  }
  std::string subject = CleanSubject(ticket.subject);
  bool use_subject = !IsGenericSubject(subject) &&
                     (parts.empty() || !StartsWithIgnoreCase(parts.front(), subject));
  std::string question;
  if (use_subject) question = subject;
  for (const auto& p : parts) {
    if (!question.empty()) question += "\n\n";
    question += p;
  }
  if (question.empty()) {
    result.drop_reason = kDropNoQuestion;
    return result;
  }

  RawPair raw;
  raw.pair.source = ticket.source;
  raw.pair.ticket_external_id = ticket.external_id;
  raw.pair.question = std::move(question);
  raw.pair.answer = std::move(answer);
  raw.pair.origin = PairOrigin::kHarvested;
  raw.pair.created_at = ticket.created_at;
  if (raw.pair.created_at == 0 && !msgs.empty()) raw.pair.created_at = msgs.front().created_at;
  raw.requester.name = ticket.requester_name;
  raw.requester.email = ticket.requester_email;
  result.pair = std::move(raw);
  return result;
}

}  // namespace deskbot::dataset
