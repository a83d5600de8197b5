// Deterministic splits.
#include <catch2/catch.hpp>
#include <map>

#include "bot/dataset/split.h"

using namespace deskbot;
using namespace deskbot::dataset;

namespace {
Pair P(int i, UnixSeconds at = 0) {
  Pair p;
  p.source = "rt";
  p.ticket_external_id = std::to_string(i);
  p.question = "q" + std::to_string(i);
  p.created_at = at ? at : 1000 + i;
  return p;
}
}  // namespace

TEST_CASE("dataset: random split: fraction, determinism, stability when adding pairs", "[split]") {
  SplitOptions o;
  o.seed = 7;
  o.valid_fraction = 0.2;
  std::map<int, Split> first;
  int valid = 0;
  for (int i = 0; i < 5000; ++i) {
    first[i] = RandomSplitFor(P(i), o);
    valid += first[i] == Split::kValid;
  }
  CHECK(valid > 900);
  CHECK(valid < 1100);
  // Same seed: same answer; other pairs added in between change nothing.
  for (int i = 0; i < 5000; i += 3) CHECK(RandomSplitFor(P(i), o) == first[i]);
  // Another seed gives another split.
  SplitOptions other = o;
  other.seed = 8;
  int differ = 0;
  for (int i = 0; i < 1000; ++i) differ += RandomSplitFor(P(i), other) != first[i];
  CHECK(differ > 100);
}

TEST_CASE("dataset: random split: edges", "[split]") {
  SplitOptions none;
  none.valid_fraction = 0;
  SplitOptions all;
  all.valid_fraction = 1;
  for (int i = 0; i < 100; ++i) {
    CHECK(RandomSplitFor(P(i), none) == Split::kTrain);
    CHECK(RandomSplitFor(P(i), all) == Split::kValid);
  }
}

TEST_CASE("dataset: time split: the newest pairs are valid", "[split]") {
  std::vector<RedactedPair> pairs;
  for (int i = 0; i < 10; ++i) pairs.push_back(Redactor::Redact(P(i, 1000 + (i * 37) % 10), {}, nullptr));
  SplitOptions o;
  o.method = SplitMethod::kTime;
  o.valid_fraction = 0.3;
  AssignSplits(pairs, o);
  int valid = 0;
  for (const auto& p : pairs) {
    bool newest = p.pair().created_at >= 1007;
    CHECK((p.pair().split == Split::kValid) == newest);
    valid += p.pair().split == Split::kValid;
  }
  CHECK(valid == 3);
}

TEST_CASE("dataset: split method names", "[split]") {
  CHECK(ParseSplitMethod("random") == SplitMethod::kRandom);
  CHECK(ParseSplitMethod("time") == SplitMethod::kTime);
  CHECK_FALSE(ParseSplitMethod("shuffle"));
}
