#include "meta/sqlite_web.h"

#include "meta/sqlite_rows.h"

namespace holdfast::meta {

const char* WebRoleName(WebRole role) { return role == WebRole::kOperator ? "operator" : "user"; }

namespace sqlite {
namespace {

WebRole ParseWebRole(const std::string& text) { return text == "operator" ? WebRole::kOperator : WebRole::kUser; }

constexpr const char* kShareLinkColumns =
    "link_id, owner_id, bucket, key, created_unix_ms, expires_unix_ms, password_hash, revoked_unix_ms, downloads";

ShareLink ReadShareLink(const Stmt& stmt) {
  ShareLink link;
  link.link_id = stmt.ColumnText(0);
  link.owner_id = stmt.ColumnText(1);
  link.bucket = stmt.ColumnText(2);
  link.key = stmt.ColumnText(3);
  link.created_unix_ms = stmt.ColumnInt(4);
  link.expires_unix_ms = stmt.ColumnInt(5);
  link.password_hash = stmt.ColumnText(6);
  link.revoked_unix_ms = stmt.ColumnInt(7);
  link.downloads = stmt.ColumnInt(8);
  return link;
}

}  // namespace

Result<std::vector<AccessKey>> LoadAccessKeys(Db& db, const std::string& user_id) {
  Stmt stmt = db.Prepare(
      "SELECT access_key_id, secret_key, user_id, created_unix_ms FROM access_keys WHERE user_id = ?1 "
      "ORDER BY created_unix_ms, access_key_id");
  stmt.BindText(1, user_id);
  std::vector<AccessKey> keys;
  while (true) {
    META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) break;
    keys.push_back(AccessKey{stmt.ColumnText(0), stmt.ColumnText(1), stmt.ColumnText(2), stmt.ColumnInt(3)});
  }
  return keys;
}

Status RemoveAccessKey(Db& db, const std::string& user_id, const std::string& access_key_id) {
  Stmt stmt = db.Prepare("DELETE FROM access_keys WHERE access_key_id = ?1 AND user_id = ?2");
  stmt.BindText(1, access_key_id).BindText(2, user_id);
  META_TRY(stmt.Run());
  if (stmt.Changes() == 0) return MakeError(Errc::kNotFound, "user " + user_id + " has no access key " + access_key_id);
  return Status::Ok();
}

Status InsertSignUp(Db& db, const WebAccount& account, const Bucket& home_bucket) {
  const std::string& name = account.user_id;
  for (const char* sql : {"SELECT 1 FROM web_accounts WHERE user_id = ?1",
                          "SELECT 1 FROM access_keys WHERE user_id = ?1",
                          "SELECT 1 FROM buckets WHERE owner_id = ?1",
                          "SELECT 1 FROM users WHERE user_id = ?1"}) {
    META_ASSIGN_OR_RETURN(const bool taken, RowExists(db, sql, name));
    if (taken) return MakeError(Errc::kAlreadyExists, "the name " + name + " is taken");
  }
  META_ASSIGN_OR_RETURN(const bool bucket_taken, BucketExists(db, home_bucket.name));
  if (bucket_taken) return MakeError(Errc::kAlreadyExists, "the name " + name + " is taken (a bucket has it)");
  META_TRY(UpsertWebAccount(db, account));
  return InsertBucket(db, home_bucket);
}

Status UpsertWebAccount(Db& db, const WebAccount& account) {
  Stmt stmt = db.Prepare(
      "INSERT INTO web_accounts (user_id, password_hash, role, created_unix_ms) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, role = excluded.role");
  stmt.BindText(1, account.user_id)
      .BindText(2, account.password_hash)
      .BindText(3, WebRoleName(account.role))
      .BindInt(4, account.created_unix_ms);
  return stmt.Run();
}

Result<WebAccount> LoadWebAccount(Db& db, const std::string& user_id) {
  Stmt stmt = db.Prepare("SELECT user_id, password_hash, role, created_unix_ms FROM web_accounts WHERE user_id = ?1");
  stmt.BindText(1, user_id);
  META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) return MakeError(Errc::kNotFound, "no account " + user_id);
  return WebAccount{stmt.ColumnText(0), stmt.ColumnText(1), ParseWebRole(stmt.ColumnText(2)), stmt.ColumnInt(3)};
}

Status InsertWebSession(Db& db, const WebSession& session) {
  // Sessions nobody signed out of would pile up: every sign-in sweeps the
  // expired ones (an index range on expires_unix_ms).
  Stmt sweep = db.Prepare("DELETE FROM web_sessions WHERE expires_unix_ms <= ?1");
  sweep.BindInt(1, session.created_unix_ms);
  META_TRY(sweep.Run());
  Stmt stmt = db.Prepare(
      "INSERT INTO web_sessions (token_sha256, user_id, csrf_token, created_unix_ms, expires_unix_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?5)");
  stmt.BindText(1, session.token_sha256)
      .BindText(2, session.user_id)
      .BindText(3, session.csrf_token)
      .BindInt(4, session.created_unix_ms)
      .BindInt(5, session.expires_unix_ms);
  return stmt.Run();
}

Result<WebSession> LoadWebSession(Db& db, const std::string& token_sha256, int64_t now_unix_ms) {
  Stmt stmt = db.Prepare(
      "SELECT token_sha256, user_id, csrf_token, created_unix_ms, expires_unix_ms FROM web_sessions "
      "WHERE token_sha256 = ?1 AND expires_unix_ms > ?2");
  stmt.BindText(1, token_sha256).BindInt(2, now_unix_ms);
  META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) return MakeError(Errc::kNotFound, "no such session");
  return WebSession{stmt.ColumnText(0), stmt.ColumnText(1), stmt.ColumnText(2), stmt.ColumnInt(3),
                    stmt.ColumnInt(4)};
}

Status RemoveWebSession(Db& db, const std::string& token_sha256, int64_t now_unix_ms) {
  Stmt stmt = db.Prepare("DELETE FROM web_sessions WHERE token_sha256 = ?1 OR expires_unix_ms <= ?2");
  stmt.BindText(1, token_sha256).BindInt(2, now_unix_ms);
  return stmt.Run();
}

Status InsertShareLink(Db& db, const ShareLink& link) {
  Stmt stmt = db.Prepare(
      "INSERT INTO share_links (link_id, owner_id, bucket, key, created_unix_ms, expires_unix_ms, password_hash) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  stmt.BindText(1, link.link_id)
      .BindText(2, link.owner_id)
      .BindText(3, link.bucket)
      .BindText(4, link.key)
      .BindInt(5, link.created_unix_ms)
      .BindInt(6, link.expires_unix_ms)
      .BindText(7, link.password_hash);
  return stmt.Run();
}

Result<ShareLink> LoadShareLink(Db& db, const std::string& link_id) {
  std::string sql = std::string("SELECT ") + kShareLinkColumns + " FROM share_links WHERE link_id = ?1";
  Stmt stmt = db.Prepare(sql.c_str());
  stmt.BindText(1, link_id);
  META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) return MakeError(Errc::kNotFound, "no share link " + link_id);
  return ReadShareLink(stmt);
}

Result<std::vector<ShareLink>> LoadShareLinks(Db& db, const std::string& owner_id, int limit) {
  std::string sql = std::string("SELECT ") + kShareLinkColumns +
                    " FROM share_links WHERE owner_id = ?1 ORDER BY created_unix_ms DESC, link_id LIMIT ?2";
  Stmt stmt = db.Prepare(sql.c_str());
  stmt.BindText(1, owner_id).BindInt(2, limit);
  std::vector<ShareLink> links;
  while (true) {
    META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) break;
    links.push_back(ReadShareLink(stmt));
  }
  return links;
}

Status MarkShareLinkRevoked(Db& db, const std::string& owner_id, const std::string& link_id, int64_t now_unix_ms) {
  META_ASSIGN_OR_RETURN(ShareLink link, LoadShareLink(db, link_id));
  if (link.owner_id != owner_id) return MakeError(Errc::kNotFound, "no share link " + link_id);
  if (link.revoked_unix_ms != 0) return Status::Ok();
  Stmt stmt = db.Prepare("UPDATE share_links SET revoked_unix_ms = ?2 WHERE link_id = ?1");
  stmt.BindText(1, link_id).BindInt(2, now_unix_ms);
  return stmt.Run();
}

Status AddShareLinkDownload(Db& db, const std::string& link_id) {
  Stmt stmt = db.Prepare("UPDATE share_links SET downloads = downloads + 1 WHERE link_id = ?1");
  stmt.BindText(1, link_id);
  return stmt.Run();
}

Result<std::vector<BucketUsage>> LoadUsageOfUser(Db& db, const std::string& user_id) {
  // Through object_versions_latest (bucket, key WHERE is_latest = 1): only the
  // current versions of the user's buckets are visited. Empty keys ending in
  // '/' are folder markers (the web page's "New folder", like S3 consoles'),
  // not files.
  Stmt stmt = db.Prepare(
      "SELECT b.name, COUNT(v.version_id), COALESCE(SUM(v.size_bytes), 0) FROM buckets b "
      "LEFT JOIN object_versions v ON v.bucket = b.name AND v.is_latest = 1 AND v.kind != 'delete_marker' "
      "AND NOT (v.size_bytes = 0 AND v.key LIKE '%/') "
      "WHERE b.owner_id = ?1 GROUP BY b.name ORDER BY b.name");
  stmt.BindText(1, user_id);
  std::vector<BucketUsage> usage;
  while (true) {
    META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) break;
    usage.push_back(BucketUsage{stmt.ColumnText(0), stmt.ColumnInt(1), static_cast<uint64_t>(stmt.ColumnInt(2))});
  }
  return usage;
}

Status RemoveWebData(Db& db, const std::string& user_id) {
  for (const char* sql : {"DELETE FROM web_accounts WHERE user_id = ?1", "DELETE FROM web_sessions WHERE user_id = ?1",
                          "DELETE FROM share_links WHERE owner_id = ?1"}) {
    Stmt stmt = db.Prepare(sql);
    stmt.BindText(1, user_id);
    META_TRY(stmt.Run());
  }
  return Status::Ok();
}

}  // namespace sqlite
}  // namespace holdfast::meta
