// Thin RAII helpers over the SQLite C API, private to bot/store (this header
// includes sqlite3.h, so no public header may include it).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "connectors/util/status.h"

namespace deskbot::sqlite {

// The Status for an SQLite error code, with `what` (the operation) first.
// Corrupt or non-database files become kCorruption, a locked database
// kUnavailable (try again), a violated constraint kInvalidArgument.
util::Status Error(sqlite3* db, int rc, const std::string& what);

// Runs SQL text with no results (may hold several statements).
util::Status Exec(sqlite3* db, const char* sql, const std::string& what);

// Prepared statements kept for the life of a connection, for the hot paths
// (the inbox writer's group commit runs several times per millisecond under
// load, and preparing parses the SQL every time). Not thread-safe: use it
// under the connection's lock. A cached statement is lent to one Stmt at a
// time: never hold two Stmts of the same SQL text at once.
class StmtCache {
 public:
  explicit StmtCache(sqlite3* db) : db_(db) {}
  ~StmtCache();  // finalizes every statement (before the connection closes)
  StmtCache(const StmtCache&) = delete;
  StmtCache& operator=(const StmtCache&) = delete;

  sqlite3* db() const { return db_; }
  // The prepared statement for `sql`, or nullptr with *error set.
  sqlite3_stmt* Get(std::string_view sql, util::Status* error);

 private:
  sqlite3* db_;
  // Looked up by string_view, so a lookup does not copy the SQL text.
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, sqlite3_stmt*, TextHash, std::equal_to<>> stmts_;
};

// One prepared statement. Bind with 1-based indexes, then Step() until it
// returns false; an error is kept in status(). Made from a StmtCache it
// borrows the cached statement and leaves it reset for the next use.
class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql);
  Stmt(StmtCache& cache, std::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int i, std::int64_t v);
  Stmt& Bind(int i, int v) { return Bind(i, static_cast<std::int64_t>(v)); }
  Stmt& Bind(int i, double v);
  Stmt& Bind(int i, std::string_view v);
  Stmt& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  Stmt& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  // Binds text SQLite does not copy: `v` must stay valid until the statement
  // is reset or bound again (hot loops over strings that outlive them).
  Stmt& BindStatic(int i, std::string_view v);
  Stmt& BindNull(int i);
  // NULL when 0: for optional foreign keys.
  Stmt& BindIdOrNull(int i, std::int64_t id);

  // Advances to the next row: true when a row is there, false when done or on
  // error (see status()).
  bool Step();
  // Runs a statement that returns no rows.
  util::Status Run();
  void Reset();

  std::int64_t Int(int col) const;
  double Double(int col) const;
  std::string Text(int col) const;
  bool IsNull(int col) const;

  const util::Status& status() const { return status_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  bool borrowed_ = false;  // from a StmtCache: reset, not finalized, when done
  std::string sql_head_;  // for error messages: the start of the statement
  util::Status status_;
};

// A transaction on one connection. BEGIN IMMEDIATE for writes takes the write
// lock up front, so two processes never deadlock upgrading a read lock; the
// destructor rolls back unless Commit() succeeded.
class Transaction {
 public:
  enum class Kind { kRead, kWrite };
  Transaction(sqlite3* db, Kind kind);
  // The same with BEGIN / COMMIT / ROLLBACK prepared once (the hot paths).
  Transaction(StmtCache& cache, Kind kind);
  ~Transaction();
  const util::Status& status() const { return status_; }
  util::Status Commit();

 private:
  // Runs BEGIN / COMMIT / ROLLBACK: cached when there is a cache.
  util::Status Run(const char* sql, const std::string& what);

  sqlite3* db_;
  StmtCache* cache_ = nullptr;
  bool open_ = false;
  util::Status status_;
};

// Parses an enum name read back from a column. The store's own names are
// checked by the schema, so a name that does not parse means the file was
// edited by hand: report it rather than guess.
template <typename E>
util::Status ParseStored(std::optional<E> parsed, const std::string& text, const char* what, E* out) {
  if (!parsed) return util::Status::Corruption(std::string("store: unknown ") + what + " '" + text + "'");
  *out = *parsed;
  return util::Status::OK();
}

}  // namespace deskbot::sqlite
