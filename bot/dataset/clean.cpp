#include "bot/dataset/clean.h"

#include <vector>

#include "bot/dataset/text_util.h"

namespace deskbot::dataset {
namespace {

using Lines = std::vector<std::string_view>;

Lines SplitLines(std::string_view text) {
  Lines lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

std::string JoinLines(const Lines& lines, size_t end, const std::vector<bool>* keep) {
  std::string out;
  for (size_t i = 0; i < end && i < lines.size(); ++i) {
    if (keep != nullptr && !(*keep)[i]) continue;
    if (!out.empty()) out.push_back('\n');
    out.append(lines[i]);
  }
  return out;
}

bool StartsWithAny(std::string_view s, const PhraseSet& set) { return set.MatchPrefix(s) > 0; }
bool EqualsAny(std::string_view s, const PhraseSet& set) { return set.Equals(s); }
// A phrase prefix that ends on a word boundary ("hi" matches "Hi Maria" but
// not "Hibernate").
size_t MatchWordPrefix(std::string_view s, const PhraseSet& set) { return set.MatchPrefix(s, true); }

size_t NextNonEmpty(const Lines& lines, size_t from) {
  while (from < lines.size() && TrimView(lines[from]).empty()) ++from;
  return from;
}

bool HasDigitOrAt(std::string_view s) {
  for (char c : s)
    if (IsAsciiDigit(c) || c == '@') return true;
  return false;
}

// --- quoted history ------------------------------------------------------

// The verb of a reply header, wherever it stands in the line: "On ... Maria
// wrote:", "Am ... schrieb Maria <m@x>:", "Maria kirjoitti 2.3.2026 klo 9.14:".
constexpr std::string_view kReplyVerbs[] = {
    "wrote", "writes", "schrieb", "a écrit", "escribió", "escribio", "ha scritto", "schreef", "escreveu",
    "pisze", "napisał", "skrev", "kirjoitti", "написал", "έγραψε", "yazdı", "napsal", "írta", "a scris",
    "kirjutas", "rakstīja", "parašė", "写道", "寫道",
};

const PhraseSet kReplyPrefixes{
    "On ", "Am ", "Le ", "El ", "Il ", "Op ", "Em ", "W dniu ", "Den ", "Dne ", "På ", "Pe ", "在",
    "Στις ", "В ", "Quoting ", "Zitat von ", "Citando ", "Citant ",
};

bool EndsWithColon(std::string_view t) { return t.ends_with(":") || t.ends_with("："); }

bool ContainsReplyVerb(std::string_view t) {
  for (auto v : kReplyVerbs) {
    for (size_t pos = FindIgnoreCase(t, v); pos != std::string_view::npos; pos = FindIgnoreCase(t, v, pos + 1)) {
      bool left = pos == 0 || !IsWordByte(t[pos - 1]);
      size_t end = pos + v.size();
      bool right = end >= t.size() || !IsAsciiAlpha(t[end]);
      if (left && right) return true;
    }
  }
  return false;
}

// "On Mon, 2 Mar 2026 at 09:14, Maria <m@x.com> wrote:" on one line or
// wrapped onto up to three: ends with ':', holds a reply verb, and starts
// with a header word or holds a date digit or an address.
// Returns the number of lines it spans (0: none).
size_t ReplyHeaderLines(const Lines& lines, size_t i) {
  std::string_view t = TrimView(lines[i]);
  if (t.empty() || t.size() > 300) return 0;
  bool prefix = StartsWithAny(t, kReplyPrefixes);
  if (EndsWithColon(t)) return ((prefix || HasDigitOrAt(t)) && ContainsReplyVerb(t)) ? 1 : 0;
  if (!prefix) return 0;
  std::string joined(t);
  for (size_t k = 1; k <= 2 && i + k < lines.size(); ++k) {
    std::string_view next = TrimView(lines[i + k]);
    if (next.empty() || joined.size() + next.size() > 300) return 0;
    joined += " ";
    joined += next;
    if (EndsWithColon(next)) return ContainsReplyVerb(joined) ? k + 1 : 0;
  }
  return 0;
}

const PhraseSet kSeparatorPhrases{
    "original message", "ursprüngliche nachricht", "message d'origine", "message d’origine", "mensaje original",
    "messaggio originale", "oorspronkelijk bericht", "originalmeddelande", "mensagem original",
    "forwarded message", "weitergeleitete nachricht", "message transféré", "mensaje reenviado",
    "opprinnelig melding", "oprindelig meddelelse", "alkuperäinen viesti", "oryginalna wiadomość",
};

const PhraseSet kForwardOpeners{
    "Begin forwarded message", "Anfang der weitergeleiteten", "Début du message réexpédié",
    "Inicio del mensaje reenviado", "Início da mensagem reencaminhada",
};

const PhraseSet kFromLabels{
    "From:", "From :", "Von:", "De:", "De :", "Da:", "Van:", "Från:", "Fra:", "Od:", "Lähettäjä:", "Feladó:",
    "Reply-To:", "Sender:",
};

const PhraseSet kHeaderLabels{
    "Sent:", "Date:", "To:", "Subject:", "Cc:", "Gesendet:", "Datum:", "An:", "Betreff:", "Envoyé :", "Envoyé:",
    "Date :", "À :", "À:", "Objet :", "Objet:", "Enviado:", "Fecha:", "Para:", "Asunto:", "Inviato:", "Data:",
    "A:", "Oggetto:", "Verzonden:", "Aan:", "Onderwerp:", "Skickat:", "Till:", "Ämne:", "Sendt:", "Til:",
    "Emne:", "Wysłano:", "Do:", "Temat:", "Kopie:", "Cc :", "Sent :", "To :", "Subject :",
};

bool IsSeparatorLine(std::string_view t) {
  if (t.size() >= 5 && (t[0] == '-' || t[0] == '_' || t[0] == '=' || t[0] == '*')) {
    if (kSeparatorPhrases.ContainedInLower(AsciiLowerCopy(t))) return true;
  }
  return StartsWithAny(t, kForwardOpeners);
}

bool IsUnderscoreRule(std::string_view t) {
  if (t.size() < 8) return false;
  for (char c : t)
    if (c != '_') return false;
  return true;
}

bool IsHeaderBlockStart(const Lines& lines, size_t i) {
  std::string_view t = TrimView(lines[i]);
  if (!StartsWithAny(t, kFromLabels)) return false;
  // Flattened Outlook header on one line: "From: X Sent: Y To: Z Subject: W".
  if ((FindIgnoreCase(t, " Sent:") != std::string_view::npos ||
       FindIgnoreCase(t, " Date:") != std::string_view::npos) &&
      FindIgnoreCase(t, " Subject:") != std::string_view::npos) {
    return true;
  }
  int labels = 0;
  for (size_t k = i + 1; k < lines.size() && k <= i + 6; ++k) {
    std::string_view n = TrimView(lines[k]);
    if (StartsWithAny(n, kHeaderLabels)) ++labels;
  }
  return labels >= 2;
}

// --- signatures ------------------------------------------------------------

const PhraseSet kMobileFooters{
    "Sent from my ", "Sent from Outlook", "Sent from Mail for", "Sent from Yahoo Mail", "Sent from Samsung",
    "Sent from the all new", "Sent via ", "Sent with ", "Get Outlook for", "Von meinem ", "Gesendet von meinem",
    "Envoyé de mon ", "Envoyé depuis mon", "Enviado desde mi ", "Enviado do meu ", "Enviado de meu ",
    "Inviato da ", "Verzonden vanaf ", "Verstuurd vanaf ", "Skickat från min ", "Sendt fra min ",
    "Wysłane z ", "Download Outlook for",
};

const PhraseSet kSignOffs{
    "best regards", "kind regards", "warm regards", "warmest regards", "regards", "best", "best wishes",
    "all the best", "thanks", "thank you", "thanks again", "many thanks", "thanks a lot", "thanks so much",
    "thank you so much", "thank you very much", "thanks very much", "thx", "ty", "cheers", "sincerely",
    "yours sincerely", "sincerely yours", "yours truly", "yours faithfully", "respectfully", "br", "kr",
    "rgds", "mfg", "lg", "vg", "mit freundlichen grüßen", "mit freundlichen grüssen", "freundliche grüße",
    "freundliche grüsse", "viele grüße", "viele grüsse", "beste grüße", "liebe grüße", "gruß", "grüße",
    "danke", "vielen dank", "cordialement", "bien cordialement", "bien à vous", "salutations", "merci",
    "merci beaucoup", "saludos", "un saludo", "saludos cordiales", "atentamente", "gracias", "muchas gracias",
    "cordiali saluti", "distinti saluti", "saluti", "grazie", "met vriendelijke groet",
    "met vriendelijke groeten", "vriendelijke groet", "groeten", "bedankt", "med vänliga hälsningar",
    "vänliga hälsningar", "hälsningar", "med venlig hilsen", "venlig hilsen", "mvh", "hilsen", "tack",
    "atenciosamente", "abraços", "obrigado", "obrigada", "pozdrawiam", "z poważaniem", "dziękuję",
};

bool IsPunctOnly(std::string_view s) {
  for (char c : s)
    if (c != ',' && c != '.' && c != '!' && c != ' ' && c != ':' && c != '-') return false;
  return true;
}

size_t CountWords(std::string_view s) {
  size_t words = 0;
  bool in_word = false;
  for (char c : s) {
    bool w = !IsAsciiSpace(c);
    if (w && !in_word) ++words;
    in_word = w;
  }
  return words;
}

// "Best regards,", "Thanks!", "Cheers, Tom", "Thanks Maria Lopez".
bool IsSignOffLine(std::string_view t) {
  if (t.size() > 60) return false;
  size_t len = MatchWordPrefix(t, kSignOffs);
  if (len == 0) return false;
  std::string_view rest = t.substr(len);
  if (IsPunctOnly(rest)) return true;
  // A short name after the sign-off: ", Tom" or " Tom Baker" (capitalised).
  size_t k = 0;
  while (k < rest.size() && (rest[k] == ',' || rest[k] == ' ' || rest[k] == '!' || rest[k] == '.')) ++k;
  std::string_view name = TrimView(rest.substr(k));
  while (!name.empty() && (name.back() == '.' || name.back() == '!')) name.remove_suffix(1);
  if (name.empty() || CountWords(name) > 3) return false;
  unsigned char first = static_cast<unsigned char>(name[0]);
  return (first >= 'A' && first <= 'Z') || first >= 0x80 || name[0] == '^';
}

bool IsNameBlock(const Lines& lines, size_t from) {
  int count = 0;
  for (size_t k = from; k < lines.size(); ++k) {
    std::string_view t = TrimView(lines[k]);
    if (t.empty()) continue;
    if (++count > 6 || CountCodePoints(t) > 80) return false;
  }
  return true;
}

// Twitter-style agent initials at the very end: "... Thanks! ^AK".
std::string_view StripCaretInitials(std::string_view text) {
  std::string_view t = TrimView(text);
  size_t caret = t.rfind('^');
  if (caret == std::string_view::npos || caret + 1 >= t.size() || t.size() - caret > 16) return text;
  if (caret > 0 && !IsAsciiSpace(t[caret - 1]) && t[caret - 1] != '-') return text;
  for (size_t k = caret + 1; k < t.size(); ++k)
    if (!IsAsciiAlpha(t[k])) return text;
  std::string_view head = t.substr(0, caret);
  while (!head.empty() && (IsAsciiSpace(head.back()) || head.back() == '-')) head.remove_suffix(1);
  return head;
}

// --- pleasantries ----------------------------------------------------------

const PhraseSet kGreetings{
    "hi", "hello", "hey", "dear", "good morning", "good afternoon", "good evening", "good day", "greetings",
    "howdy", "hiya", "hallo", "hello there", "hi there", "hey there", "bonjour", "bonsoir", "salut", "hola",
    "buenos días", "buenos dias", "buenas tardes", "estimado", "estimada", "buongiorno", "buonasera", "ciao",
    "gentile", "olá", "ola", "oi", "prezado", "prezada", "hej", "hoi", "beste", "geachte", "guten tag",
    "guten morgen", "liebe", "lieber", "sehr geehrte", "sehr geehrter", "moin", "servus", "witam",
    "dzień dobry", "szanowni", "szanowny", "szanowna",
};

const PhraseSet kOpeningPhrases{
    "thank you for contacting", "thanks for contacting", "thank you for reaching out", "thanks for reaching out",
    "thank you for your email", "thanks for your email", "thank you for your message", "thanks for your message",
    "thank you for getting in touch", "thanks for getting in touch", "thank you for your patience",
    "thanks for your patience", "thank you for writing", "thanks for writing", "thank you for the ticket",
    "i hope you are well", "i hope you're well", "i hope you’re well", "hope you are well", "hope you're well",
    "hope you’re well", "i hope you are doing well", "i hope you're doing well", "hope you are doing well",
    "hope you're doing well", "i hope this email finds you well", "hope this email finds you well",
    "i hope this message finds you well", "hope this message finds you well", "hope this finds you well",
    "sorry for the late reply", "sorry for the delay", "apologies for the delay", "apologies for the late reply",
    "sorry to hear", "i'm sorry to hear", "i am sorry to hear", "we're sorry to hear", "we are sorry to hear",
};

const PhraseSet kClosingPhrases{
    "hope this helps", "i hope this helps", "hope that helps", "i hope that helps", "hope this answers",
    "let me know if you", "let me know if this", "let me know if that", "let me know if it",
    "let me know if there", "let me know if the", "let me know how it goes", "let me know how you get on",
    "let us know if you", "let us know if this", "let us know if that", "let us know if it",
    "let us know if there", "let us know if the", "let us know how it goes", "let us know how you get on",
    "feel free to", "don't hesitate", "don’t hesitate", "do not hesitate", "have a great", "have a nice",
    "have a good", "have a lovely", "have a wonderful", "enjoy your", "thanks in advance",
    "thank you in advance", "many thanks in advance", "thx in advance", "thanks for your help",
    "thank you for your help", "thanks for your time", "thank you for your time", "thanks for your patience",
    "thank you for your patience", "thanks for contacting", "thank you for contacting", "thanks for reaching out",
    "thank you for reaching out", "thanks for your understanding", "thank you for your understanding",
    "any help would be", "any help is", "any help appreciated", "any help will be", "appreciate any help",
    "i appreciate any help", "i would appreciate any", "i'd appreciate any", "looking forward to your",
    "looking forward to hearing", "i look forward to", "we look forward to", "is there anything else",
    "if you have any other questions", "if you have any further questions", "if you have any questions",
    "if you need anything else", "if you need further assistance", "if you need any further",
};

const PhraseSet kClosingWords{
    "thanks", "thank you", "thx", "ty", "cheers", "regards", "best regards", "kind regards", "many thanks",
    "thanks a lot", "thank you very much", "thanks very much", "thanks so much", "thank you so much",
};

std::string_view StripPolitePrefix(std::string_view s) {
  if (StartsWithIgnoreCase(s, "please ")) s.remove_prefix(7);
  if (StartsWithIgnoreCase(s, "and ")) s.remove_prefix(4);
  return s;
}

std::string_view WithoutTrailingPunct(std::string_view s) {
  while (!s.empty() && (s.back() == '.' || s.back() == '!' || s.back() == ',' || s.back() == ' ' ||
                        s.back() == ':' || s.back() == ')' || s.back() == '('))
    s.remove_suffix(1);
  return s;
}

bool IsClosingSentence(std::string_view sentence) {
  std::string_view s = TrimView(sentence);
  if (s.empty() || s.size() > 200) return false;
  std::string_view core = StripPolitePrefix(s);
  if (MatchWordPrefix(core, kClosingPhrases) > 0) return true;
  return EqualsAny(WithoutTrailingPunct(s), kClosingWords);
}

bool IsOpeningSentence(std::string_view sentence) {
  std::string_view s = TrimView(sentence);
  if (s.empty() || s.size() > 200) return false;
  if (StartsWithIgnoreCase(s, "sorry to hear") || StartsWithIgnoreCase(s, "i'm sorry to hear") ||
      StartsWithIgnoreCase(s, "we're sorry to hear") || StartsWithIgnoreCase(s, "i am sorry to hear") ||
      StartsWithIgnoreCase(s, "we are sorry to hear")) {
    // Only a bare condolence ("Sorry to hear that."), not one carrying facts.
    return s.size() <= 40;
  }
  return MatchWordPrefix(s, kOpeningPhrases) > 0;
}

// End of the first sentence: after ". ", "! ", "? " or a newline.
size_t FirstSentenceEnd(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') return i + 1;
    if ((c == '.' || c == '!' || c == '?') && (i + 1 == text.size() || text[i + 1] == ' ' || text[i + 1] == '\n'))
      return i + 1;
  }
  return text.size();
}

// Start of the last sentence (the text after the last boundary that is not
// at the very end).
size_t LastSentenceStart(std::string_view text) {
  size_t end = text.size();
  while (end > 0 && IsAsciiSpace(text[end - 1])) --end;
  // Skip the final sentence's own terminal punctuation.
  size_t i = end;
  while (i > 0 && (text[i - 1] == '.' || text[i - 1] == '!' || text[i - 1] == '?')) --i;
  for (; i > 0; --i) {
    char c = text[i - 1];
    if (c == '\n') return i;
    if ((c == '.' || c == '!' || c == '?') && i < end && text[i] == ' ') return i;
  }
  return 0;
}

// Removes a leading greeting ("Hi Maria," / "Dear Mr. Smith," / "Hello team!"
// / "Hey, how do I ..."): the greeting word, up to 4 more words, and the
// ',', '!', ':' or ';' that ends it. A line that is only "Hi Maria" goes too.
std::string_view StripGreeting(std::string_view text) {
  size_t line_end = text.find('\n');
  std::string_view line = TrimView(text.substr(0, line_end));
  size_t g = MatchWordPrefix(line, kGreetings);
  if (g == 0) return text;
  size_t cut = std::string_view::npos;
  for (size_t k = g; k < line.size() && k < 60; ++k) {
    char c = line[k];
    if (c == ',' || c == '!' || c == ';' || (c == ':' && (k + 1 == line.size() || line[k + 1] == ' '))) {
      cut = k + 1;
      break;
    }
  }
  if (cut != std::string_view::npos && CountWords(line.substr(0, cut)) <= 5) {
    size_t offset = static_cast<size_t>(line.data() - text.data()) + cut;
    return TrimView(text.substr(offset));
  }
  if (cut == std::string_view::npos && CountWords(line) <= 3) {
    return line_end == std::string_view::npos ? std::string_view() : text.substr(line_end + 1);
  }
  return text;
}

}  // namespace

std::string StripQuotedHistory(std::string_view text) {
  Lines lines = SplitLines(text);
  std::vector<bool> keep(lines.size(), true);
  size_t cut = lines.size();
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view t = TrimView(lines[i]);
    if (t.empty()) continue;
    if (t[0] == '>') {
      keep[i] = false;
      continue;
    }
    if (IsSeparatorLine(t)) {
      cut = i;
      break;
    }
    if (IsUnderscoreRule(t)) {
      size_t next = NextNonEmpty(lines, i + 1);
      if (t.size() >= 30 || (next < lines.size() && StartsWithAny(TrimView(lines[next]), kFromLabels))) {
        cut = i;
        break;
      }
    }
    if (size_t span = ReplyHeaderLines(lines, i); span > 0) {
      size_t next = NextNonEmpty(lines, i + span);
      if (next < lines.size() && TrimView(lines[next])[0] == '>') {
        for (size_t k = i; k < i + span; ++k) keep[k] = false;
        i += span - 1;
        continue;
      }
      cut = i;
      break;
    }
    if (IsHeaderBlockStart(lines, i)) {
      cut = i;
      break;
    }
  }
  return JoinLines(lines, cut, &keep);
}

std::string StripSignature(std::string_view text) {
  Lines lines = SplitLines(text);
  size_t cut = lines.size();
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view t = TrimView(lines[i]);
    if (t.empty()) continue;
    if (t == "--" || t == "—" || t == "- -") {
      cut = i;
      break;
    }
    if (t.size() <= 100 && StartsWithAny(t, kMobileFooters)) {
      cut = i;
      break;
    }
    if (IsSignOffLine(t) && IsNameBlock(lines, i + 1)) {
      cut = i;
      break;
    }
  }
  std::string joined = JoinLines(lines, cut, nullptr);
  std::string_view trimmed = StripCaretInitials(joined);
  if (trimmed.size() != joined.size()) return std::string(trimmed);
  return joined;
}

std::string StripPleasantries(std::string_view text) {
  std::string_view t = TrimView(StripGreeting(TrimView(text)));
  // Opening phrases: up to two leading sentences.
  for (int round = 0; round < 2 && !t.empty(); ++round) {
    size_t end = FirstSentenceEnd(t);
    if (!IsOpeningSentence(t.substr(0, end))) break;
    t = TrimView(t.substr(end));
  }
  // Closing phrases: up to three trailing sentences.
  for (int round = 0; round < 3 && !t.empty(); ++round) {
    size_t start = LastSentenceStart(t);
    if (!IsClosingSentence(t.substr(start))) break;
    t = TrimView(t.substr(0, start));
  }
  std::string out(t);
  // "please restart ..." after a cut greeting: capitalise the first letter.
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z' && t.data() != TrimView(text).data()) out[0] -= 32;
  return out;
}

std::string CleanSubject(std::string_view subject) {
  static constexpr std::string_view kPrefixes[] = {"re:", "fw:", "fwd:", "aw:", "wg:", "tr:", "rv:", "sv:",
                                                   "vs:", "antw:", "odp:", "res:", "enc:", "r:", "ref:"};
  std::string_view s = TrimView(subject);
  bool changed = true;
  while (changed && !s.empty()) {
    changed = false;
    for (auto p : kPrefixes) {
      if (StartsWithIgnoreCase(s, p)) {
        s = TrimView(s.substr(p.size()));
        changed = true;
      }
    }
    if (!s.empty() && s[0] == '[') {
      size_t close = s.find(']');
      if (close != std::string_view::npos && close <= 30 && HasDigitOrAt(s.substr(0, close))) {
        s = TrimView(s.substr(close + 1));
        changed = true;
      }
    }
  }
  std::string out = SanitizeUtf8(s);
  return NormalizeWhitespace(out);
}

std::string CleanBody(std::string_view body, std::string_view content_type, const CleanOptions& options) {
  std::string text = SanitizeUtf8(body);
  bool html = StartsWithIgnoreCase(content_type, "text/html") || LooksLikeHtml(text);
  if (html) text = SanitizeUtf8(HtmlToText(text, options.html));  // &nbsp; -> U+00A0 -> ' '
  text = NormalizeWhitespace(text);
  if (options.strip_quotes) text = StripQuotedHistory(text);
  if (options.strip_signatures) text = StripSignature(text);
  if (options.strip_pleasantries) text = StripPleasantries(text);
  return NormalizeWhitespace(text);
}

}  // namespace deskbot::dataset
