// Text for the local model: how a question becomes search terms, and the
// answer-overlap metrics (token-F1, ROUGE-L) used to score suggestions.
//
// Two tokenisations on purpose:
//  - Words(): plain lower-cased word tokens, the SQuAD-style basis of the
//    metrics, so that scores are comparable with published numbers;
//  - Terms(): what retrieval indexes: Words() minus stop words, stemmed with
//    Snowball (Xapian's stemmer), plus the whole of compound tokens such as
//    "srv-01.corp" or "0x80070005" so that an exact host or error code still
//    matches as one term.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace deskbot::model {

// Appends the lower-cased, accent-stripped word tokens of `text` to `out`
// (runs of letters and digits; "can't" -> "cant").
void Words(std::string_view text, std::vector<std::string>* out);

// Appends the retrieval terms of `text` to `out` (see above). Thread-safe.
void Terms(std::string_view text, std::vector<std::string>* out);

bool IsStopword(std::string_view word);

// Bag-of-words F1 between a suggested and a true answer (0 when either is
// empty), on Words().
double TokenF1(std::string_view candidate, std::string_view reference);
// ROUGE-L F-measure (beta = 1): longest common subsequence of Words().
double RougeL(std::string_view candidate, std::string_view reference);
// The same on already tokenised text.
double TokenF1(const std::vector<std::string>& candidate, const std::vector<std::string>& reference);
double RougeL(const std::vector<std::string>& candidate, const std::vector<std::string>& reference);

// The key under which near-identical answers form one "canned reply":
// the article a reply links to when it links one (archive.org wrappers and
// schemes removed), else the reply's words without @handles, signatures and
// digits. Two answers with the same key count as the same answer.
std::string AnswerKey(std::string_view answer);

// The part of the organisation a reply belongs to, from its AnswerKey: the
// site (registrable domain, e.g. "adobe.com" for helpx.adobe.com and
// community.adobe.com) of the article it links; "" for a reply that links
// none. Replies of one team or product share it, so it lets a question's
// routing signals (the team it addresses, the product it names) count for
// every reply of that team, even those seen once.
std::string ReplySite(std::string_view answer_key);

// The @names a message addresses ("@AdobeCare", "@hulu_support"), lower-cased
// and without the '@', each once, in order of appearance. An '@' inside a word
// (an e-mail address) is not one. On social channels they name the team the
// question is for; tickets from other systems simply have none.
void Handles(std::string_view text, std::vector<std::string>* out);

}  // namespace deskbot::model
