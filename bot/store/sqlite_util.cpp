#include "bot/store/sqlite_util.h"

namespace deskbot::sqlite {

util::Status Error(sqlite3* db, int rc, const std::string& what) {
  std::string msg = what + ": ";
  // sqlite3_errmsg names the constraint or the problem ("UNIQUE constraint
  // failed: tickets.source, tickets.external_id"); it never holds bound values.
  msg += (db != nullptr && sqlite3_errcode(db) == rc) ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return util::Status::Corruption(msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return util::Status::Unavailable(msg);
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
      return util::Status::InvalidArgument(msg);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return util::Status::IOError(msg);
    default:
      return util::Status::Internal(msg);
  }
}

util::Status Exec(sqlite3* db, const char* sql, const std::string& what) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(db, rc, what);
  return util::Status::OK();
}

StmtCache::~StmtCache() {
  for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
}

sqlite3_stmt* StmtCache::Get(std::string_view sql, util::Status* error) {
  auto it = stmts_.find(sql);
  if (it != stmts_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                              &stmt, nullptr);
  if (rc != SQLITE_OK) {
    *error = Error(db_, rc, "prepare '" + std::string(sql.substr(0, 40)) + "...'");
    sqlite3_finalize(stmt);
    return nullptr;
  }
  stmts_.emplace(std::string(sql), stmt);
  return stmt;
}

Stmt::Stmt(StmtCache& cache, std::string_view sql) : db_(cache.db()), borrowed_(true) {
  sql_head_ = std::string(sql.substr(0, 40));
  stmt_ = cache.Get(sql, &status_);
}

Stmt::Stmt(sqlite3* db, std::string_view sql) : db_(db) {
  sql_head_ = std::string(sql.substr(0, 40));
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) status_ = Error(db, rc, "prepare '" + sql_head_ + "...'");
}

Stmt::~Stmt() {
  if (!borrowed_) {
    sqlite3_finalize(stmt_);
  } else if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Stmt& Stmt::Bind(int i, std::int64_t v) {
  if (status_.ok()) sqlite3_bind_int64(stmt_, i, v);
  return *this;
}

Stmt& Stmt::Bind(int i, double v) {
  if (status_.ok()) sqlite3_bind_double(stmt_, i, v);
  return *this;
}

Stmt& Stmt::Bind(int i, std::string_view v) {
  if (status_.ok()) {
    // SQLITE_TRANSIENT: SQLite copies the text, so temporaries are safe.
    int rc = sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    if (rc != SQLITE_OK) status_ = Error(db_, rc, "bind");
  }
  return *this;
}

Stmt& Stmt::BindStatic(int i, std::string_view v) {
  if (status_.ok()) {
    int rc = sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
    if (rc != SQLITE_OK) status_ = Error(db_, rc, "bind");
  }
  return *this;
}

Stmt& Stmt::BindNull(int i) {
  if (status_.ok()) sqlite3_bind_null(stmt_, i);
  return *this;
}

Stmt& Stmt::BindIdOrNull(int i, std::int64_t id) {
  return id == 0 ? BindNull(i) : Bind(i, id);
}

bool Stmt::Step() {
  if (!status_.ok()) return false;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) status_ = Error(db_, rc, "'" + sql_head_ + "...'");
  return false;
}

util::Status Stmt::Run() {
  while (Step()) {
  }
  return status_;
}

void Stmt::Reset() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  status_ = util::Status::OK();  // prepared fine (stmt_ is set), so ready again
}

std::int64_t Stmt::Int(int col) const { return sqlite3_column_int64(stmt_, col); }
double Stmt::Double(int col) const { return sqlite3_column_double(stmt_, col); }
bool Stmt::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

std::string Stmt::Text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  int n = sqlite3_column_bytes(stmt_, col);
  return p == nullptr ? std::string() : std::string(p, static_cast<std::size_t>(n));
}

Transaction::Transaction(sqlite3* db, Kind kind) : db_(db) {
  status_ = Run(kind == Kind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN", "begin transaction");
  open_ = status_.ok();
}

Transaction::Transaction(StmtCache& cache, Kind kind) : db_(cache.db()), cache_(&cache) {
  status_ = Run(kind == Kind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN", "begin transaction");
  open_ = status_.ok();
}

Transaction::~Transaction() {
  if (open_) Run("ROLLBACK", "rollback");
}

util::Status Transaction::Run(const char* sql, const std::string& what) {
  if (cache_ == nullptr) return Exec(db_, sql, what);
  Stmt stmt(*cache_, sql);
  util::Status st = stmt.Run();
  return st.ok() ? st : st.WithContext(what);
}

util::Status Transaction::Commit() {
  if (!open_) return status_.ok() ? util::Status::Internal("commit: no transaction") : status_;
  util::Status st = Run("COMMIT", "commit");
  // A failed COMMIT (e.g. SQLITE_BUSY) leaves the transaction open: the
  // destructor rolls it back so nothing is half-written.
  if (st.ok()) open_ = false;
  return st;
}

}  // namespace deskbot::sqlite
