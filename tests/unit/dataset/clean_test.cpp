// Cleaning rules: UTF-8 repair, HTML -> text, quoted history, signatures,
// greetings and pleasantries, whitespace. Hostile input must not crash.
#include <catch2/catch.hpp>
#include <string>

#include "bot/dataset/clean.h"
#include "bot/dataset/html_text.h"
#include "bot/dataset/text_util.h"

using namespace deskbot::dataset;

namespace {
bool Contains(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }
}  // namespace

TEST_CASE("dataset: SanitizeUtf8 replaces invalid sequences and keeps valid text", "[clean][utf8]") {
  CHECK(SanitizeUtf8("plain ascii") == "plain ascii");
  CHECK(SanitizeUtf8("caf\xC3\xA9") == "caf\xC3\xA9");                    // é kept
  CHECK(SanitizeUtf8("bad \xFF byte") == "bad \xEF\xBF\xBD byte");        // lone 0xFF
  CHECK(SanitizeUtf8("trunc \xE2\x82") == "trunc \xEF\xBF\xBD\xEF\xBF\xBD");  // truncated 3-byte
  CHECK(SanitizeUtf8("over \xC0\xAF") == "over \xEF\xBF\xBD\xEF\xBF\xBD");    // overlong '/'
  CHECK(SanitizeUtf8("surrogate \xED\xA0\x80") == "surrogate \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(SanitizeUtf8("too big \xF4\x90\x80\x80").find("\xEF\xBF\xBD") != std::string::npos);
  CHECK(SanitizeUtf8("a\r\nb\rc") == "a\nb\nc");
  CHECK(SanitizeUtf8(std::string("nul\0here", 8)) == "nulhere");
  CHECK(SanitizeUtf8("nb\xC2\xA0sp") == "nb sp");
  CHECK(SanitizeUtf8("zero\xE2\x80\x8Bwidth") == "zerowidth");
  CHECK(SanitizeUtf8("\xEF\xBB\xBF" "bom") == "bom");
  CHECK(IsValidUtf8(SanitizeUtf8("\x80\x81\xFE\xFF mixed \xC3")));
}

TEST_CASE("dataset: NormalizeWhitespace collapses spaces and blank lines", "[clean]") {
  CHECK(NormalizeWhitespace("  a   b\t\tc  \n\n\n\n d  ") == "a b c\n\nd");
  CHECK(NormalizeWhitespace("\n\n x \n y \n") == "x\ny");
  CHECK(NormalizeWhitespace("") == "");
}

TEST_CASE("dataset: HtmlToText: blocks, lists, br, entities, script/style", "[clean][html]") {
  std::string html =
      "<html><head><title>T</title><style>p{color:red}</style></head><body>"
      "<p>First &amp; <b>bold</b> paragraph.</p><div>Line<br>break</div>"
      "<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol>"
      "<script>alert('x')</script><p>Caf&eacute; &lt;tag&gt; &#x263A; &#169;</p></body></html>";
  std::string text = NormalizeWhitespace(HtmlToText(html));
  CHECK(Contains(text, "First & bold paragraph."));
  CHECK(Contains(text, "Line\nbreak"));
  CHECK(Contains(text, "- one\n- two"));
  CHECK(Contains(text, "- first"));
  CHECK(Contains(text, "Café <tag> ☺ ©"));
  CHECK_FALSE(Contains(text, "alert"));
  CHECK_FALSE(Contains(text, "color:red"));
  CHECK_FALSE(Contains(text, "T\n"));
}

TEST_CASE("dataset: HtmlToText: links keep their URL when the text does not show it", "[clean][html]") {
  std::string text = NormalizeWhitespace(
      HtmlToText("<p>See <a href=\"https://kb.example.com/vpn\">this article</a> and "
                 "<a href=\"https://kb.example.com/x\">https://kb.example.com/x</a>.</p>"));
  CHECK(Contains(text, "this article (https://kb.example.com/vpn)"));
  CHECK(Contains(text, "and https://kb.example.com/x."));
  CHECK_FALSE(Contains(text, "(https://kb.example.com/x)"));
}

TEST_CASE("dataset: HtmlToText: quoted containers and signatures are dropped", "[clean][html]") {
  std::string html =
      "<div>New text</div><div class=\"gmail_signature\">Tom | IT</div>"
      "<div class=\"gmail_quote\">On Mon wrote:<blockquote>old text</blockquote></div>"
      "<blockquote type=\"cite\">cited</blockquote>";
  std::string text = NormalizeWhitespace(HtmlToText(html));
  CHECK(text == "New text");
}

TEST_CASE("dataset: HtmlToText: blockquote lines get a quote prefix", "[clean][html]") {
  std::string text = NormalizeWhitespace(HtmlToText("<p>Answer</p><blockquote><p>quoted one</p><p>quoted two</p></blockquote>"));
  CHECK(Contains(text, "> quoted one"));
  CHECK(NormalizeWhitespace(StripQuotedHistory(text)) == "Answer");
}

TEST_CASE("dataset: HtmlToText: broken and unclosed HTML does not crash", "[clean][html][hostile]") {
  CHECK(NormalizeWhitespace(HtmlToText("<p>unclosed <b>bold <i>both")) == "unclosed bold both");
  CHECK(NormalizeWhitespace(HtmlToText("<div><p>a</div></p></span>b")) == "a\n\nb");
  CHECK(NormalizeWhitespace(HtmlToText("<<<>>><a href=>x</a")).find('x') != std::string::npos);
  CHECK(NormalizeWhitespace(HtmlToText("<!-- never closed comment")) == "");
  CHECK(NormalizeWhitespace(HtmlToText("")) == "");
  CHECK(NormalizeWhitespace(HtmlToText("<script>never closed")) == "");
  std::string junk;
  for (int i = 0; i < 2000; ++i) junk += "<td><tr><table></b><i>&#x;&;&#99999999;";
  CHECK_NOTHROW(HtmlToText(junk));
}

TEST_CASE("dataset: HtmlToText: deep nesting takes the linear path", "[clean][html][hostile]") {
  std::string deep;
  for (int i = 0; i < 50000; ++i) deep += "<div>";
  deep += "bottom";
  CHECK(EstimateNestingDepth(deep) == 50000);
  CHECK(NormalizeWhitespace(HtmlToText(deep)) == "bottom");
  std::string tables;
  for (int i = 0; i < 5000; ++i) tables += "<table><tr><td>";
  tables += "cell";
  CHECK(NormalizeWhitespace(HtmlToText(tables)) == "cell");
  // Implied end tags do not count as nesting.
  std::string paragraphs;
  for (int i = 0; i < 1000; ++i) paragraphs += "<p>para";
  CHECK(EstimateNestingDepth(paragraphs) == 0);
}

TEST_CASE("dataset: StripTagsLinear handles entities, script and block tags", "[clean][html]") {
  std::string text = NormalizeWhitespace(
      StripTagsLinear("<p>A &amp; B</p><script>x<y</script><ul><li>one<li>two</ul>&#65;&#x42;&bogus;"));
  CHECK(text == "A & B\n\n- one\n- two\nAB&bogus;");
}

TEST_CASE("dataset: LooksLikeHtml detects HTML labelled as text/plain", "[clean][html]") {
  CHECK(LooksLikeHtml("<p>Hello</p>"));
  CHECK(LooksLikeHtml("  <div>x<br>y"));
  CHECK_FALSE(LooksLikeHtml("a < b and c > d"));
  CHECK_FALSE(LooksLikeHtml("<not closed"));
  CHECK(CleanBody("<p>Printer is down</p><p>second floor</p>", "text/plain") == "Printer is down\n\nsecond floor");
}

TEST_CASE("dataset: StripQuotedHistory: On ... wrote: in several languages", "[clean][quotes]") {
  const char* headers[] = {
      "On Mon, Mar 2, 2026 at 9:14 AM Maria Lopez <maria@example.com> wrote:",
      "Am 02.03.2026 um 09:14 schrieb Maria Lopez <maria@example.com>:",
      "Le lun. 2 mars 2026 à 09:14, Maria Lopez <maria@example.com> a écrit :",
      "El lun, 2 mar 2026 a las 9:14, Maria Lopez (<maria@example.com>) escribió:",
      "Il giorno lun 2 mar 2026 alle ore 09:14 Maria ha scritto:",
      "Op ma 2 mrt. 2026 om 09:14 schreef Maria Lopez <maria@example.com>:",
      "Em seg., 2 de mar. de 2026 às 09:14, Maria escreveu:",
      "W dniu 2.03.2026 o 09:14, Maria pisze:",
      "Den 2 mars 2026 kl. 09:14 skrev Maria Lopez <maria@example.com>:",
      "Maria Lopez <maria@example.com> kirjoitti 2.3.2026 klo 9.14:",
  };
  for (const char* h : headers) {
    INFO(h);
    std::string text = std::string("Thanks, that fixed it.\n\n") + h + "\nthe old message\nsecond line";
    CHECK(StripQuotedHistory(text) == "Thanks, that fixed it.\n");
  }
}

TEST_CASE("dataset: StripQuotedHistory: wrapped Gmail header over two lines", "[clean][quotes]") {
  std::string text =
      "New reply here.\n\nOn Mon, Mar 2, 2026 at 9:14 AM Maria Lopez <\nmaria.lopez@example.com> wrote:\n\nold stuff";
  CHECK(NormalizeWhitespace(StripQuotedHistory(text)) == "New reply here.");
}

TEST_CASE("dataset: StripQuotedHistory: > lines, nested quotes and interleaved replies", "[clean][quotes]") {
  std::string text =
      "Top answer.\nOn Tue, 3 Mar 2026, Tom wrote:\n> first quoted\n>> nested older\n> > nested spaced\n"
      "My inline reply.\n> more quoted\nLast own line.";
  std::string out = NormalizeWhitespace(StripQuotedHistory(text));
  CHECK(out == "Top answer.\nMy inline reply.\nLast own line.");
}

TEST_CASE("dataset: StripQuotedHistory: Outlook separators and forwarded headers", "[clean][quotes]") {
  CHECK(NormalizeWhitespace(StripQuotedHistory("Answer.\n-----Original Message-----\nFrom: a\nold")) == "Answer.");
  CHECK(NormalizeWhitespace(StripQuotedHistory("Answer.\n-----Ursprüngliche Nachricht-----\nVon: a")) == "Answer.");
  CHECK(NormalizeWhitespace(StripQuotedHistory("Answer.\n---------- Forwarded message ---------\nFrom: x")) ==
        "Answer.");
  CHECK(NormalizeWhitespace(StripQuotedHistory("FYI\n\nBegin forwarded message:\n\nFrom: x")) == "FYI");
  std::string outlook =
      "Please try again.\n\n________________________________\nFrom: Maria Lopez <maria@example.com>\n"
      "Sent: Monday, March 2, 2026 9:14 AM\nTo: IT Desk\nSubject: VPN\n\nold body";
  CHECK(NormalizeWhitespace(StripQuotedHistory(outlook)) == "Please try again.");
  std::string headers_only =
      "See below.\nFrom: Maria Lopez\nSent: Monday\nTo: Desk\nSubject: VPN\nold body";
  CHECK(NormalizeWhitespace(StripQuotedHistory(headers_only)) == "See below.");
  std::string german = "Siehe unten.\nVon: Maria\nGesendet: Montag\nAn: Desk\nBetreff: VPN\nalt";
  CHECK(NormalizeWhitespace(StripQuotedHistory(german)) == "Siehe unten.");
  std::string flattened = "Done.\nFrom: Maria Lopez Sent: Monday 9:14 To: Desk Subject: VPN old body";
  CHECK(NormalizeWhitespace(StripQuotedHistory(flattened)) == "Done.");
}

TEST_CASE("dataset: StripQuotedHistory keeps ordinary text", "[clean][quotes]") {
  std::string text = "From: the settings menu, choose Network.\nAs Tom wrote: this is fine\nSubject lines matter.";
  CHECK(StripQuotedHistory(text) == text);
}

TEST_CASE("dataset: StripSignature: -- delimiter, sign-offs, mobile footers", "[clean][signature]") {
  CHECK(NormalizeWhitespace(StripSignature("Restart it.\n-- \nTom Baker | IT | ext. 4471")) == "Restart it.");
  CHECK(NormalizeWhitespace(StripSignature("Restart it.\n--\nTom")) == "Restart it.");
  CHECK(NormalizeWhitespace(StripSignature("Restart it.\n\nBest regards,\nTom Baker\nIT Service Desk")) ==
        "Restart it.");
  CHECK(NormalizeWhitespace(StripSignature("Restart it.\nKind regards\nTom")) == "Restart it.");
  CHECK(NormalizeWhitespace(StripSignature("Restart it.\nThanks,\nMaria")) == "Restart it.");
  CHECK(NormalizeWhitespace(StripSignature("Restart it.\nCheers, Tom")) == "Restart it.");
  CHECK(NormalizeWhitespace(StripSignature("Restart it.\nMit freundlichen Grüßen\nTom")) == "Restart it.");
  CHECK(NormalizeWhitespace(StripSignature("It crashes.\n\nSent from my iPhone")) == "It crashes.");
  CHECK(NormalizeWhitespace(StripSignature("It crashes.\nGet Outlook for Android")) == "It crashes.");
  CHECK(NormalizeWhitespace(StripSignature("It crashes.\nVon meinem iPhone gesendet")) == "It crashes.");
  CHECK(NormalizeWhitespace(StripSignature("See the article https://x.example/a Thanks! ^AK")) ==
        "See the article https://x.example/a Thanks!");
}

TEST_CASE("dataset: StripSignature keeps text that only starts like a sign-off", "[clean][signature]") {
  std::string text = "Thanks for the quick reply. It works now.\nOne more question: can I also map drive H?";
  CHECK(StripSignature(text) == text);
  // A sign-off followed by a long paragraph is not a signature.
  std::string long_after =
      "Fix applied.\nThanks\nThis paragraph is long enough that it cannot be part of a name block, because it goes "
      "on and on about the fix.";
  CHECK(StripSignature(long_after) == long_after);
}

TEST_CASE("dataset: StripPleasantries: greetings and closing phrases", "[clean][pleasantries]") {
  CHECK(StripPleasantries("Hi Maria,\nplease restart the VPN client.") == "Please restart the VPN client.");
  CHECK(StripPleasantries("Hello,\nThe printer is down.") == "The printer is down.");
  CHECK(StripPleasantries("Dear Mr. Smith,\nYour account is unlocked.") == "Your account is unlocked.");
  CHECK(StripPleasantries("Hey, how do I reset my password?") == "How do I reset my password?");
  CHECK(StripPleasantries("Good morning team!\nOutlook keeps crashing.") == "Outlook keeps crashing.");
  CHECK(StripPleasantries("Hi Maria\nRestart it.") == "Restart it.");
  CHECK(StripPleasantries("Restart the service. Hope this helps!") == "Restart the service.");
  CHECK(StripPleasantries("Restart the service.\nLet me know if you have any other questions.\nHave a great day!") ==
        "Restart the service.");
  CHECK(StripPleasantries("Thank you for contacting IT support. Restart the service.") == "Restart the service.");
  CHECK(StripPleasantries("Outlook crashes on start. Any help would be appreciated. Thanks in advance!") ==
        "Outlook crashes on start.");
  // Not pleasantries: content that happens to share words.
  CHECK(StripPleasantries("Highlight the cell and press F2.") == "Highlight the cell and press F2.");
  CHECK(StripPleasantries("Can you let me know if the VPN server is down?") ==
        "Can you let me know if the VPN server is down?");
}

TEST_CASE("dataset: CleanSubject removes reply prefixes and ticket tags", "[clean]") {
  CHECK(CleanSubject("RE: Fwd: AW: VPN drops") == "VPN drops");
  CHECK(CleanSubject("[HD-1001] Re: printer") == "printer");
  CHECK(CleanSubject("[urgent] printer") == "[urgent] printer");
}

TEST_CASE("dataset: CleanBody: a full agent reply from the ticket format", "[clean]") {
  std::string body =
      "Hello Maria,\n\nplease reinstall the VPN profile from the portal.\n\nBest regards,\nTom\n-- \n"
      "Tom Baker | IT Service Desk | ext. 4471";
  CHECK(CleanBody(body, "text/plain") == "Please reinstall the VPN profile from the portal.");
  std::string html =
      "<p>Hi,</p><p>my VPN drops every 10&nbsp;minutes.</p><p>Thanks,<br>Maria</p>"
      "<div class=\"gmail_quote\">On Mon wrote:<blockquote>old</blockquote></div>";
  CHECK(CleanBody(html, "text/html") == "My VPN drops every 10 minutes.");
}

TEST_CASE("dataset: CleanBody: a 10 MB body finishes without crashing", "[clean][hostile]") {
  std::string big;
  big.reserve(10 << 20);
  while (big.size() < (10u << 20)) big += "line of text with \xFF junk <b>and</b> tags &amp; > quotes\n";
  std::string out = CleanBody(big, "text/html");
  CHECK(IsValidUtf8(out));
  CHECK_FALSE(out.empty());
  std::string plain = CleanBody(big, "text/plain");
  CHECK(IsValidUtf8(plain));
}
