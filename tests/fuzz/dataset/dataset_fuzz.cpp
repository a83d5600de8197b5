// Fuzz target: the cleaner, the redactor and the chat renderer on arbitrary
// bytes. Checks, beyond "no crash": cleaned text is valid UTF-8, redaction
// is idempotent (a second pass finds nothing), and the rendered chat line is
// one valid JSON object.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "bot/dataset/clean.h"
#include "bot/dataset/export.h"
#include "bot/dataset/redact.h"
#include "bot/dataset/text_util.h"
#include "bot/dataset/validate.h"

using namespace deskbot;
using namespace deskbot::dataset;

namespace {

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "dataset_fuzz: invariant failed: %s\n", what);
    std::abort();
  }
}

const ExampleRenderer& Renderer() {
  static const ExampleRenderer* renderer = [] {
    PromptSet p;
    p.system = "system";
    p.user = "{{question}}";
    p.assistant = "{{answer}}";
    p.completion_prompt = "{{question}}";
    p.completion = "{{answer}}";
    auto r = ExampleRenderer::Create(p, {});
    Require(r.ok(), "renderer");
    return new ExampleRenderer(std::move(r).value());
  }();
  return *renderer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The first byte picks the content type so both paths get inputs.
  std::string_view type = (size > 0 && (data[0] & 1)) ? "text/html" : "text/plain";
  std::string cleaned = CleanBody(input, type);
  Require(IsValidUtf8(cleaned), "cleaned text is valid UTF-8");
  (void)StripQuotedHistory(input);
  (void)StripSignature(input);
  (void)StripPleasantries(input);
  (void)HtmlToText(SanitizeUtf8(input));
  (void)StripTagsLinear(input);

  Pair pair;
  pair.question = cleaned;
  pair.answer = SanitizeUtf8(input);
  Requester who{"Maria Lopez", "maria.lopez@example.com"};
  RedactedPair once = Redactor::Redact(pair, who, nullptr);
  RedactionCounts again;
  RedactedPair twice = Redactor::Redact(once.pair(), who, &again);
  if (twice.question() != once.question() || twice.answer() != once.answer()) {
    std::string shown;
    AppendJsonEscaped(shown, once.question() + "\n~~~\n" + once.answer() + "\n=== second pass ===\n" +
                                 twice.question() + "\n~~~\n" + twice.answer());
    std::fprintf(stderr, "dataset_fuzz: %s\n", shown.c_str());
    Require(false, "redaction is idempotent");
  }
  Require(again.total() == 0, "second redaction finds nothing");

  std::string line;
  if (Renderer().Chat(once, &line).empty()) {
    ValidationOptions v;
    v.min_examples = 0;
    Validator validator(v);
    validator.AddJsonLine(line, 1);
    ValidationReport r = validator.Finish();
    Require(r.invalid_json == 0 && r.examples == 1, "chat line is one valid example");
  }
  return 0;
}
