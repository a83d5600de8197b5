// Tokenisation, answer keys and the answer-overlap metrics.
#include <catch2/catch.hpp>

#include "bot/model/bm25.h"
#include "bot/model/text.h"

using namespace deskbot::model;

namespace {
std::vector<std::string> W(const std::string& s) {
  std::vector<std::string> out;
  Words(s, &out);
  return out;
}
std::vector<std::string> T(const std::string& s) {
  std::vector<std::string> out;
  Terms(s, &out);
  return out;
}
bool Has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}
}  // namespace

TEST_CASE("text: words are lower-cased, accent-free, apostrophes joined", "[model]") {
  CHECK(W("Can't OPEN Outlook!") == std::vector<std::string>{"cant", "open", "outlook"});
  CHECK(W("Café résumé") == std::vector<std::string>{"cafe", "resume"});
  CHECK(W("") .empty());
  CHECK(W("🙂 …") .empty());
  CHECK(W("\xff\xfe broken utf8 ok") == std::vector<std::string>{"broken", "utf8", "ok"});
}

TEST_CASE("text: terms stem, drop stop words, keep compounds whole too", "[model]") {
  auto t = T("The printers are printing errors on srv-01.corp with code 0x80070005 in Ubuntu 10.04");
  CHECK(Has(t, "printer"));
  CHECK(Has(t, "print"));
  CHECK(Has(t, "error"));
  CHECK(Has(t, "srv-01.corp"));
  CHECK(Has(t, "srv"));
  CHECK(Has(t, "0x80070005"));
  CHECK(Has(t, "10.04"));
  CHECK_FALSE(Has(t, "the"));
  CHECK_FALSE(Has(t, "are"));
}

TEST_CASE("text: token-F1 and ROUGE-L", "[model]") {
  CHECK(TokenF1("reset your password", "reset your password") == Approx(1.0));
  CHECK(TokenF1("a b", "c d") == 0);
  CHECK(TokenF1("", "x") == 0);
  // 2 common of 3 and of 4: P 2/3, R 1/2.
  CHECK(TokenF1("open the portal", "please open portal now") == Approx(2 * (2.0 / 3) * 0.5 / (2.0 / 3 + 0.5)));
  CHECK(RougeL("a b c d", "a c d") == Approx(2 * 0.75 * 1.0 / 1.75));
  CHECK(RougeL("d c b a", "a b c d") == Approx(0.25));
  CHECK(RougeL("x", "") == 0);
}

TEST_CASE("text: answer keys group the same canned reply", "[model]") {
  // The same article behind an archive.org wrapper, another scheme, a trailing dot.
  CHECK(AnswerKey("@bob Hi Bob, see https://web.archive.org/web/2019/https://help.example.com/Reset. ^AK") ==
        AnswerKey("@amy please read http://help.example.com/reset ^JS"));
  CHECK(AnswerKey("see https://help.example.com/reset") != AnswerKey("see https://help.example.com/vpn"));
  // Without a link: the words, minus handles, signatures and numbers.
  CHECK(AnswerKey("@bob Restart the router, ticket 4411. ^AK") == AnswerKey("Restart the router, ticket 9."));
  CHECK(AnswerKey("Restart the router") != AnswerKey("Restart the laptop"));
}

TEST_CASE("text: a reply's site is the domain of the article it links", "[model]") {
  // Sub-domains of one organisation are one site, behind archive.org too.
  CHECK(ReplySite(AnswerKey("see https://web.archive.org/web/2019/https://helpx.adobe.com/x.html")) == "adobe.com");
  CHECK(ReplySite(AnswerKey("known issue: https://community.adobe.com/t5/premiere-pro/faq/m-p/1?page=1")) ==
        "adobe.com");
  CHECK(ReplySite(AnswerKey("https://help.example.co.uk:8443/kb/1")) == "example.co.uk");
  CHECK(ReplySite(AnswerKey("http://10.0.0.7/wiki")) == "10.0.0.7");
  CHECK(ReplySite(AnswerKey("Restart the router, then try again.")).empty());
}

TEST_CASE("text: the @handles a message addresses", "[model]") {
  std::vector<std::string> h;
  Handles("Hey @AdobeCare and @hulu_support, @adobecare? Mail me at bob@example.com. @", &h);
  CHECK(h == std::vector<std::string>{"adobecare", "hulu_support"});
  h.clear();
  Handles("\u2066@AppleSupport\u2069 \u2066@iTunes:\u2069 songs gone", &h);
  CHECK(h == std::vector<std::string>{"applesupport", "itunes"});
  h.clear();
  Handles("no handles here", &h);
  CHECK(h.empty());
}

TEST_CASE("bm25: the document with the rare term wins, files round-trip and refuse damage", "[model]") {
  Vocabulary v;
  std::vector<std::vector<std::int32_t>> docs = {
      {v.Add("vpn"), v.Add("drops"), v.Add("home")},
      {v.Add("printer"), v.Add("jam"), v.Find("home")},
      {v.Find("vpn"), v.Add("login")},
  };
  auto index = Bm25Index::Build(docs, v.size());
  ScoreBuffer s;
  s.Resize(docs.size());
  index.Accumulate(v.Find("vpn"), 1, &s);
  index.Accumulate(v.Find("drops"), 1, &s);
  std::vector<std::pair<float, std::uint32_t>> top;
  s.TopK(2, -1, &top);
  REQUIRE(top.size() == 2);
  CHECK(top[0].second == 0);
  CHECK(top[1].second == 2);
  s.TopK(5, 0, &top);  // leave document 0 out
  REQUIRE(top.size() == 1);
  CHECK(top[0].second == 2);
  s.Clear();
  s.TopK(5, -1, &top);
  CHECK(top.empty());

  BinaryWriter w("TEST1");
  v.Write(&w);
  index.Write(&w);
  std::string data = w.data();
  {
    BinaryReader r("t", data);
    REQUIRE(r.ExpectMagic("TEST1").ok());
    Vocabulary v2;
    Bm25Index i2;
    REQUIRE(v2.Read(&r).ok());
    REQUIRE(i2.Read(&r).ok());
    CHECK(r.AtEnd());
    CHECK(v2.Find("printer") == v.Find("printer"));
    CHECK(i2.Idf(v.Find("vpn")) == Approx(index.Idf(v.Find("vpn"))));
  }
  for (size_t cut : {size_t{3}, data.size() / 2, data.size() - 1}) {
    std::string truncated = data.substr(0, cut);
    BinaryReader r("t", truncated);
    Vocabulary v2;
    Bm25Index i2;
    bool ok = r.ExpectMagic("TEST1").ok() && v2.Read(&r).ok() && i2.Read(&r).ok();
    CHECK_FALSE(ok);
  }
}
