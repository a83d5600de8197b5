#include "bot/dataset/dedupe.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "bot/dataset/text_util.h"

namespace deskbot::dataset {
namespace {

// Word hashes of `text` (lower-cased ASCII; non-ASCII bytes kept as is).
void WordHashes(std::string_view text, std::vector<std::uint64_t>& out) {
  out.clear();
  char buf[64];
  size_t len = 0;
  std::uint64_t long_hash = 0;
  bool long_word = false;
  auto flush = [&]() {
    if (len == 0 && !long_word) return;
    std::uint64_t h = Hash64(std::string_view(buf, len), 0x5eed);
    if (long_word) h = Mix64(h ^ long_hash);
    out.push_back(h);
    len = 0;
    long_word = false;
    long_hash = 0;
  };
  for (char c : text) {
    if (IsWordByte(c)) {
      if (len == sizeof(buf)) {  // very long "word": fold it in chunks
        long_hash = Mix64(long_hash ^ Hash64(std::string_view(buf, len), 0x10e));
        long_word = true;
        len = 0;
      }
      buf[len++] = AsciiLower(c);
    } else {
      flush();
    }
  }
  flush();
}

}  // namespace

Deduplicator::Deduplicator(const DedupeOptions& options) : options_(options) {
  options_.num_perm = std::clamp(options_.num_perm, 8, 512);
  options_.shingle_words = std::clamp(options_.shingle_words, 1, 16);
  options_.near_threshold = std::clamp(options_.near_threshold, 0.05, 1.0);
  // Bands: S-curve midpoint about 0.1 under the threshold (recall first; the
  // estimate check restores precision).
  double target = std::max(0.05, options_.near_threshold - 0.1);
  double best = std::numeric_limits<double>::max();
  for (int r = 1; r <= options_.num_perm; ++r) {
    int b = options_.num_perm / r;
    double t = std::pow(1.0 / b, 1.0 / r);
    if (std::abs(t - target) < best) {
      best = std::abs(t - target);
      bands_ = b;
      rows_ = r;
    }
  }
  table_.assign(1024, 0);
  scratch_sig_.resize(options_.num_perm);
}

// One-permutation MinHash: each shingle's hash picks one of num_perm bins
// (high bits) and competes for that bin's minimum (low bits); one hash per
// shingle instead of num_perm. Empty bins are filled by rotation
// densification (Shrivastava & Li, ICML 2014): bin j borrows the minimum of
// the nearest non-empty bin to its right, mixed with the distance, so two
// texts agree on a borrowed bin exactly when they agree on the source bin.
void Deduplicator::SignatureInto(std::string_view text, std::uint32_t* sig) const {
  thread_local std::vector<std::uint64_t> words;
  WordHashes(text, words);
  SignatureOfWords(words, sig);
}

void Deduplicator::SignatureOfWords(const std::vector<std::uint64_t>& words, std::uint32_t* sig) const {
  constexpr std::uint32_t kEmpty = std::numeric_limits<std::uint32_t>::max();
  const int n = options_.num_perm;
  std::fill(sig, sig + n, kEmpty);
  const size_t k = static_cast<size_t>(options_.shingle_words);
  size_t shingles = words.size() >= k ? words.size() - k + 1 : (words.empty() ? 0 : 1);
  for (size_t s = 0; s < shingles; ++s) {
    // Order-sensitive combination of the k word hashes, mixed once.
    std::uint64_t h = 0;
    for (size_t w = s; w < std::min(s + k, words.size()); ++w) h = (h ^ words[w]) * 0x100000001b3ULL + 0x9e37;
    h = Mix64(h);
    auto bin = static_cast<size_t>(((h >> 32) * static_cast<std::uint64_t>(n)) >> 32);
    auto value = static_cast<std::uint32_t>(h);
    if (value == kEmpty) value = kEmpty - 1;
    sig[bin] = std::min(sig[bin], value);
  }
  if (shingles == 0) return;
  thread_local std::vector<std::uint32_t> original;
  original.assign(sig, sig + n);
  for (int j = 0; j < n; ++j) {
    if (original[j] != kEmpty) continue;
    int d = 1;
    while (original[(j + d) % n] == kEmpty) ++d;
    sig[j] = static_cast<std::uint32_t>(Mix64(original[(j + d) % n] + 0x9e3779b97f4a7c15ULL * d));
  }
}

std::vector<std::uint32_t> Deduplicator::Signature(std::string_view text) const {
  std::vector<std::uint32_t> sig(options_.num_perm);
  SignatureInto(text, sig.data());
  return sig;
}

double Deduplicator::EstimateSimilarity(const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b) {
  size_t n = std::min(a.size(), b.size()), same = 0;
  for (size_t i = 0; i < n; ++i) same += a[i] == b[i];
  return n ? static_cast<double>(same) / n : 0;
}

std::uint64_t Deduplicator::BandKey(const std::uint32_t* sig, int band) const {
  std::uint64_t h = Mix64(static_cast<std::uint64_t>(band) + 1);
  for (int r = 0; r < rows_; ++r) h = Mix64(h ^ sig[band * rows_ + r]);
  return h;
}

bool Deduplicator::Verify(const std::uint32_t* sig, std::uint32_t kept_index) const {
  const std::uint8_t* other = &signatures_[static_cast<size_t>(kept_index) * options_.num_perm];
  int same = 0;
  for (int p = 0; p < options_.num_perm; ++p) same += static_cast<std::uint8_t>(sig[p]) == other[p];
  // b-bit MinHash: unequal minima still share the low byte 1/256 of the time.
  constexpr double kChance = 1.0 / 256;
  double raw = static_cast<double>(same) / options_.num_perm;
  double estimate = (raw - kChance) / (1 - kChance);
  return estimate >= options_.near_threshold;
}

void Deduplicator::Insert(std::uint64_t key, std::uint32_t value) {
  if ((used_ + 1) * 10 > table_.size() * 7) Grow();
  std::uint64_t key32 = (key >> 32) | 1;  // never 0, so 0 marks an empty slot
  size_t mask = table_.size() - 1;
  size_t pos = static_cast<size_t>(Mix64(key32)) & mask;
  while (table_[pos] != 0) pos = (pos + 1) & mask;
  table_[pos] = (key32 << 32) | value;
  ++used_;
}

void Deduplicator::Grow() {
  std::vector<std::uint64_t> old;
  old.swap(table_);
  table_.assign(old.size() * 2, 0);
  size_t mask = table_.size() - 1;
  // Slots are placed by Mix64(key32), which the stored entry still carries.
  for (std::uint64_t slot : old) {
    if (slot == 0) continue;
    size_t pos = static_cast<size_t>(Mix64(slot >> 32)) & mask;
    while (table_[pos] != 0) pos = (pos + 1) & mask;
    table_[pos] = slot;
  }
}

// A flat open-addressing set of 64-bit hashes (0 stands for empty, so a
// zero hash is stored as 1): a node-based std::unordered_set costs a cache
// miss and an allocation per example at a million examples.
bool Deduplicator::InsertExact(std::uint64_t h) {
  if (h == 0) h = 1;
  if ((exact_used_ + 1) * 10 > exact_.size() * 7) {
    std::vector<std::uint64_t> old;
    old.swap(exact_);
    exact_.assign(std::max<size_t>(1024, old.size() * 2), 0);
    for (std::uint64_t v : old) {
      if (v == 0) continue;
      size_t pos = static_cast<size_t>(Mix64(v)) & (exact_.size() - 1);
      while (exact_[pos] != 0) pos = (pos + 1) & (exact_.size() - 1);
      exact_[pos] = v;
    }
  }
  size_t mask = exact_.size() - 1;
  size_t pos = static_cast<size_t>(Mix64(h)) & mask;
  while (exact_[pos] != 0) {
    if (exact_[pos] == h) return false;
    pos = (pos + 1) & mask;
  }
  exact_[pos] = h;
  ++exact_used_;
  return true;
}

std::string_view Deduplicator::Check(std::string_view question, std::string_view answer) {
  thread_local std::string text;
  text.assign(question);
  text += "\n";
  text += answer;
  // Words once, for both checks: the exact key is the hash of the word
  // sequence.
  thread_local std::vector<std::uint64_t> words;
  WordHashes(text, words);
  if (options_.exact) {
    std::uint64_t h = 0xe1ac7 ^ words.size();
    for (std::uint64_t w : words) h = Mix64(h ^ w);
    if (!InsertExact(h)) return kDropExactDuplicate;
  }
  if (!options_.near) {
    ++kept_;
    return {};
  }
  std::uint32_t* sig = scratch_sig_.data();
  SignatureOfWords(words, sig);
  size_t mask = table_.size() - 1;
  std::vector<std::uint64_t>& keys = scratch_keys_;
  keys.resize(bands_);
  for (int band = 0; band < bands_; ++band) {
    std::uint64_t key = BandKey(sig, band);
    keys[band] = key;
    std::uint64_t key32 = (key >> 32) | 1;
    size_t pos = static_cast<size_t>(Mix64(key32)) & mask;
    int checks = 0;
    for (; table_[pos] != 0 && checks < kMaxBucketChecks; pos = (pos + 1) & mask) {
      if ((table_[pos] >> 32) != key32) continue;
      ++checks;
      if (Verify(sig, static_cast<std::uint32_t>(table_[pos]))) {
        return kDropNearDuplicate;
      }
    }
  }
  auto index = static_cast<std::uint32_t>(kept_++);
  for (int p = 0; p < options_.num_perm; ++p) signatures_.push_back(static_cast<std::uint8_t>(sig[p]));
  for (int band = 0; band < bands_; ++band) Insert(keys[band], index);
  return {};
}

}  // namespace deskbot::dataset
