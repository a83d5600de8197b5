#include "bot/dataset/split.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "bot/dataset/text_util.h"

namespace deskbot::dataset {

std::optional<SplitMethod> ParseSplitMethod(std::string_view s) {
  if (s == "random") return SplitMethod::kRandom;
  if (s == "time") return SplitMethod::kTime;
  return std::nullopt;
}

const char* SplitMethodName(SplitMethod m) { return m == SplitMethod::kTime ? "time" : "random"; }

std::string SplitKey(const Pair& pair) {
  if (!pair.ticket_external_id.empty()) return pair.source + "/" + pair.ticket_external_id;
  return "q/" + pair.question;
}

Split RandomSplitFor(const Pair& pair, const SplitOptions& options) {
  double fraction = std::clamp(options.valid_fraction, 0.0, 1.0);
  std::uint64_t h = Hash64(SplitKey(pair), Mix64(options.seed));
  // Top 53 bits -> [0, 1).
  double u = static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);
  return u < fraction ? Split::kValid : Split::kTrain;
}

void AssignSplits(std::vector<RedactedPair>& pairs, const SplitOptions& options) {
  if (options.method == SplitMethod::kRandom) {
    for (auto& p : pairs) p.set_split(RandomSplitFor(p.pair(), options));
    return;
  }
  double fraction = std::clamp(options.valid_fraction, 0.0, 1.0);
  std::vector<size_t> order(pairs.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<std::string> keys(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) keys[i] = SplitKey(pairs[i].pair());
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    auto ta = pairs[a].pair().created_at, tb = pairs[b].pair().created_at;
    return ta != tb ? ta < tb : keys[a] < keys[b];
  });
  auto valid = static_cast<size_t>(std::llround(fraction * static_cast<double>(pairs.size())));
  size_t first_valid = pairs.size() - std::min(valid, pairs.size());
  for (size_t rank = 0; rank < order.size(); ++rank)
    pairs[order[rank]].set_split(rank >= first_valid ? Split::kValid : Split::kTrain);
}

}  // namespace deskbot::dataset
