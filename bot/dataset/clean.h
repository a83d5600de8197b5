// Cleaning one message body into the text a model should learn from.
//
// CleanBody runs, in order:
//   1. SanitizeUtf8      invalid UTF-8 -> U+FFFD, CR/LF, controls, odd spaces
//   2. HtmlToText        for text/html (or text/plain that is really HTML)
//   3. NormalizeWhitespace
//   4. StripQuotedHistory  everything the sender quoted from earlier mails
//   5. StripSignature      "-- " blocks, sign-off + name blocks, mobile footers
//   6. StripPleasantries   greeting line ("Hi Maria,") and opening/closing
//                          pleasantries ("Hope this helps!", "Let me know if...")
//   7. NormalizeWhitespace
// Every rule works on whole lines (or the first/last sentence for
// pleasantries) with hand-written matching: no std::regex, linear time.
//
// Rules, precisely (see the tests in tests/unit/dataset/clean_test.cpp):
// * Quoted history. Lines starting with ">" are dropped wherever they are
//   (interleaved replies keep the non-quoted lines). A reply header -- a line
//   (or up to three when the client wrapped it) that ends with ":", holds
//   "wrote" or its translation (schrieb, a écrit, escribió, ha scritto,
//   schreef, escreveu, pisze, skrev, kirjoitti, написал, 写道, ...) and starts
//   with "On"/"Am"/"Le"/"Op"/"Den"/... or holds a digit or "@" -- is dropped; when the
//   next text line is not a "> " quote (the quote was not marked, e.g. it came
//   from HTML), everything from the header on is cut. A separator line
//   ("-----Original Message-----" and its translations, "---------- Forwarded
//   message ---------", "Begin forwarded message:", a line of 8+ underscores
//   followed by a header) or a forwarded/Outlook header block (a "From:" line,
//   or Von:/De:/Da:/Van:/Från:/Od:, followed within 6 lines by at least two of
//   Sent:/Date:/To:/Subject:/Cc: or their translations) cuts everything after.
// * Signatures. A "--" / "-- " line cuts the rest. A mobile footer line
//   ("Sent from my iPhone", "Get Outlook for Android", "Von meinem iPhone
//   gesendet", ...) cuts the rest. A sign-off line ("Best regards,", "Thanks,",
//   "Cheers", "Mit freundlichen Grüßen", ..., optionally followed on the same
//   line by a name of up to 3 words) cuts the rest when what follows is a
//   name block: at most 6 non-empty lines, each at most 80 characters.
// * Pleasantries. The first line is dropped when it is a greeting ("Hi Maria,",
//   "Hello,", "Dear Mr Smith,", "Good morning team!") of at most 8 words; a
//   greeting that starts a longer line is cut up to its comma/"!". Opening
//   phrases ("Thank you for contacting ...", "I hope you are well.") and
//   closing phrases ("Hope this helps!", "Let me know if ...", "Thanks in
//   advance", "Have a great day") are removed when they are a whole line at
//   the start/end, or the first/last sentence of the text.
#pragma once

#include <string>
#include <string_view>

#include "bot/dataset/html_text.h"

namespace deskbot::dataset {

struct CleanOptions {
  bool strip_quotes = true;
  bool strip_signatures = true;
  bool strip_pleasantries = true;
  HtmlOptions html;
};

// One message body (raw, as harvested) -> clean text. Never fails.
std::string CleanBody(std::string_view body, std::string_view content_type, const CleanOptions& options = {});

// The individual rules, on sanitised, whitespace-normalised text.
std::string StripQuotedHistory(std::string_view text);
std::string StripSignature(std::string_view text);
std::string StripPleasantries(std::string_view text);

// A ticket subject without reply/forward prefixes ("Re:", "Fwd:", "AW:", "WG:",
// "TR:", "RV:", "SV:", repeated) and ticket tags ("[HD-1001]", "[#42]").
std::string CleanSubject(std::string_view subject);

}  // namespace deskbot::dataset
