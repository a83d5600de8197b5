// The schema of the SQLite store, as an ordered list of migrations. Private to
// bot/store.
//
// To change the schema, APPEND a migration (never edit a released one): it
// runs once on every existing database, in its own transaction, after all
// earlier ones. PRAGMA user_version holds the number of migrations applied.
// Migrations run inside a transaction, where PRAGMA foreign_keys cannot be
// switched: a migration that rebuilds a table must keep its references valid.
#pragma once

#include <span>

#include "bot/store/sqlite_util.h"

namespace deskbot::sqlite {

struct Migration {
  int version;          // 1, 2, 3 ... in order
  const char* name;     // what it does, recorded in schema_migrations
  const char* sql;      // may hold several statements
};

std::span<const Migration> Migrations();

// Brings the database to the latest version. Refuses (kInvalidArgument) a
// database whose version is newer than the last migration known here.
util::Status Migrate(sqlite3* db, const std::string& path);
// The same with another list (tests: a failing migration).
util::Status Migrate(sqlite3* db, const std::string& path, std::span<const Migration> migrations);

// The database's PRAGMA user_version.
util::Result<int> UserVersion(sqlite3* db);

}  // namespace deskbot::sqlite
