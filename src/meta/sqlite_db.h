// Thin RAII wrappers over the SQLite C API, internal to meta/: a connection
// with a prepared-statement cache, a statement handle that resets itself, and
// a transaction that rolls back unless committed.
//
// Errors are sticky inside a Stmt: a failed prepare or bind is remembered and
// reported by the next Step()/Run(), so call sites check once per statement.
//
// Thread-safety: none. A Db and every Stmt/Txn made from it must be used by
// one thread at a time (SqliteStore guards its Db with a mutex).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"

// Returns the Error of a failed Status/Result expression from the caller.
#define META_TRY(expr)                                           \
  do {                                                           \
    auto&& meta_try_result_ = (expr);                            \
    if (!meta_try_result_.ok()) return meta_try_result_.error(); \
  } while (0)

#define META_CONCAT_INNER(a, b) a##b
#define META_CONCAT(a, b) META_CONCAT_INNER(a, b)
// `lhs = value of expr`, or return its Error from the caller.
#define META_ASSIGN_OR_RETURN(lhs, expr) \
  META_ASSIGN_OR_RETURN_IMPL(META_CONCAT(meta_result_, __LINE__), lhs, expr)
#define META_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.error();               \
  lhs = std::move(tmp).value()

namespace holdfast::meta::sqlite {

// Error{code, "sqlite: <op>: <message>"}; the code is chosen from `rc`:
// unique/primary-key violations are kAlreadyExists, a damaged file is
// kCorrupt, everything else kIo.
Error SqliteError(int rc, std::string_view op, std::string_view message);

class Stmt {
 public:
  // `in_use` is the cache's flag for this statement; cleared on destruction.
  Stmt(sqlite3* db, sqlite3_stmt* stmt, bool* in_use, const char* sql, int prepare_rc);
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;
  ~Stmt();  // resets the statement and clears its bindings

  // Indices are 1-based, as in SQL. Text is copied (SQLITE_TRANSIENT): call
  // sites often bind temporaries, so SQLITE_STATIC would dangle.
  Stmt& BindText(int index, std::string_view text);
  Stmt& BindInt(int index, int64_t value);

  // One step: true when a row is ready, false when the statement is done.
  Result<bool> Step();
  // Steps to completion (for statements that return no rows).
  Status Run();
  // Rows changed by the last completed INSERT/UPDATE/DELETE.
  int Changes() const;

  int64_t ColumnInt(int column) const;  // 0-based
  std::string ColumnText(int column) const;

 private:
  Error MakeError(int rc) const;

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool* in_use_;
  const char* sql_;
  int sticky_rc_;  // first prepare/bind failure, SQLITE_OK if none
};

class Db {
 public:
  // Opens (creating if needed) with WAL, synchronous=FULL, foreign keys on
  // and a busy timeout. Does not touch the schema.
  static Result<std::unique_ptr<Db>> Open(const std::filesystem::path& path);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // A cached prepared statement for `sql` (copied; may be a temporary). The
  // cache never shrinks: pass only fixed SQL, never SQL built from data.
  // A statement may not be prepared
  // again while a Stmt for it is alive (asserted): that would reset it under
  // the first user.
  Stmt Prepare(const char* sql);
  // Runs one or more statements without caching (DDL, pragmas).
  Status ExecScript(const char* sql);

 private:
  explicit Db(sqlite3* handle) : handle_(handle) {}

  struct CachedStmt {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  sqlite3* handle_;
  std::unordered_map<std::string, CachedStmt> cache_;
};

// A transaction that rolls back on destruction unless Commit() succeeded.
class Txn {
 public:
  enum class Mode {
    kRead,   // BEGIN (deferred): a consistent snapshot of committed data
    kWrite,  // BEGIN IMMEDIATE: takes the write lock up front, so the
             // transaction never fails half-way on lock upgrade
  };
  explicit Txn(Db& db) : db_(db) {}
  ~Txn();
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  Status Begin(Mode mode);
  Status Commit();

 private:
  Db& db_;
  bool open_ = false;
};

}  // namespace holdfast::meta::sqlite
