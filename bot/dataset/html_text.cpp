#include "bot/dataset/html_text.h"

#include <gumbo.h>

#include <cstring>
#include <vector>

#include "bot/dataset/text_util.h"

namespace deskbot::dataset {
namespace {

void AppendCodePoint(std::string& out, std::uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

struct NamedEntity {
  const char* name;
  std::uint32_t cp;
};
constexpr NamedEntity kNamedEntities[] = {
    {"amp", '&'},      {"lt", '<'},        {"gt", '>'},        {"quot", '"'},     {"apos", '\''},
    {"nbsp", ' '},     {"ndash", 0x2013},  {"mdash", 0x2014},  {"hellip", 0x2026}, {"lsquo", 0x2018},
    {"rsquo", 0x2019}, {"ldquo", 0x201C},  {"rdquo", 0x201D},  {"copy", 0xA9},     {"reg", 0xAE},
    {"trade", 0x2122}, {"euro", 0x20AC},   {"bull", 0x2022},   {"middot", 0xB7},   {"laquo", 0xAB},
    {"raquo", 0xBB},   {"times", 0xD7},    {"shy", 0xAD},      {"zwnj", 0x200C},   {"zwj", 0x200D},
};

// Decodes the reference starting at text[i] == '&'; returns the bytes consumed
// (0 when it is not a reference we know).
size_t DecodeOneEntity(std::string_view text, size_t i, std::string& out) {
  size_t semi = text.find(';', i + 1);
  if (semi == std::string_view::npos || semi - i > 12) return 0;
  std::string_view body = text.substr(i + 1, semi - i - 1);
  if (body.empty()) return 0;
  if (body[0] == '#') {
    std::uint32_t cp = 0;
    bool hex = body.size() > 1 && (body[1] == 'x' || body[1] == 'X');
    size_t start = hex ? 2 : 1;
    if (start >= body.size()) return 0;
    for (size_t k = start; k < body.size(); ++k) {
      char c = body[k];
      int v;
      if (IsAsciiDigit(c)) v = c - '0';
      else if (hex && c >= 'a' && c <= 'f') v = c - 'a' + 10;
      else if (hex && c >= 'A' && c <= 'F') v = c - 'A' + 10;
      else return 0;
      cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(v);
      if (cp > 0x10FFFF) cp = 0x110000;  // saturate: becomes U+FFFD
    }
    AppendCodePoint(out, cp);
    return semi - i + 1;
  }
  for (const auto& e : kNamedEntities) {
    if (body == e.name) {
      AppendCodePoint(out, e.cp);
      return semi - i + 1;
    }
  }
  return 0;
}

bool IsVoidTag(std::string_view name) {
  static constexpr std::string_view kVoid[] = {"area", "base", "br", "col", "embed", "hr", "img", "input",
                                               "link", "meta", "param", "source", "track", "wbr", "keygen"};
  for (auto v : kVoid)
    if (EqualsIgnoreCase(name, v)) return true;
  return false;
}

// Elements whose end tag may be omitted: they do not deepen the tree when
// repeated, so the pre-scan does not count them.
bool IsImpliedEndTag(std::string_view name) {
  static constexpr std::string_view kImplied[] = {"p",     "li",    "td",    "th",    "tr",       "dt",
                                                  "dd",    "option", "optgroup", "tbody", "thead", "tfoot",
                                                  "colgroup", "rb", "rp", "rt", "rtc", "html", "head", "body"};
  for (auto v : kImplied)
    if (EqualsIgnoreCase(name, v)) return true;
  return false;
}

bool IsBlockTagName(std::string_view name) {
  static constexpr std::string_view kBlock[] = {
      "p",  "div", "br", "li", "tr", "h1", "h2", "h3",         "h4",     "h5",      "h6",     "ul",
      "ol", "table", "blockquote", "pre", "hr", "section", "article", "header", "footer", "dl",
      "dt", "dd", "address", "center", "form", "fieldset", "figure", "main", "nav", "aside"};
  for (auto v : kBlock)
    if (EqualsIgnoreCase(name, v)) return true;
  return false;
}

// Reads a tag name starting at html[i] (after '<' and an optional '/').
std::string_view TagNameAt(std::string_view html, size_t i) {
  size_t j = i;
  while (j < html.size() && (IsAsciiAlnum(html[j]) || html[j] == '-' || html[j] == ':')) ++j;
  return html.substr(i, j - i);
}

// ---------------------------------------------------------------------------
// Gumbo tree -> text.

class TextWriter {
 public:
  explicit TextWriter(std::string& out) : out_(out) {}

  void Text(std::string_view text, bool preformatted) {
    for (char c : text) {
      if (preformatted) {
        if (c == '\n') {
          Newline();
        } else {
          Char(c);
        }
        continue;
      }
      if (IsAsciiSpace(c)) {
        pending_space_ = !at_line_start_;
        continue;
      }
      if (pending_space_) {
        pending_space_ = false;
        Char(' ');
      }
      Char(c);
    }
  }
  void Newline() {
    pending_space_ = false;
    out_.push_back('\n');
    at_line_start_ = true;
  }
  // Ends the current line (if any text is on it) and, for paragraph-level
  // blocks, leaves one blank line.
  void Break(int newlines) {
    pending_space_ = false;
    if (out_.empty()) return;
    int have = 0;
    for (size_t i = out_.size(); i > 0 && out_[i - 1] == '\n' && have < newlines; --i) ++have;
    if (!at_line_start_) have = 0;
    for (int k = have; k < newlines; ++k) Newline();
  }
  void Raw(std::string_view s) {
    for (char c : s) Char(c);
  }
  size_t size() const { return out_.size(); }
  std::string_view Since(size_t pos) const { return std::string_view(out_).substr(pos); }
  int quote_depth = 0;

 private:
  void Char(char c) {
    if (at_line_start_) {
      for (int q = 0; q < quote_depth; ++q) out_ += "> ";
      at_line_start_ = false;
    }
    out_.push_back(c);
  }
  std::string& out_;
  bool at_line_start_ = true;
  bool pending_space_ = false;
};

bool AttributeContains(const GumboElement& el, const char* attr, std::string_view needle) {
  const GumboAttribute* a = gumbo_get_attribute(&el.attributes, attr);
  return a != nullptr && FindIgnoreCase(a->value, needle) != std::string_view::npos;
}

// Containers that hold quoted history or a signature, not the message.
bool IsDroppedElement(const GumboElement& el) {
  switch (el.tag) {
    case GUMBO_TAG_SCRIPT: case GUMBO_TAG_STYLE: case GUMBO_TAG_HEAD: case GUMBO_TAG_TITLE:
    case GUMBO_TAG_NOSCRIPT: case GUMBO_TAG_TEMPLATE: case GUMBO_TAG_IFRAME: case GUMBO_TAG_OBJECT:
    case GUMBO_TAG_SVG: case GUMBO_TAG_MATH: case GUMBO_TAG_SELECT: case GUMBO_TAG_BUTTON:
    case GUMBO_TAG_IMG: case GUMBO_TAG_VIDEO: case GUMBO_TAG_AUDIO: case GUMBO_TAG_CANVAS:
      return true;
    default: break;
  }
  if (el.tag == GUMBO_TAG_BLOCKQUOTE && AttributeContains(el, "type", "cite")) return true;
  if (AttributeContains(el, "class", "gmail_quote") || AttributeContains(el, "class", "gmail_signature") ||
      AttributeContains(el, "class", "yahoo_quoted") || AttributeContains(el, "class", "moz-cite-prefix") ||
      AttributeContains(el, "class", "moz-signature")) {
    return true;
  }
  const GumboAttribute* id = gumbo_get_attribute(&el.attributes, "id");
  if (id != nullptr && (std::strcmp(id->value, "Signature") == 0 || std::strcmp(id->value, "divRplyFwdMsg") == 0 ||
                        std::strcmp(id->value, "appendonsend") == 0)) {
    return true;
  }
  return false;
}

// Line breaks around an element: 2 for paragraph-level blocks, 1 for lines.
int BreaksFor(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_P: case GUMBO_TAG_H1: case GUMBO_TAG_H2: case GUMBO_TAG_H3: case GUMBO_TAG_H4:
    case GUMBO_TAG_H5: case GUMBO_TAG_H6: case GUMBO_TAG_TABLE: case GUMBO_TAG_UL: case GUMBO_TAG_OL:
    case GUMBO_TAG_BLOCKQUOTE: case GUMBO_TAG_PRE: case GUMBO_TAG_DL:
      return 2;
    case GUMBO_TAG_DIV: case GUMBO_TAG_LI: case GUMBO_TAG_TR: case GUMBO_TAG_HR: case GUMBO_TAG_SECTION:
    case GUMBO_TAG_ARTICLE: case GUMBO_TAG_HEADER: case GUMBO_TAG_FOOTER: case GUMBO_TAG_ADDRESS:
    case GUMBO_TAG_ASIDE: case GUMBO_TAG_NAV: case GUMBO_TAG_MAIN: case GUMBO_TAG_CENTER: case GUMBO_TAG_FORM:
    case GUMBO_TAG_FIELDSET: case GUMBO_TAG_FIGURE: case GUMBO_TAG_FIGCAPTION: case GUMBO_TAG_DT:
    case GUMBO_TAG_DD: case GUMBO_TAG_CAPTION: case GUMBO_TAG_DETAILS: case GUMBO_TAG_SUMMARY:
    case GUMBO_TAG_BODY:
      return 1;
    default:
      return 0;
  }
}

bool ShowsUrl(std::string_view text, std::string_view href) {
  if (text.find(href) != std::string_view::npos) return true;
  // "example.com/x" shown for "https://example.com/x"
  size_t scheme = href.find("://");
  if (scheme != std::string_view::npos) {
    std::string_view rest = href.substr(scheme + 3);
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (!rest.empty() && text.find(rest) != std::string_view::npos) return true;
  }
  return false;
}

// Iterative walk: hostile documents can be deep, so no recursion.
void RenderTree(const GumboNode* root, std::string& out) {
  TextWriter w(out);
  struct Frame {
    const GumboNode* node;
    unsigned next_child;
    size_t text_start;  // for <a>: where its text began
  };
  std::vector<Frame> stack;
  stack.push_back({root, 0, 0});
  int pre_depth = 0;
  while (!stack.empty()) {
    Frame& f = stack.back();
    const GumboNode* n = f.node;
    if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_DOCUMENT && n->type != GUMBO_NODE_TEMPLATE) {
      if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE || n->type == GUMBO_NODE_CDATA)
        w.Text(n->v.text.text, pre_depth > 0);
      stack.pop_back();
      continue;
    }
    const GumboVector& children =
        n->type == GUMBO_NODE_DOCUMENT ? n->v.document.children : n->v.element.children;
    const bool is_element = n->type != GUMBO_NODE_DOCUMENT;
    if (f.next_child == 0 && is_element) {
      // Entering the element.
      const GumboElement& el = n->v.element;
      if (IsDroppedElement(el)) {
        stack.pop_back();
        continue;
      }
      if (el.tag == GUMBO_TAG_BR) {
        w.Newline();
      }
      int breaks = BreaksFor(el.tag);
      if (breaks) w.Break(breaks);
      if (el.tag == GUMBO_TAG_BLOCKQUOTE) ++w.quote_depth;
      if (el.tag == GUMBO_TAG_PRE) ++pre_depth;
      if (el.tag == GUMBO_TAG_LI) w.Raw("- ");
      if (el.tag == GUMBO_TAG_TD || el.tag == GUMBO_TAG_TH) w.Text(" ", false);
      f.text_start = w.size();
    }
    if (f.next_child < children.length) {
      const auto* child = static_cast<const GumboNode*>(children.data[f.next_child++]);
      stack.push_back({child, 0, 0});  // invalidates `f`; not used again this turn
      continue;
    }
    // Leaving the element.
    if (is_element) {
      const GumboElement& el = n->v.element;
      if (el.tag == GUMBO_TAG_A) {
        const GumboAttribute* href = gumbo_get_attribute(&el.attributes, "href");
        if (href != nullptr) {
          std::string_view url = href->value;
          bool web = StartsWithIgnoreCase(url, "http://") || StartsWithIgnoreCase(url, "https://");
          std::string_view text = TrimView(w.Since(f.text_start));
          if (web && !ShowsUrl(text, url)) {
            w.Text(text.empty() ? "" : " ", false);
            w.Text("(", false);
            w.Text(url, false);
            w.Text(")", false);
          }
        }
      }
      if (el.tag == GUMBO_TAG_BLOCKQUOTE && w.quote_depth > 0) {
        w.Break(1);
        --w.quote_depth;
      }
      if (el.tag == GUMBO_TAG_PRE && pre_depth > 0) --pre_depth;
      int breaks = BreaksFor(el.tag);
      if (breaks) w.Break(breaks);
    }
    stack.pop_back();
  }
}

}  // namespace

int EstimateNestingDepth(std::string_view html) {
  int depth = 0, max_depth = 0;
  size_t i = 0;
  while ((i = html.find('<', i)) != std::string_view::npos) {
    ++i;
    if (i >= html.size()) break;
    if (html.compare(i, 3, "!--") == 0) {
      size_t end = html.find("-->", i + 3);
      if (end == std::string_view::npos) break;
      i = end + 3;
      continue;
    }
    bool closing = html[i] == '/';
    std::string_view name = TagNameAt(html, closing ? i + 1 : i);
    if (name.empty()) continue;
    size_t gt = html.find('>', i);
    bool self_closing = gt != std::string_view::npos && gt > i && html[gt - 1] == '/';
    if (IsVoidTag(name) || IsImpliedEndTag(name) || self_closing) continue;
    if (closing) {
      if (depth > 0) --depth;
    } else if (++depth > max_depth) {
      max_depth = depth;
    }
  }
  return max_depth;
}

std::string DecodeEntities(std::string_view text) {
  if (text.find('&') == std::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '&') {
      size_t used = DecodeOneEntity(text, i, out);
      if (used > 0) {
        i += used - 1;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

std::string StripTagsLinear(std::string_view html) {
  std::string text;
  text.reserve(html.size() / 2);
  size_t i = 0;
  const size_t n = html.size();
  while (i < n) {
    char c = html[i];
    if (c != '<') {
      size_t next = html.find('<', i);
      if (next == std::string_view::npos) next = n;
      text.append(html.data() + i, next - i);
      i = next;
      continue;
    }
    if (html.compare(i, 4, "<!--") == 0) {
      size_t end = html.find("-->", i + 4);
      i = end == std::string_view::npos ? n : end + 3;
      continue;
    }
    bool closing = i + 1 < n && html[i + 1] == '/';
    std::string_view name = TagNameAt(html, i + (closing ? 2 : 1));
    if (name.empty()) {  // a lone '<' in text
      text.push_back('<');
      ++i;
      continue;
    }
    size_t gt = html.find('>', i);
    if (gt == std::string_view::npos) break;  // unterminated tag: drop the rest of it
    i = gt + 1;
    if (!closing && (EqualsIgnoreCase(name, "script") || EqualsIgnoreCase(name, "style"))) {
      std::string close = "</" + std::string(name);
      size_t end = FindIgnoreCase(html, close, i);
      if (end == std::string_view::npos) break;
      size_t end_gt = html.find('>', end);
      i = end_gt == std::string_view::npos ? n : end_gt + 1;
      continue;
    }
    if (EqualsIgnoreCase(name, "li") && !closing) {
      text += "\n- ";
    } else if (IsBlockTagName(name)) {
      text.push_back('\n');
    }
  }
  return DecodeEntities(text);
}

std::string HtmlToText(std::string_view html, const HtmlOptions& options) {
  if (html.size() > options.max_parse_bytes || EstimateNestingDepth(html) > options.max_nesting) {
    return StripTagsLinear(html);
  }
  GumboOptions gopts = kGumboDefaultOptions;
  gopts.max_errors = 0;  // parse errors are not needed: record none
  GumboOutput* output = gumbo_parse_with_options(&gopts, html.data(), html.size());
  if (output == nullptr) return StripTagsLinear(html);
  std::string out;
  out.reserve(html.size());
  RenderTree(output->document, out);
  gumbo_destroy_output(&gopts, output);
  return out;
}

bool LooksLikeHtml(std::string_view text) {
  std::string_view t = TrimView(text);
  if (t.size() < 3 || t[0] != '<') return false;
  if (!IsAsciiAlpha(t[1]) && t[1] != '!') return false;
  return t.find("</") != std::string_view::npos || FindIgnoreCase(t, "<br") != std::string_view::npos;
}

}  // namespace deskbot::dataset
