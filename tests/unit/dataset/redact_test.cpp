// Redaction: every kind, false positives that must stay, stability of
// placeholders within a pair, idempotence, counts.
#include <catch2/catch.hpp>
#include <string>

#include "bot/dataset/redact.h"

using namespace deskbot;
using namespace deskbot::dataset;

namespace {
std::string R(const std::string& text, RedactionCounts* counts = nullptr, const Requester& who = {}) {
  RedactionScope scope(who);
  scope.Reserve(text);
  return scope.Redact(text, counts);
}
}  // namespace

TEST_CASE("dataset: emails", "[redact]") {
  CHECK(R("write to maria.lopez@example.com now") == "write to <EMAIL_1> now");
  CHECK(R("a+b_c%d-e@sub.example.co.uk.") == "<EMAIL_1>.");
  CHECK(R("user@localhost is not an address") == "user@localhost is not an address");
  CHECK(R("@handle and x@y.z") == "@handle and x@y.z");
}

TEST_CASE("dataset: phones: international and local formats", "[redact][phone]") {
  CHECK(R("call +44 20 7946 0958 today") == "call <PHONE_1> today");
  CHECK(R("call +1 (555) 123-4567") == "call <PHONE_1>");
  CHECK(R("+4915112345678") == "<PHONE_1>");
  CHECK(R("(555) 123-4567") == "<PHONE_1>");
  CHECK(R("555-123-4567") == "<PHONE_1>");
  CHECK(R("555.123.4567") == "<PHONE_1>");
  CHECK(R("020 7946 0958") == "<PHONE_1>");
  CHECK(R("06 12 34 56 78") == "<PHONE_1>");
  CHECK(R("06.12.34.56.78") == "<PHONE_1>");
  CHECK(R("07700900123") == "<PHONE_1>");
  CHECK(R("my mobile is 5551234567") == "my mobile is <PHONE_1>");
  CHECK(R("tel: 5551234") == "tel: <PHONE_1>");
}

TEST_CASE("dataset: phones: versions, dates, times and ids are not phones", "[redact][phone]") {
  const char* keep[] = {
      "version 10.0.19041.1",
      "kernel 4.15.0-112-generic",
      "Firefox 115.0.2 crashes",
      "on 2026-03-02 at 09:14",
      "on 02/03/2026",
      "on 2.3.2026",
      "2026-03-02T09:14:00Z",
      "ticket #1234567",
      "order 12345678",
      "build 1.2.3.4.5.6.7",
      "error 0x80070005",
      "steps 1 2 3 4 5 6 7",
      "port 8080",
      "KB5034441 update",
      "costs $1234567",
      "Windows 10 Pro 1909 18563.592",
      "-rw-r--r-- 1 root root 1645 2008-09-25 13:46",
      "look at 8-4750000030256 please",
      "subscribers on (03/18/2020) but",
      "https://web.archive.org/web/20200407074230/https://example.com/help",
  };
  for (const char* text : keep) {
    INFO(text);
    CHECK(R(text) == text);
  }
}

TEST_CASE("dataset: IP addresses", "[redact][ip]") {
  CHECK(R("ping 192.168.1.20 fails") == "ping <IP_1> fails");
  CHECK(R("from 10.0.0.1:8080") == "from <IP_1>:8080");
  CHECK(R("route 2001:db8::8a2e:370:7334 and fe80::1") == "route <IP_1> and <IP_2>");
  CHECK(R("full 2001:0db8:0000:0000:0000:ff00:0042:8329 form") == "full <IP_1> form");
  CHECK(R("version 1.2.3.4") == "version 1.2.3.4");
  CHECK(R("v1.2.3.4") == "v1.2.3.4");
  CHECK(R("300.1.1.1") == "300.1.1.1");
  CHECK(R("at 10:30:45 today") == "at 10:30:45 today");
  CHECK(R("mac 00:1a:2b:3c:4d:5e") == "mac 00:1a:2b:3c:4d:5e");
  CHECK(R("std::vector and a::b") == "std::vector and a::b");
  CHECK(R("http://67.170.178.242/sources.list") == "http://<IP_1>/sources.list");
  // Versions that look like addresses, and addresses that are no one's.
  CHECK(R("firefox 1.5.0.3 crashes") == "firefox 1.5.0.3 crashes");
  CHECK(R("java-6-sun-1.6.0.06 and linux-image-2.6.8.1-3") == "java-6-sun-1.6.0.06 and linux-image-2.6.8.1-3");
  CHECK(R("maps to 127.0.1.1 and 127.0.0.1, mask 255.255.255.0, any 0.0.0.0, ::1") ==
        "maps to 127.0.1.1 and 127.0.0.1, mask 255.255.255.0, any 0.0.0.0, ::1");
}

TEST_CASE("dataset: cards need a Luhn pass", "[redact][card]") {
  CHECK(R("card 4111 1111 1111 1111 expired") == "card <CARD_1> expired");
  CHECK(R("card 4111-1111-1111-1111") == "card <CARD_1>");
  CHECK(R("card 4111111111111111") == "card <CARD_1>");
  CHECK(R("amex 3782 822463 10005") == "amex <CARD_1>");
  CHECK(R("card 4111 1111 1111 1112") == "card 4111 1111 1111 1112");  // Luhn fails
  // A Luhn-valid archive timestamp inside a URL is not a card.
  CHECK(R("see https://web.archive.org/web/20191022031903/https://x.example") ==
        "see https://web.archive.org/web/20191022031903/https://x.example");
  CHECK(R("id 0000 0000 0000 0000") == "id 0000 0000 0000 0000");      // one digit repeated
  CHECK(LuhnValid("79927398713"));
  CHECK_FALSE(LuhnValid("79927398710"));
}

TEST_CASE("dataset: secrets and tokens", "[redact][secret]") {
  CHECK(R("key AKIAIOSFODNN7EXAMPLE in config") == "key <SECRET_1> in config");
  CHECK(R("token ghp_16C7e42F292c6912E7710c838347Ae178B4a ok") == "token <SECRET_1> ok");
  CHECK(R("slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx") == "slack <SECRET_1>");
  CHECK(R("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U x") ==
        "jwt <SECRET_1> x");
  CHECK(R("Authorization: Bearer abc123def456ghi789") == "Authorization: Bearer <SECRET_1>");
  CHECK(R("sha 3f786850e387550fdab836ed7e6dc881de23001b here") == "sha <SECRET_1> here");
  CHECK(R("key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY end") == "key <SECRET_1> end");
  CHECK(R("sk-proj-abcdefghijklmnopqrstuvwxyz123456") == "<SECRET_1>");
  CHECK(R("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\nafter") ==
        "<SECRET_1>\nafter");
  // Ordinary long words, paths and URLs are not secrets.
  CHECK(R("see https://community.adobe.com/t5/premiere-pro/faq-issues-with-screen-recorded-footage/m-p/10874355") ==
        "see https://community.adobe.com/t5/premiere-pro/faq-issues-with-screen-recorded-footage/m-p/10874355");
  CHECK(R("/usr/lib/x86_64-linux-gnu/libQt5Core.so.5") == "/usr/lib/x86_64-linux-gnu/libQt5Core.so.5");
  // In a URL path only the id-like segment is judged; path words stay.
  CHECK(R("https://www.youtube.com/channel/UCUXxfKYAo4k8tV1vnKIlCPQ link") ==
        "https://www.youtube.com/channel/UCUXxfKYAo4k8tV1vnKIlCPQ link");
  CHECK(R("https://x.example/files/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08/get") ==
        "https://x.example/files/<SECRET_1>/get");
  CHECK(R("Bearer token expired") == "Bearer token expired");
}

TEST_CASE("dataset: passwords in key/value lines", "[redact][password]") {
  CHECK(R("password: Hunter2!") == "password: <PASSWORD_1>");
  CHECK(R("Password = \"s3cret with space\"") == "Password = \"<PASSWORD_1>\"");
  CHECK(R("login?user=bob&pw=letmein") == "login?user=bob&pw=<PASSWORD_1>");
  CHECK(R("new PIN: 4821") == "new PIN: <PASSWORD_1>");
  CHECK(R("Passwort: Geheim123") == "Passwort: <PASSWORD_1>");
  CHECK(R("my password is Tr0ub4dor") == "my password is <PASSWORD_1>");
  CHECK(R("db_password=abc") == "db_password=<PASSWORD_1>");
  CHECK(R("api_key=0123abcd") == "api_key=<SECRET_1>");
  CHECK(R("ftp://bob:s3cret@files.example.com/x") == "ftp://bob:<PASSWORD_1>@files.example.com/x");
  // Mentions of passwords without a value stay.
  CHECK(R("your password is expired") == "your password is expired");
  CHECK(R("reset your password: use the portal") == "reset your password: use the portal");
  CHECK(R("password: hunter") == "password: <PASSWORD_1>");
  CHECK(R("The password reset link is below.") == "The password reset link is below.");
  CHECK(R("passwords must be long") == "passwords must be long");
}

TEST_CASE("dataset: the requester's name", "[redact][name]") {
  Requester maria{"Maria Lopez", "maria.lopez@example.com"};
  CHECK(R("Maria Lopez reported it; maria confirmed. LOPEZ agreed.", nullptr, maria) ==
        "<NAME_1> reported it; <NAME_1> confirmed. <NAME_1> agreed.");
  CHECK(R("Mariano and Lopezville are other words", nullptr, maria) == "Mariano and Lopezville are other words");
  Requester will{"Will Grant", "wgrant@example.com"};
  CHECK(R("Will said it will work; grant access to Grant. wgrant logged in.", nullptr, will) ==
        "<NAME_1> said it will work; grant access to <NAME_1>. <NAME_1> logged in.");
  Requester titled{"Dr. Anne-Marie O'Neil", ""};
  CHECK(R("Anne-Marie and Anne wrote", nullptr, titled) == "<NAME_1> and <NAME_1> wrote");
  Requester don{"Don Smith", ""};
  CHECK(R("Don't worry, Don will fix it", nullptr, don) == "Don't worry, <NAME_1> will fix it");
}

TEST_CASE("dataset: placeholders are stable within a pair and numbered per kind", "[redact][stability]") {
  Pair p;
  p.question = "Mail a@x.com and b@x.com, then a@x.com again. Call +44 20 7946 0958.";
  p.answer = "I wrote to A@x.com; b@x.com bounced. Phone +44 20 7946 0958 works.";
  RedactionCounts counts;
  RedactedPair rp = Redactor::Redact(p, {}, &counts);
  CHECK(rp.question() == "Mail <EMAIL_1> and <EMAIL_2>, then <EMAIL_1> again. Call <PHONE_1>.");
  CHECK(rp.answer() == "I wrote to <EMAIL_1>; <EMAIL_2> bounced. Phone <PHONE_1> works.");
  CHECK(counts[PiiKind::kEmail] == 5);
  CHECK(counts[PiiKind::kPhone] == 2);
  CHECK(counts.total() == 7);
}

TEST_CASE("dataset: redacting twice changes nothing and numbering continues", "[redact][stability]") {
  Pair p;
  p.question = "from a@x.com";
  p.answer = "to b@y.com";
  RedactedPair once = Redactor::Redact(p, {}, nullptr);
  Pair again = once.pair();
  RedactionCounts counts;
  RedactedPair twice = Redactor::Redact(again, {}, &counts);
  CHECK(twice.question() == once.question());
  CHECK(twice.answer() == once.answer());
  CHECK(counts.total() == 0);
  CHECK(R("<EMAIL_1> wrote c@z.com") == "<EMAIL_1> wrote <EMAIL_2>");
}

TEST_CASE("dataset: preference pairs share one scope", "[redact]") {
  PreferencePair p;
  p.question = "reset for bob@x.com";
  p.preferred = "done for bob@x.com";
  p.rejected = "mailed bob@x.com and 10.0.0.1";
  RedactedPreferencePair rp = Redactor::Redact(p, nullptr);
  CHECK(rp.pair().question == "reset for <EMAIL_1>");
  CHECK(rp.pair().preferred == "done for <EMAIL_1>");
  CHECK(rp.pair().rejected == "mailed <EMAIL_1> and <IP_1>");
}

TEST_CASE("dataset: overlaps: higher-priority kinds win", "[redact]") {
  CHECK(R("password: 4111111111111111") == "password: <PASSWORD_1>");
  CHECK(R("mail 192.168.1.1@example.com") .find("<EMAIL_1>") != std::string::npos);
}

TEST_CASE("dataset: hostile input does not crash the redactor", "[redact][hostile]") {
  std::string s;
  for (int i = 0; i < 20000; ++i) s += "+1 (";
  CHECK_NOTHROW(R(s));
  std::string digits(100000, '7');
  CHECK(R(digits) == digits);
  std::string ats(50000, '@');
  CHECK(R(ats) == ats);
  std::string colons(50000, ':');
  CHECK(R(colons) == colons);
  CHECK_NOTHROW(R(std::string("\xFF\xFE<EMAIL_>\0<PHONE_99999999999>", 30)));
}
