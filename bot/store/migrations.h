// The schema of the SQLite store, as an ordered list of migrations. Private to
// bot/store.
//
// To change the schema, APPEND a migration (never edit a released one): it
// runs once on every existing database, in its own transaction, after all
// earlier ones. PRAGMA user_version holds the number of migrations applied.
// A migration that rebuilds a table other tables reference (create the new
// table, copy, drop the old, rename: SQLite's way to change a constraint)
// sets `rebuilds_referenced_table`: it runs with foreign key enforcement off
// (which cannot be switched inside a transaction), and commits only if
// PRAGMA foreign_key_check then finds every reference valid.
#pragma once

#include <span>

#include "bot/store/sqlite_util.h"

namespace deskbot::sqlite {

struct Migration {
  int version;          // 1, 2, 3 ... in order
  const char* name;     // what it does, recorded in schema_migrations
  const char* sql;      // may hold several statements
  bool rebuilds_referenced_table = false;
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
