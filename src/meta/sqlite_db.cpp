#include "meta/sqlite_db.h"

#include <cassert>
#include <utility>

namespace holdfast::meta::sqlite {
namespace {

// Long enough to ride out a checkpoint or a second process briefly holding
// the write lock; short enough that a stuck lock surfaces as an error.
constexpr int kBusyTimeoutMs = 5000;

// "INSERT INTO buckets (name, ..." → a short, single-line tag for messages.
std::string SqlTag(const char* sql) {
  std::string tag;
  bool space = false;
  for (const char* p = sql; *p != '\0' && tag.size() < 48; ++p) {
    const bool is_space = *p == ' ' || *p == '\n' || *p == '\t';
    if (is_space) {
      space = !tag.empty();
      continue;
    }
    if (space) tag.push_back(' ');
    space = false;
    tag.push_back(*p);
  }
  return tag;
}

}  // namespace

Error SqliteError(int rc, std::string_view op, std::string_view message) {
  Errc code = Errc::kIo;
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
    code = Errc::kAlreadyExists;
  } else if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) {
    code = Errc::kCorrupt;
  }
  std::string text = "sqlite: ";
  text.append(op);
  text.append(": ");
  text.append(message);
  return MakeError(code, std::move(text));
}

// --- Stmt -------------------------------------------------------------------

Stmt::Stmt(sqlite3* db, sqlite3_stmt* stmt, bool* in_use, const char* sql, int prepare_rc)
    : db_(db), stmt_(stmt), in_use_(in_use), sql_(sql), sticky_rc_(prepare_rc) {}

Stmt::Stmt(Stmt&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      in_use_(std::exchange(other.in_use_, nullptr)),
      sql_(other.sql_),
      sticky_rc_(other.sticky_rc_) {}

Stmt::~Stmt() {
  if (stmt_ != nullptr) {
    // reset() repeats the last step's error; it was already reported.
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  if (in_use_ != nullptr) *in_use_ = false;
}

Stmt& Stmt::BindText(int index, std::string_view text) {
  if (sticky_rc_ == SQLITE_OK) {
    // A null pointer would bind SQL NULL, not an empty string.
    const char* data = text.data() != nullptr ? text.data() : "";
    sticky_rc_ =
        sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  }
  return *this;
}

Stmt& Stmt::BindInt(int index, int64_t value) {
  if (sticky_rc_ == SQLITE_OK) sticky_rc_ = sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Error Stmt::MakeError(int rc) const {
  // After a failed prepare there is no statement, but errmsg still explains.
  return SqliteError(rc, SqlTag(sql_), sqlite3_errmsg(db_));
}

Result<bool> Stmt::Step() {
  if (sticky_rc_ != SQLITE_OK) return MakeError(sticky_rc_);
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // With prepare_v2/v3, step() returns the specific (extended) code.
  return MakeError(sqlite3_extended_errcode(db_));
}

Status Stmt::Run() {
  while (true) {
    META_ASSIGN_OR_RETURN(const bool has_row, Step());
    if (!has_row) return Status::Ok();
  }
}

int Stmt::Changes() const { return sqlite3_changes(db_); }

int64_t Stmt::ColumnInt(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Stmt::ColumnText(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (text == nullptr) return {};
  return std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

// --- Db ---------------------------------------------------------------------

Result<std::unique_ptr<Db>> Db::Open(const std::filesystem::path& path) {
  sqlite3* handle = nullptr;
  // NOMUTEX: callers serialise access (see the header), so SQLite's own
  // per-connection mutex would only add cost.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error error = SqliteError(rc, "open " + path.string(),
                              handle != nullptr ? sqlite3_errmsg(handle) : sqlite3_errstr(rc));
    sqlite3_close(handle);
    return error;
  }
  std::unique_ptr<Db> db(new Db(handle));
  sqlite3_extended_result_codes(handle, 1);
  sqlite3_busy_timeout(handle, kBusyTimeoutMs);

  // journal_mode answers with the mode it actually chose; WAL can be refused
  // (e.g. on some network file systems) and we must not silently run without.
  {
    Stmt journal = db->Prepare("PRAGMA journal_mode=WAL");
    META_ASSIGN_OR_RETURN(const bool has_row, journal.Step());
    if (!has_row || journal.ColumnText(0) != "wal") {
      return MakeError(Errc::kIo, "sqlite: cannot enable WAL journal mode on " + path.string());
    }
  }
  META_TRY(db->ExecScript("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  {
    Stmt foreign_keys = db->Prepare("PRAGMA foreign_keys");
    META_ASSIGN_OR_RETURN(const bool has_row, foreign_keys.Step());
    if (!has_row || foreign_keys.ColumnInt(0) != 1) {
      return MakeError(Errc::kInternal, "sqlite: this SQLite build does not enforce foreign keys");
    }
  }
  return db;
}

Db::~Db() {
  for (auto& [sql, cached] : cache_) {
    assert(!cached.in_use);
    sqlite3_finalize(cached.stmt);
  }
  // Only fails if statements are still open, which the loop above prevents.
  sqlite3_close(handle_);
}

Stmt Db::Prepare(const char* sql) {
  auto [it, inserted] = cache_.try_emplace(sql);
  // The map's key outlives the Stmt (callers may pass a temporary's c_str()).
  const char* stable_sql = it->first.c_str();
  CachedStmt& cached = it->second;
  assert(!cached.in_use && "statement prepared again while still in use");
  if (cached.stmt == nullptr) {
    // A failure leaves stmt null, so the next call tries again.
    const int rc = sqlite3_prepare_v3(handle_, stable_sql, -1, SQLITE_PREPARE_PERSISTENT,
                                      &cached.stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(cached.stmt);
      cached.stmt = nullptr;
      return Stmt(handle_, nullptr, nullptr, stable_sql, rc);
    }
  }
  cached.in_use = true;
  return Stmt(handle_, cached.stmt, &cached.in_use, stable_sql, SQLITE_OK);
}

Status Db::ExecScript(const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(handle_, sql, nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return Status::Ok();
  Error error = SqliteError(sqlite3_extended_errcode(handle_), SqlTag(sql),
                            message != nullptr ? message : sqlite3_errstr(rc));
  sqlite3_free(message);
  return error;
}

// --- Txn --------------------------------------------------------------------

Status Txn::Begin(Mode mode) {
  assert(!open_);
  Stmt begin = db_.Prepare(mode == Mode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN");
  META_TRY(begin.Run());
  open_ = true;
  return Status::Ok();
}

Status Txn::Commit() {
  assert(open_);
  Stmt commit = db_.Prepare("COMMIT");
  META_TRY(commit.Run());  // on failure the destructor rolls back
  open_ = false;
  return Status::Ok();
}

Txn::~Txn() {
  if (!open_) return;
  // Fails harmlessly if SQLite already rolled back by itself (e.g. after an
  // I/O error); either way no transaction remains open.
  Stmt rollback = db_.Prepare("ROLLBACK");
  (void)rollback.Run();
}

}  // namespace holdfast::meta::sqlite
