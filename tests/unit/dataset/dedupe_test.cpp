// Exact and MinHash near-duplicate removal.
#include <catch2/catch.hpp>
#include <string>

#include "bot/dataset/dedupe.h"

using namespace deskbot::dataset;

namespace {
const char* kQ = "Outlook crashes every time I open the shared calendar of the finance team on Windows 11";
const char* kA =
    "Close Outlook, run outlook.exe /resetnavpane from the Run dialog, then remove and re-add the shared calendar "
    "from the Home tab using Open Calendar and From Address Book.";
}  // namespace

TEST_CASE("dataset: exact duplicates ignore case, spacing and punctuation", "[dedupe]") {
  Deduplicator d;
  CHECK(d.Check(kQ, kA).empty());
  CHECK(d.Check(std::string(kQ) + "!!", std::string("  ") + kA) == kDropExactDuplicate);
  std::string upper = kQ;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(d.Check(upper, kA) == kDropExactDuplicate);
  CHECK(d.kept() == 1);
}

TEST_CASE("dataset: near duplicates above the threshold are dropped, different texts kept", "[dedupe]") {
  Deduplicator d;
  CHECK(d.Check(kQ, kA).empty());
  // One word changed out of ~50: Jaccard of 3-shingles ~0.85.
  std::string a2 = kA;
  a2.replace(a2.find("Home tab"), 8, "View tab");
  CHECK(d.Check(kQ, a2) == kDropNearDuplicate);
  CHECK(d.Check("The printer on floor two prints blank pages since the toner was replaced yesterday",
                "Remove the toner cartridge, pull off the protective seal tape completely and reinsert it.")
            .empty());
  CHECK(d.kept() == 2);
}

TEST_CASE("dataset: the threshold is configurable", "[dedupe]") {
  std::string q2 = std::string(kQ) + " and also on my laptop at home when connected through the VPN client";
  DedupeOptions loose;
  loose.near_threshold = 0.5;
  Deduplicator l(loose);
  CHECK(l.Check(kQ, kA).empty());
  CHECK(l.Check(q2, kA) == kDropNearDuplicate);
  DedupeOptions strict;
  strict.near_threshold = 0.95;
  Deduplicator s(strict);
  CHECK(s.Check(kQ, kA).empty());
  CHECK(s.Check(q2, kA).empty());
}

TEST_CASE("dataset: MinHash similarity estimates Jaccard", "[dedupe]") {
  Deduplicator d;
  auto a = d.Signature(kA);
  auto b = d.Signature(kA);
  CHECK(Deduplicator::EstimateSimilarity(a, b) == 1.0);
  auto c = d.Signature("completely unrelated words about printers toner paper jams and trays");
  CHECK(Deduplicator::EstimateSimilarity(a, c) < 0.2);
  CHECK(d.bands() * d.rows() <= 64);
}

TEST_CASE("dataset: many similar-but-distinct texts stay bounded and kept", "[dedupe]") {
  Deduplicator d;
  int kept = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string q = "Ticket about asset " + std::to_string(i * 7919) + " " + std::to_string(i * 104729) +
                    " laptop model " + std::to_string(i % 97) + " serial " + std::to_string(i * 31337);
    kept += d.Check(q, "Please bring the device to the service desk.").empty();
  }
  CHECK(kept > 1000);
}

TEST_CASE("dataset: disabled near dedupe keeps near duplicates", "[dedupe]") {
  DedupeOptions o;
  o.near = false;
  Deduplicator d(o);
  std::string a2 = kA;
  a2.replace(a2.find("Home tab"), 8, "View tab");
  CHECK(d.Check(kQ, kA).empty());
  CHECK(d.Check(kQ, a2).empty());
  CHECK(d.Check(kQ, kA) == kDropExactDuplicate);
}
