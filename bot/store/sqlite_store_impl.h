// SqliteStore's private state, shared by the files that implement it
// (sqlite_store.cpp: tickets, pairs, models, audit; sqlite_service.cpp: the
// chat service tables). Private to bot/store.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bot/store/sqlite_store.h"
#include "bot/store/sqlite_util.h"

namespace deskbot {

namespace sqlite {
// Rows read per lock in the ForEach* visitors.
inline constexpr int kVisitBatch = 256;
}  // namespace sqlite

struct SqliteStore::Impl {
  sqlite3* db = nullptr;
  std::string path;
  std::mutex mu;  // one connection: every use of `db` holds it
  std::unique_ptr<sqlite::StmtCache> cache;  // the hot paths' statements (under mu)

  ~Impl() {
    cache.reset();  // its statements go before the connection
    sqlite3_close_v2(db);
  }

  // Reads up to kVisitBatch rows after `after_id` with `read`, under the
  // lock, then hands them to `fn` outside it. `read` returns the rows it read.
  template <typename T, typename ReadBatch>
  Status Visit(const std::function<bool(const T&)>& fn, ReadBatch read) {
    std::int64_t after_id = 0;
    for (;;) {
      std::vector<T> batch;
      {
        std::lock_guard<std::mutex> lock(mu);
        DESK_RETURN_IF_ERROR(read(after_id, batch));
      }
      for (const T& row : batch)
        if (!fn(row)) return Status::OK();
      if (batch.size() < static_cast<std::size_t>(sqlite::kVisitBatch)) return Status::OK();
      after_id = batch.back().id;
    }
  }
};

}  // namespace deskbot
