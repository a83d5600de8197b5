// Deterministic train/valid splits.
//
// random: a pair is in valid when Hash64(key, seed) / 2^64 < valid_fraction,
//   where key = source + "/" + ticket id (or, for pairs from chat without a
//   ticket, the question text). The decision depends only on the pair itself,
//   so adding tickets never moves another pair between train and valid, and
//   the same seed gives the same split on every machine.
// time: the newest round(n * valid_fraction) pairs by created_at (ties broken
//   by key) are valid, the rest train: the model is validated on questions
//   asked after those it learned from.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/core/types.h"
#include "bot/dataset/redact.h"

namespace deskbot::dataset {

enum class SplitMethod { kRandom, kTime };
std::optional<SplitMethod> ParseSplitMethod(std::string_view s);  // "random" | "time"
const char* SplitMethodName(SplitMethod m);

struct SplitOptions {
  SplitMethod method = SplitMethod::kRandom;
  std::uint64_t seed = 42;
  double valid_fraction = 0.1;  // clamped to [0, 1]
};

std::string SplitKey(const Pair& pair);
// The random split of one pair (ignores options.method).
Split RandomSplitFor(const Pair& pair, const SplitOptions& options);
// Assigns every pair's split by options.method.
void AssignSplits(std::vector<RedactedPair>& pairs, const SplitOptions& options);

}  // namespace deskbot::dataset
