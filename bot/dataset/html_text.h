// HTML -> plain text for ticket bodies.
//
// Real parsing with gumbo (the HTML5 algorithm, so broken or unclosed markup
// is read the way a browser reads it). Block elements become line breaks,
// list items "- ", <br> a newline, <blockquote> lines get a "> " prefix (so the
// quote stripper removes them like plain-text quotes), script/style/head are
// dropped, and so are the containers mail clients put around quoted history
// and signatures (gmail_quote, gmail_signature, moz-cite-prefix,
// blockquote type=cite, Outlook's #Signature). Links keep their text and add
// the URL in parentheses when the text does not already show it.
//
// Gumbo's tree building is quadratic in nesting depth (20,000 nested <div>s
// take ~25 s) and it has no size limit, so hostile or huge documents (over
// max_parse_bytes, or nesting deeper than max_nesting by a cheap pre-scan) go
// through a linear tag-stripping scanner instead. Either way: never a crash,
// bounded time.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace deskbot::dataset {

struct HtmlOptions {
  size_t max_parse_bytes = 1 << 20;  // larger documents use the linear scanner
  int max_nesting = 200;             // deeper (estimated) nesting: linear scanner
};

// `html` should be valid UTF-8 (run SanitizeUtf8 first); the result is not yet
// whitespace-normalised.
std::string HtmlToText(std::string_view html, const HtmlOptions& options = {});

// The linear fallback, exposed for tests: strips tags, drops script/style,
// decodes entities, turns block tags into newlines.
std::string StripTagsLinear(std::string_view html);

// Estimated maximum element nesting (open tags that are neither void nor
// implicitly closed, minus close tags). Used to decide whether gumbo is safe.
int EstimateNestingDepth(std::string_view html);

// True for a body labelled text/plain that is really HTML (some systems do
// that): it starts with a tag and has a closing tag or <br>.
bool LooksLikeHtml(std::string_view text);

// Decodes HTML character references (&amp; &lt; &#39; &#x2F; ... and the common
// named ones) in plain text; unknown references are left as they are.
std::string DecodeEntities(std::string_view text);

}  // namespace deskbot::dataset
