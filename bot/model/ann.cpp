#include "bot/model/ann.h"

#include <hnswlib/hnswlib.h>

#include <atomic>
#include <exception>
#include <thread>

namespace deskbot::model {

struct VectorIndex::Impl {
  explicit Impl(int d) : dim(d), space(static_cast<size_t>(d)) {}
  int dim;
  hnswlib::InnerProductSpace space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> hnsw;
  std::vector<hnswlib::tableint> internal_of;  // label -> internal id

  void MapLabels() {
    internal_of.assign(hnsw->cur_element_count, 0);
    for (hnswlib::tableint i = 0; i < hnsw->cur_element_count; ++i) {
      auto label = hnsw->getExternalLabel(i);
      if (label < internal_of.size()) internal_of[label] = i;
    }
  }
};

VectorIndex::VectorIndex() = default;
VectorIndex::~VectorIndex() = default;
VectorIndex::VectorIndex(VectorIndex&&) noexcept = default;
VectorIndex& VectorIndex::operator=(VectorIndex&&) noexcept = default;

util::Result<VectorIndex> VectorIndex::Build(const float* data, size_t n, int dim, const AnnParams& params) {
  VectorIndex index;
  index.impl_ = std::make_unique<Impl>(dim);
  auto& impl = *index.impl_;
  try {
    impl.hnsw = std::make_unique<hnswlib::HierarchicalNSW<float>>(&impl.space, std::max<size_t>(n, 1),
                                                                  params.m, params.ef_construction);
    // Row 0 first, alone, so the graph has its entry point before threads join.
    if (n > 0) impl.hnsw->addPoint(data, 0);
    std::atomic<size_t> next{1};
    std::exception_ptr error;
    std::mutex error_mu;
    auto work = [&] {
      try {
        for (size_t i = next++; i < n; i = next++)
          impl.hnsw->addPoint(data + i * static_cast<size_t>(dim), i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu);
        error = std::current_exception();
      }
    };
    std::vector<std::thread> pool;
    // Threads insert in a racy order; below ~20k rows one thread is quick and
    // gives the same graph every time.
    int threads = n > 20000 ? std::max(1, params.threads) : 1;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& th : pool) th.join();
    if (error) std::rethrow_exception(error);
    impl.hnsw->setEf(params.ef_search);
  } catch (const std::exception& e) {
    return util::Status::Internal(std::string("building the vector index: ") + e.what());
  }
  impl.MapLabels();
  return index;
}

void VectorIndex::Search(const float* query, size_t k,
                         std::vector<std::pair<float, std::uint32_t>>* out) const {
  out->clear();
  if (!impl_ || !impl_->hnsw || impl_->hnsw->cur_element_count == 0 || k == 0) return;
  auto result = impl_->hnsw->searchKnn(query, std::min<size_t>(k, impl_->hnsw->cur_element_count));
  out->resize(result.size());
  // The queue pops the farthest first.
  for (size_t i = out->size(); i-- > 0;) {
    (*out)[i] = {1.0f - result.top().first, static_cast<std::uint32_t>(result.top().second)};
    result.pop();
  }
}

const float* VectorIndex::Vector(std::uint32_t label) const {
  return reinterpret_cast<const float*>(impl_->hnsw->getDataByInternalId(impl_->internal_of[label]));
}

size_t VectorIndex::size() const { return impl_ && impl_->hnsw ? impl_->hnsw->cur_element_count : 0; }
int VectorIndex::dim() const { return impl_ ? impl_->dim : 0; }

util::Status VectorIndex::Save(const std::string& path) const {
  try {
    impl_->hnsw->saveIndex(path);
  } catch (const std::exception& e) {
    return util::Status::IOError(path + ": " + e.what());
  }
  return util::Status::OK();
}

util::Result<VectorIndex> VectorIndex::Load(const std::string& path, int dim, size_t expected_size,
                                            int ef_search) {
  VectorIndex index;
  index.impl_ = std::make_unique<Impl>(dim);
  auto& impl = *index.impl_;
  try {
    impl.hnsw = std::make_unique<hnswlib::HierarchicalNSW<float>>(&impl.space, path);
  } catch (const std::exception& e) {
    return util::Status::Corruption(path + ": " + e.what());
  }
  if (impl.hnsw->cur_element_count != expected_size ||
      impl.hnsw->data_size_ != static_cast<size_t>(dim) * sizeof(float))
    return util::Status::Corruption(path + ": vector index does not match the model");
  impl.hnsw->setEf(ef_search);
  impl.MapLabels();
  return index;
}

}  // namespace deskbot::model
