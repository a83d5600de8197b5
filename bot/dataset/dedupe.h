// Exact and near-duplicate removal over question + answer.
//
// Exact: a 64-bit hash of the sequence of words (lower-cased; everything that
// is not a letter or digit separates words), so "Restart the VPN." and
// "restart  the vpn" are one example.
// Near: MinHash over word shingles (default 3 words) with a num_perm-value
// signature -- one-permutation MinHash with rotation densification, so each
// shingle is hashed once rather than num_perm times -- indexed by LSH banding. The bands (b bands of r rows, b*r <=
// num_perm) are chosen so that the S-curve's midpoint (1/b)^(1/r) sits about
// 0.1 below the threshold, i.e. the index finds nearly every pair above the
// threshold; each candidate is then verified by its estimated Jaccard
// similarity (share of equal MinHash values) >= threshold.
//
// Memory per kept example: num_perm bytes of signature (b-bit MinHash with
// b = 8: the low byte of each minimum; the estimate is corrected for the 1/256
// chance of equal bytes) plus b index slots of 8 bytes. Processing is
// greedy in input order: the first of a group of duplicates is kept.
// Per LSH bucket at most kMaxBucketChecks candidates are verified, so many
// similar-but-distinct examples (templated answers) cannot make it quadratic.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace deskbot::dataset {

struct DedupeOptions {
  bool exact = true;
  bool near = true;
  double near_threshold = 0.8;  // estimated Jaccard similarity of shingle sets
  int num_perm = 64;
  int shingle_words = 3;
};

inline constexpr std::string_view kDropExactDuplicate = "exact_duplicate";
inline constexpr std::string_view kDropNearDuplicate = "near_duplicate";

class Deduplicator {
 public:
  explicit Deduplicator(const DedupeOptions& options = {});

  // Empty view: `question`+`answer` is new and is now remembered. Otherwise
  // the reason it is a duplicate of something seen before.
  std::string_view Check(std::string_view question, std::string_view answer);

  size_t kept() const { return kept_; }
  int bands() const { return bands_; }
  int rows() const { return rows_; }

  // For tests: the MinHash signature of a text and the estimated similarity.
  std::vector<std::uint32_t> Signature(std::string_view text) const;
  static double EstimateSimilarity(const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b);

 private:
  static constexpr int kMaxBucketChecks = 64;
  void SignatureInto(std::string_view text, std::uint32_t* out) const;
  void SignatureOfWords(const std::vector<std::uint64_t>& words, std::uint32_t* out) const;
  std::uint64_t BandKey(const std::uint32_t* sig, int band) const;
  bool Verify(const std::uint32_t* sig, std::uint32_t kept_index) const;
  void Insert(std::uint64_t key, std::uint32_t value);
  void Grow();

  DedupeOptions options_;
  int bands_ = 0, rows_ = 0;
  bool InsertExact(std::uint64_t hash);  // false: seen before
  std::vector<std::uint64_t> exact_;     // open addressing, 0 = empty
  size_t exact_used_ = 0;
  std::vector<std::uint8_t> signatures_;  // kept_ * num_perm low bytes
  std::vector<std::uint64_t> table_;      // open addressing: key32 << 32 | kept index; 0 = empty
  size_t used_ = 0;
  size_t kept_ = 0;
  std::vector<std::uint32_t> scratch_sig_;
  std::vector<std::uint64_t> scratch_keys_;
};

}  // namespace deskbot::dataset
