#include "bot/dataset/filters.h"

#include "bot/dataset/text_util.h"

namespace deskbot::dataset {

// Auto-replies are recognised by how they are written, not by topic: "How do
// I set my out-of-office reply?" is a real question. So: an auto-reply
// subject/prefix at the start, a machine-message sentence, or an absence
// notice (away words together with return words in a short text).
bool IsAutoReply(std::string_view text) { return IsAutoReplyLower(AsciiLowerCopy(TrimView(text))); }

bool IsAutoReplyLower(std::string_view t) {
  static const PhraseSet kPrefixes{
      "automatic reply:", "auto-reply:", "autoreply:", "auto reply:", "auto-response:", "out of office:",
      "out of office reply", "out of office autoreply", "[auto-reply]", "[autoreply]", "abwesenheitsnotiz",
      "automatische antwort", "réponse automatique", "respuesta automática", "risposta automatica",
      "automatisch antwoord",
  };
  static const PhraseSet kMachineSentences{
      "this is an automated", "this is an automatic", "this is an auto-generated", "this is a system generated",
      "this is a system-generated", "this message was automatically generated",
      "this email was automatically generated", "this e-mail was automatically generated",
      "this message was sent automatically", "do not reply to this email", "do not reply to this e-mail",
      "do not reply to this message", "we have received your request and", "your request has been received and",
  };
  static const PhraseSet kAway{
      "out of the office", "out of office", "currently away", "on vacation", "on holiday", "on annual leave",
      "on leave", "away from the office", "nicht im büro", "absent du bureau", "fuera de la oficina",
  };
  static const PhraseSet kReturn{
      "will return", "i return", "back on", "back in the office", "back in office", "limited access",
      "will respond", "will reply", "will get back to you", "upon my return", "on my return", "zurück",
      "de retour", "respond to your", "until",
  };
  if (kPrefixes.MatchPrefix(t) > 0) return true;
  if (kMachineSentences.ContainedInLower(t)) return true;
  return t.size() < 800 && kAway.ContainedInLower(t) && kReturn.ContainedInLower(t);
}

bool IsDuplicateClosure(std::string_view answer) { return IsDuplicateClosureLower(AsciiLowerCopy(answer)); }

bool IsDuplicateClosureLower(std::string_view lower) {
  static const PhraseSet kPhrases{
      "closed as duplicate", "closed as a duplicate", "closing as duplicate", "closing as a duplicate",
      "marked as duplicate", "marked as a duplicate", "marking as duplicate", "marking as a duplicate",
      "duplicate of", "dupe of", "this is a duplicate", "is a duplicate ticket", "duplicate ticket",
      "merged into ticket", "merged with ticket", "merged into #", "merged with #", "merging into ticket",
      "merging with ticket", "merged into case", "merged into request",
  };
  return kPhrases.ContainedInLower(lower);
}

std::string_view QualityProblem(std::string_view question, std::string_view answer, const FilterOptions& options) {
  std::string_view q = TrimView(question), a = TrimView(answer);
  if (q.empty()) return kDropEmptyQuestion;
  if (a.empty()) return kDropEmptyAnswer;
  std::string lower_q = AsciiLowerCopy(q), lower_a = AsciiLowerCopy(a);  // once, for every phrase list
  if (IsAutoReplyLower(lower_q) || IsAutoReplyLower(lower_a)) return kDropAutoReply;
  if (IsDuplicateClosureLower(lower_a)) return kDropDuplicateTicket;
  if (SameTextLoosely(q, a)) return kDropSameText;
  if (CountCodePoints(q) < options.min_question_chars) return kDropShortQuestion;
  if (CountCodePoints(a) < options.min_answer_chars) return kDropShortAnswer;
  return {};
}

}  // namespace deskbot::dataset
