// Approximate nearest neighbours by inner product (hnswlib's HNSW graph),
// behind a small interface so that hnswlib's header stays in one file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "connectors/util/status.h"

namespace deskbot::model {

struct AnnParams {
  int m = 12;
  int ef_construction = 64;
  int ef_search = 64;
  int threads = 2;
};

class VectorIndex {
 public:
  VectorIndex();
  ~VectorIndex();
  VectorIndex(VectorIndex&&) noexcept;
  VectorIndex& operator=(VectorIndex&&) noexcept;

  // Indexes rows 0..n-1 of `data` (n x dim, unit vectors); row i gets label i.
  static util::Result<VectorIndex> Build(const float* data, size_t n, int dim, const AnnParams& params);

  // The k rows most similar to `query` (cosine for unit vectors), best first.
  // Thread-safe.
  void Search(const float* query, size_t k, std::vector<std::pair<float, std::uint32_t>>* out) const;
  // The stored vector of row `label`.
  const float* Vector(std::uint32_t label) const;
  size_t size() const;
  int dim() const;

  util::Status Save(const std::string& path) const;
  static util::Result<VectorIndex> Load(const std::string& path, int dim, size_t expected_size,
                                        int ef_search);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace deskbot::model
