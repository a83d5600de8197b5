#include "bot/model/text.h"

#include <utf8proc.h>
#include <xapian.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace deskbot::model {
namespace {

bool IsAsciiAlnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool HasNonAscii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return true;
  return false;
}

// Case-folded, accent-stripped NFKC text; ASCII text is only lower-cased.
std::string Normalize(std::string_view text) {
  if (!HasNonAscii(text)) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  }
  utf8proc_uint8_t* mapped = nullptr;
  auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                        static_cast<utf8proc_ssize_t>(text.size()), &mapped,
                        static_cast<utf8proc_option_t>(UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
                                                       UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK |
                                                       UTF8PROC_IGNORE));
  if (n < 0) {  // invalid UTF-8: keep the ASCII bytes only
    std::string out;
    for (unsigned char c : text)
      if (c < 0x80) out.push_back(static_cast<char>(std::tolower(c)));
    return out;
  }
  std::string out(reinterpret_cast<char*>(mapped), static_cast<size_t>(n));
  std::free(mapped);
  return out;
}

// One code point of normalised text: its byte length and whether it is part
// of a word (a letter or a number).
struct CodePoint {
  int len = 1;
  bool word = false;
  bool apostrophe = false;
};

CodePoint Decode(std::string_view s, size_t i) {
  CodePoint cp;
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    cp.word = IsAsciiAlnum(c);
    cp.apostrophe = c == '\'';
    return cp;
  }
  utf8proc_int32_t code = 0;
  auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i),
                            static_cast<utf8proc_ssize_t>(s.size() - i), &code);
  if (n <= 0) return cp;
  cp.len = static_cast<int>(n);
  auto cat = utf8proc_category(code);
  cp.word = (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
            (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
  cp.apostrophe = code == 0x2019;
  return cp;
}

// Calls fn(compound, parts) for every compound token of normalised text: runs
// of word characters joined by single . - _ / between word characters. An
// apostrophe between word characters is dropped ("can't" -> "cant").
template <typename Fn>
void ScanCompounds(std::string_view s, Fn&& fn) {
  std::string compound;
  std::vector<std::string> parts;
  std::string part;
  auto flush_part = [&] {
    if (!part.empty()) parts.push_back(std::move(part));
    part.clear();
  };
  auto flush = [&] {
    flush_part();
    if (!parts.empty()) fn(compound, parts);
    compound.clear();
    parts.clear();
  };
  size_t i = 0;
  while (i < s.size()) {
    CodePoint cp = Decode(s, i);
    if (cp.word) {
      part.append(s.substr(i, cp.len));
      compound.append(s.substr(i, cp.len));
      i += cp.len;
      continue;
    }
    bool inside = !part.empty() && i + cp.len < s.size() && Decode(s, i + cp.len).word;
    if (inside && cp.apostrophe) {
      i += cp.len;  // "can't": same part
      continue;
    }
    char c = s[i];
    if (inside && (c == '.' || c == '-' || c == '_' || c == '/')) {
      flush_part();
      compound.push_back(c);
      i += 1;
      continue;
    }
    flush();
    i += cp.len;
  }
  flush();
}

const std::unordered_set<std::string_view>& Stopwords() {
  static const std::unordered_set<std::string_view> words = {
      "a", "about", "above", "after", "again", "all", "am", "an", "and", "any", "are", "as", "at",
      "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "could",
      "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further",
      "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself",
      "his", "i", "im", "ive", "id", "if", "in", "into", "is", "it", "its", "itself", "just", "me",
      "more", "most", "my", "myself", "of", "off", "on", "once", "only", "or", "other", "our",
      "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such",
      "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these",
      "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we",
      "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with",
      "would", "you", "your", "yours", "yourself", "yourselves", "hi", "hello", "hey", "please",
      "thanks", "thank", "u", "s", "t", "d", "ll", "m", "re", "ve", "also", "can", "get", "got",
      "one", "know", "like", "dont", "cant", "anyone", "someone", "anybody", "thats", "theres",
      "youre", "us", "let", "via", "hey"};
  return words;
}

bool IsAlpha(std::string_view w) {
  for (unsigned char c : w)
    if (!(c >= 'a' && c <= 'z')) return false;
  return true;
}

// Snowball English stemming through Xapian; a Xapian::Stem is not shareable
// between threads, hence one per thread, with a small cache because help-desk
// vocabularies repeat a lot.
const std::string& Stem(const std::string& word) {
  thread_local Xapian::Stem stemmer("english");
  thread_local std::unordered_map<std::string, std::string> cache;
  auto it = cache.find(word);
  if (it != cache.end()) return it->second;
  if (cache.size() > 200000) cache.clear();
  std::string stem = IsAlpha(word) && word.size() > 3 ? stemmer(word) : word;
  return cache.emplace(word, std::move(stem)).first->second;
}

}  // namespace

bool IsStopword(std::string_view word) { return Stopwords().count(word) > 0; }

void Words(std::string_view text, std::vector<std::string>* out) {
  std::string norm = Normalize(text);
  ScanCompounds(norm, [&](const std::string&, std::vector<std::string>& parts) {
    for (auto& p : parts) out->push_back(std::move(p));
  });
}

void Terms(std::string_view text, std::vector<std::string>* out) {
  std::string norm = Normalize(text);
  ScanCompounds(norm, [&](const std::string& compound, std::vector<std::string>& parts) {
    for (const auto& p : parts) {
      if (IsStopword(p)) continue;
      if (p.size() == 1 && !(p[0] >= '0' && p[0] <= '9')) continue;
      out->push_back(Stem(p));
    }
    // The whole compound as well: "10.04", "srv-01.corp", "/etc/fstab".
    if (parts.size() > 1 && compound.size() <= 64) out->push_back(compound);
  });
}

double TokenF1(const std::vector<std::string>& candidate, const std::vector<std::string>& reference) {
  if (candidate.empty() || reference.empty()) return 0;
  std::unordered_map<std::string_view, int> counts;
  for (const auto& w : reference) counts[w]++;
  int common = 0;
  for (const auto& w : candidate) {
    auto it = counts.find(w);
    if (it != counts.end() && it->second > 0) {
      --it->second;
      ++common;
    }
  }
  if (common == 0) return 0;
  double p = static_cast<double>(common) / candidate.size();
  double r = static_cast<double>(common) / reference.size();
  return 2 * p * r / (p + r);
}

double RougeL(const std::vector<std::string>& candidate, const std::vector<std::string>& reference) {
  if (candidate.empty() || reference.empty()) return 0;
  // LCS by dynamic programming over two rows.
  std::vector<int> prev(reference.size() + 1, 0), cur(reference.size() + 1, 0);
  for (size_t i = 1; i <= candidate.size(); ++i) {
    for (size_t j = 1; j <= reference.size(); ++j) {
      cur[j] = candidate[i - 1] == reference[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    }
    std::swap(prev, cur);
  }
  int lcs = prev[reference.size()];
  if (lcs == 0) return 0;
  double p = static_cast<double>(lcs) / candidate.size();
  double r = static_cast<double>(lcs) / reference.size();
  return 2 * p * r / (p + r);
}

double TokenF1(std::string_view candidate, std::string_view reference) {
  std::vector<std::string> a, b;
  Words(candidate, &a);
  Words(reference, &b);
  return TokenF1(a, b);
}

double RougeL(std::string_view candidate, std::string_view reference) {
  std::vector<std::string> a, b;
  Words(candidate, &a);
  Words(reference, &b);
  return RougeL(a, b);
}

namespace {

// "https://web.archive.org/web/2019.../https://helpx.adobe.com/x.html)." ->
// "helpx.adobe.com/x.html"
std::string CanonicalUrl(std::string url) {
  auto strip_scheme = [](std::string& u) {
    for (std::string_view scheme : {"https://", "http://"}) {
      if (u.size() >= scheme.size() && std::equal(scheme.begin(), scheme.end(), u.begin(),
                                                   [](char a, char b) {
                                                     return a == std::tolower(static_cast<unsigned char>(b));
                                                   })) {
        u.erase(0, scheme.size());
        return;
      }
    }
  };
  for (char& c : url) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  strip_scheme(url);
  const std::string archive = "web.archive.org/web/";
  if (url.rfind(archive, 0) == 0) {
    auto slash = url.find('/', archive.size());
    url = slash == std::string::npos ? "" : url.substr(slash + 1);
    strip_scheme(url);
  }
  if (url.rfind("www.", 0) == 0) url.erase(0, 4);
  while (!url.empty() && std::string_view(").,;:!?'\"/]>").find(url.back()) != std::string_view::npos)
    url.pop_back();
  return url;
}

}  // namespace

std::string AnswerKey(std::string_view answer) {
  std::vector<std::string> urls;
  std::string rest;
  size_t i = 0;
  while (i < answer.size()) {
    bool url_start = answer.compare(i, 7, "http://") == 0 || answer.compare(i, 8, "https://") == 0;
    if (url_start) {
      size_t j = i;
      while (j < answer.size() && !std::isspace(static_cast<unsigned char>(answer[j]))) ++j;
      std::string u = CanonicalUrl(std::string(answer.substr(i, j - i)));
      if (!u.empty()) urls.push_back(std::move(u));
      i = j;
      continue;
    }
    // Drop @handles and ^signatures: they name people, not the reply.
    if ((answer[i] == '@' || answer[i] == '^') &&
        (i == 0 || std::isspace(static_cast<unsigned char>(answer[i - 1])))) {
      while (i < answer.size() && !std::isspace(static_cast<unsigned char>(answer[i]))) ++i;
      continue;
    }
    rest.push_back(answer[i]);
    ++i;
  }
  if (!urls.empty()) {
    std::sort(urls.begin(), urls.end());
    urls.erase(std::unique(urls.begin(), urls.end()), urls.end());
    std::string key = "url:";
    for (const auto& u : urls) key += u + " ";
    key.pop_back();
    return key;
  }
  std::vector<std::string> words;
  Words(rest, &words);
  std::string key = "text:";
  for (const auto& w : words) {
    if (std::all_of(w.begin(), w.end(), [](unsigned char c) { return c >= '0' && c <= '9'; }))
      continue;  // ticket numbers, dates
    key += w;
    key += ' ';
  }
  if (key.back() == ' ') key.pop_back();
  return key;
}

std::string ReplySite(std::string_view answer_key) {
  if (answer_key.rfind("url:", 0) != 0) return "";
  std::string_view url = answer_key.substr(4);
  url = url.substr(0, url.find(' '));  // the first linked article
  std::string_view host = url.substr(0, url.find_first_of("/?#"));
  host = host.substr(0, host.find(':'));
  if (host.empty()) return "";
  if (std::all_of(host.begin(), host.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; }))
    return std::string(host);  // an IP address
  // The last two labels, or three under a country's second level
  // ("bbc.co.uk", "example.com.au").
  std::vector<std::string_view> labels;
  for (size_t i = 0; i <= host.size();) {
    size_t dot = host.find('.', i);
    if (dot == std::string_view::npos) dot = host.size();
    if (dot > i) labels.push_back(host.substr(i, dot - i));
    i = dot + 1;
  }
  size_t keep = 2;
  if (labels.size() >= 3 && labels.back().size() == 2) {
    static const std::unordered_set<std::string_view> second = {"co", "com", "org", "net", "ac", "gov", "edu", "ne", "or"};
    if (second.count(labels[labels.size() - 2])) keep = 3;
  }
  keep = std::min(keep, labels.size());
  std::string site;
  for (size_t i = labels.size() - keep; i < labels.size(); ++i) {
    if (!site.empty()) site += '.';
    site += labels[i];
  }
  return site;
}

void Handles(std::string_view text, std::vector<std::string>* out) {
  auto name_char = [](char c) { return IsAsciiAlnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '@' || (i > 0 && (name_char(text[i - 1]) || text[i - 1] == '.'))) continue;
    size_t j = i + 1;
    while (j < text.size() && name_char(text[j])) ++j;
    if (j == i + 1 || j - i - 1 > 32) continue;
    std::string name(text.substr(i + 1, j - i - 1));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::find(out->begin(), out->end(), name) == out->end()) out->push_back(std::move(name));
    i = j - 1;
  }
}

}  // namespace deskbot::model
