#include "meta/sqlite_holds.h"

#include "meta/sqlite_multipart.h"
#include "meta/sqlite_rows.h"
#include "meta/sqlite_versions.h"
#include "meta/sqlite_web.h"

namespace holdfast::meta {

const char* HoldScopeName(HoldScope scope) {
  switch (scope) {
    case HoldScope::kVersion:
      return "version";
    case HoldScope::kBucket:
      return "bucket";
    case HoldScope::kUser:
      return "user";
    case HoldScope::kProvider:
      return "provider";
  }
  return "version";
}

const char* NoticeStateName(NoticeState state) {
  switch (state) {
    case NoticeState::kWaiting:
      return "waiting";
    case NoticeState::kExecuted:
      return "executed";
    case NoticeState::kCancelled:
      return "cancelled";
  }
  return "waiting";
}

namespace sqlite {
namespace {

Error Locked(std::string message) { return MakeError(Errc::kLocked, std::move(message)); }

Result<HoldScope> ParseHoldScope(const std::string& text) {
  if (text == "version") return HoldScope::kVersion;
  if (text == "bucket") return HoldScope::kBucket;
  if (text == "user") return HoldScope::kUser;
  if (text == "provider") return HoldScope::kProvider;
  return MakeError(Errc::kCorrupt, "sqlite: unknown hold scope '" + text + "'");
}

NoticeState ParseNoticeState(const std::string& text) {
  if (text == "executed") return NoticeState::kExecuted;
  if (text == "cancelled") return NoticeState::kCancelled;
  return NoticeState::kWaiting;
}

constexpr const char* kHoldColumns =
    "hold_id, scope, target, bucket, key, s3_version_id, case_reference, requested_by, reason, "
    "placed_unix_ms, released_unix_ms, released_by, release_reason, "
    "(SELECT count(*) FROM hold_versions AS hv WHERE hv.hold_id = holds.hold_id)";

Result<Hold> ReadHold(const Stmt& stmt) {
  Hold hold;
  hold.hold_id = stmt.ColumnText(0);
  META_ASSIGN_OR_RETURN(hold.scope, ParseHoldScope(stmt.ColumnText(1)));
  hold.target = stmt.ColumnText(2);
  hold.bucket = stmt.ColumnText(3);
  hold.key = stmt.ColumnText(4);
  hold.s3_version_id = stmt.ColumnText(5);
  hold.case_reference = stmt.ColumnText(6);
  hold.requested_by = stmt.ColumnText(7);
  hold.reason = stmt.ColumnText(8);
  hold.placed_unix_ms = stmt.ColumnInt(9);
  hold.released_unix_ms = stmt.ColumnInt(10);
  hold.released_by = stmt.ColumnText(11);
  hold.release_reason = stmt.ColumnText(12);
  hold.covered_versions = stmt.ColumnInt(13);
  return hold;
}

Result<Hold> LoadHold(Db& db, const std::string& hold_id) {
  const std::string sql = std::string("SELECT ") + kHoldColumns + " FROM holds WHERE hold_id = ?1";
  Stmt stmt = db.Prepare(sql.c_str());
  stmt.BindText(1, hold_id);
  META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) return MakeError(Errc::kNotFound, "no hold " + hold_id);
  return ReadHold(stmt);
}

std::string HoldLabel(const std::string& hold_id, const std::string& scope, const std::string& target,
                      const std::string& case_reference) {
  std::string label = "hold " + hold_id + " (" + scope;
  if (scope != "version") label += " " + target;
  return label + ", case " + case_reference + ")";
}

}  // namespace

Status CheckHolds(Db& db, const std::string& version_id, const std::string& bucket, const std::string& what) {
  // Active holds are few; the partial index holds_active makes "none" one
  // probe. Provider holds match recorded versions (hold_versions) or any
  // shard of the version, or of its parts, on one of the provider's nodes.
  Stmt stmt = db.Prepare(R"sql(
SELECT h.hold_id, h.scope, h.target, h.case_reference FROM holds AS h
WHERE h.released_unix_ms = 0 AND (
     (h.scope = 'version' AND h.target = ?1)
  OR (h.scope = 'bucket' AND h.target = ?2)
  OR (h.scope = 'user' AND h.target = (SELECT owner_id FROM buckets WHERE name = ?2))
  OR (h.scope = 'provider' AND (
        EXISTS (SELECT 1 FROM hold_versions AS hv WHERE hv.version_id = ?1 AND hv.hold_id = h.hold_id)
     OR EXISTS (SELECT 1 FROM shards AS s JOIN nodes AS n ON n.id = s.node_id
                WHERE n.provider = h.target AND (s.version_id = ?1 OR s.version_id IN
                      (SELECT part_version_id FROM object_parts WHERE owner_id = ?1))))))
ORDER BY h.placed_unix_ms, h.hold_id LIMIT 1)sql");
  stmt.BindText(1, version_id).BindText(2, bucket);
  META_ASSIGN_OR_RETURN(const bool held, stmt.Step());
  if (!held) return Status::Ok();
  return Locked(what + " is covered by " +
                HoldLabel(stmt.ColumnText(0), stmt.ColumnText(1), stmt.ColumnText(2), stmt.ColumnText(3)) +
                "; it cannot be deleted until the hold is released");
}

Status CheckRetireAllowed(Db& db, DrainScope scope, const std::string& name) {
  std::string provider = name;
  if (scope == DrainScope::kNode) {
    Stmt node = db.Prepare("SELECT provider FROM nodes WHERE id = ?1");
    node.BindText(1, name);
    META_ASSIGN_OR_RETURN(const bool known, node.Step());
    if (!known) return Status::Ok();
    provider = node.ColumnText(0);
  }
  Stmt stmt = db.Prepare(
      "SELECT hold_id, case_reference FROM holds WHERE scope = 'provider' AND target = ?1 AND "
      "released_unix_ms = 0 ORDER BY placed_unix_ms LIMIT 1");
  stmt.BindText(1, provider);
  META_ASSIGN_OR_RETURN(const bool held, stmt.Step());
  if (!held) return Status::Ok();
  return Locked(std::string(DrainScopeName(scope)) + " " + name + " cannot be retired: " +
                HoldLabel(stmt.ColumnText(0), "provider", provider, stmt.ColumnText(1)) +
                " is a preservation order on provider " + provider + "; release it first");
}

Status RecordHeldDeparture(Db& db, const std::string& version_id, const std::string& from_node_id) {
  for (const char* sql : {R"sql(
INSERT OR IGNORE INTO hold_versions (version_id, hold_id)
SELECT ?1, h.hold_id FROM holds AS h JOIN nodes AS n ON n.provider = h.target
WHERE n.id = ?2 AND h.scope = 'provider' AND h.released_unix_ms = 0)sql",
                          R"sql(
INSERT OR IGNORE INTO hold_versions (version_id, hold_id)
SELECT p.owner_id, h.hold_id FROM object_parts AS p, holds AS h JOIN nodes AS n ON n.provider = h.target
WHERE p.part_version_id = ?1 AND n.id = ?2 AND h.scope = 'provider' AND h.released_unix_ms = 0)sql"}) {
    Stmt stmt = db.Prepare(sql);
    stmt.BindText(1, version_id).BindText(2, from_node_id);
    META_TRY(stmt.Run());
  }
  return Status::Ok();
}

Result<Hold> InsertHold(Db& db, const Hold& requested) {
  Hold hold = requested;
  hold.released_unix_ms = 0;
  hold.released_by.clear();
  hold.release_reason.clear();
  switch (hold.scope) {
    case HoldScope::kVersion: {
      META_ASSIGN_OR_RETURN(const std::optional<std::string> id,
                            FindVersionId(db, hold.bucket, hold.key, hold.s3_version_id));
      if (!id) {
        return MakeError(Errc::kNotFound, "no version " + hold.s3_version_id + " of " + hold.bucket + "/" +
                                              hold.key);
      }
      hold.target = *id;
      break;
    }
    case HoldScope::kBucket: {
      META_ASSIGN_OR_RETURN(const bool known, BucketExists(db, hold.target));
      if (!known) return MakeError(Errc::kNotFound, "no bucket " + hold.target);
      break;
    }
    case HoldScope::kUser: {
      META_ASSIGN_OR_RETURN(const bool has_key,
                            RowExists(db, "SELECT 1 FROM access_keys WHERE user_id = ?1", hold.target));
      META_ASSIGN_OR_RETURN(const bool has_bucket,
                            RowExists(db, "SELECT 1 FROM buckets WHERE owner_id = ?1", hold.target));
      if (!has_key && !has_bucket) return MakeError(Errc::kNotFound, "no user " + hold.target);
      break;
    }
    case HoldScope::kProvider: {
      META_ASSIGN_OR_RETURN(const bool known, RowExists(db, "SELECT 1 FROM nodes WHERE provider = ?1", hold.target));
      if (!known) return MakeError(Errc::kNotFound, "no provider " + hold.target + " (no node has registered with it)");
      break;
    }
  }
  META_ASSIGN_OR_RETURN(const bool taken, RowExists(db, "SELECT 1 FROM holds WHERE hold_id = ?1", hold.hold_id));
  if (taken) return MakeError(Errc::kAlreadyExists, "hold " + hold.hold_id + " exists");
  Stmt insert = db.Prepare(R"sql(
INSERT INTO holds (hold_id, scope, target, bucket, key, s3_version_id, case_reference, requested_by, reason,
                   placed_unix_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10))sql");
  insert.BindText(1, hold.hold_id).BindText(2, HoldScopeName(hold.scope)).BindText(3, hold.target);
  insert.BindText(4, hold.bucket).BindText(5, hold.key).BindText(6, hold.s3_version_id);
  insert.BindText(7, hold.case_reference).BindText(8, hold.requested_by).BindText(9, hold.reason);
  insert.BindInt(10, hold.placed_unix_ms);
  META_TRY(insert.Run());
  if (hold.scope == HoldScope::kProvider) {
    // The versions whose shards are there now, and for parts also the
    // version (or upload) they belong to: a later drain moves the shards
    // away, the hold stays on the data.
    Stmt own = db.Prepare(R"sql(
INSERT OR IGNORE INTO hold_versions (version_id, hold_id)
SELECT DISTINCT s.version_id, ?1 FROM shards AS s JOIN nodes AS n ON n.id = s.node_id WHERE n.provider = ?2)sql");
    own.BindText(1, hold.hold_id).BindText(2, hold.target);
    META_TRY(own.Run());
    Stmt owners = db.Prepare(R"sql(
INSERT OR IGNORE INTO hold_versions (version_id, hold_id)
SELECT DISTINCT p.owner_id, ?1 FROM shards AS s JOIN nodes AS n ON n.id = s.node_id
JOIN object_parts AS p ON p.part_version_id = s.version_id WHERE n.provider = ?2)sql");
    owners.BindText(1, hold.hold_id).BindText(2, hold.target);
    META_TRY(owners.Run());
  }
  return LoadHold(db, hold.hold_id);
}

Result<Hold> MarkHoldReleased(Db& db, const std::string& hold_id, const std::string& released_by,
                              const std::string& reason, int64_t now_unix_ms) {
  META_ASSIGN_OR_RETURN(const Hold hold, LoadHold(db, hold_id));
  if (!hold.active()) return MakeError(Errc::kConflict, "hold " + hold_id + " was released already");
  Stmt stmt = db.Prepare(
      "UPDATE holds SET released_unix_ms = ?2, released_by = ?3, release_reason = ?4 WHERE hold_id = ?1");
  // A release in the same millisecond as the placement must still read as
  // released (0 means active).
  stmt.BindText(1, hold_id).BindInt(2, std::max<int64_t>(now_unix_ms, 1)).BindText(3, released_by);
  stmt.BindText(4, reason);
  META_TRY(stmt.Run());
  return LoadHold(db, hold_id);
}

Result<std::vector<Hold>> LoadHolds(Db& db, bool include_released) {
  std::string sql = std::string("SELECT ") + kHoldColumns + " FROM holds";
  if (!include_released) sql += " WHERE released_unix_ms = 0";
  sql += " ORDER BY placed_unix_ms, hold_id";
  Stmt stmt = db.Prepare(sql.c_str());
  std::vector<Hold> holds;
  while (true) {
    META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) return holds;
    META_ASSIGN_OR_RETURN(Hold hold, ReadHold(stmt));
    holds.push_back(std::move(hold));
  }
}

// ---- Webhooks and deletion notices ----------------------------------------------

Result<std::vector<std::string>> LoadUserWebhooks(Db& db, const std::string& user_id) {
  Stmt stmt = db.Prepare("SELECT url FROM user_webhooks WHERE user_id = ?1 ORDER BY url");
  stmt.BindText(1, user_id);
  std::vector<std::string> urls;
  while (true) {
    META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) return urls;
    urls.push_back(stmt.ColumnText(0));
  }
}

Status InsertUserWebhook(Db& db, const std::string& user_id, const std::string& url) {
  Stmt stmt = db.Prepare("INSERT OR IGNORE INTO user_webhooks (user_id, url) VALUES (?1, ?2)");
  stmt.BindText(1, user_id).BindText(2, url);
  return stmt.Run();
}

Status DeleteUserWebhook(Db& db, const std::string& user_id, const std::string& url) {
  Stmt stmt = db.Prepare("DELETE FROM user_webhooks WHERE user_id = ?1 AND url = ?2");
  stmt.BindText(1, user_id).BindText(2, url);
  META_TRY(stmt.Run());
  if (stmt.Changes() == 0) return MakeError(Errc::kNotFound, "user " + user_id + " has no webhook " + url);
  return Status::Ok();
}

Status InsertNotice(Db& db, const DeletionNotice& notice) {
  META_ASSIGN_OR_RETURN(const bool taken, RowExists(db, "SELECT 1 FROM deletion_notices WHERE notice_id = ?1",
                                                 notice.notice_id));
  if (taken) return MakeError(Errc::kAlreadyExists, "deletion notice " + notice.notice_id + " exists");
  Stmt insert = db.Prepare(R"sql(
INSERT INTO deletion_notices (notice_id, scope, target, reason, issued_by, issued_unix_ms, effective_unix_ms,
                              ledger_index, state)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'waiting'))sql");
  insert.BindText(1, notice.notice_id).BindText(2, notice.scope).BindText(3, notice.target);
  insert.BindText(4, notice.reason).BindText(5, notice.issued_by).BindInt(6, notice.issued_unix_ms);
  insert.BindInt(7, notice.effective_unix_ms).BindInt(8, static_cast<int64_t>(notice.ledger_index));
  META_TRY(insert.Run());
  for (const NoticeDelivery& delivery : notice.deliveries) {
    Stmt add = db.Prepare(
        "INSERT OR IGNORE INTO notice_deliveries (notice_id, url, next_attempt_unix_ms) VALUES (?1, ?2, ?3)");
    add.BindText(1, notice.notice_id).BindText(2, delivery.url).BindInt(3, notice.issued_unix_ms);
    META_TRY(add.Run());
  }
  return Status::Ok();
}

Result<std::vector<DeletionNotice>> LoadNotices(Db& db, bool waiting_only) {
  std::string sql =
      "SELECT notice_id, scope, target, reason, issued_by, issued_unix_ms, effective_unix_ms, ledger_index, "
      "state, outcome, finished_unix_ms FROM deletion_notices";
  if (waiting_only) sql += " WHERE state = 'waiting'";
  sql += " ORDER BY issued_unix_ms DESC, notice_id";
  Stmt stmt = db.Prepare(sql.c_str());
  std::vector<DeletionNotice> notices;
  while (true) {
    META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) break;
    DeletionNotice notice;
    notice.notice_id = stmt.ColumnText(0);
    notice.scope = stmt.ColumnText(1);
    notice.target = stmt.ColumnText(2);
    notice.reason = stmt.ColumnText(3);
    notice.issued_by = stmt.ColumnText(4);
    notice.issued_unix_ms = stmt.ColumnInt(5);
    notice.effective_unix_ms = stmt.ColumnInt(6);
    notice.ledger_index = static_cast<uint64_t>(stmt.ColumnInt(7));
    notice.state = ParseNoticeState(stmt.ColumnText(8));
    notice.outcome = stmt.ColumnText(9);
    notice.finished_unix_ms = stmt.ColumnInt(10);
    notices.push_back(std::move(notice));
  }
  for (DeletionNotice& notice : notices) {
    Stmt deliveries = db.Prepare(
        "SELECT url, attempts, next_attempt_unix_ms, delivered_unix_ms, last_result FROM notice_deliveries "
        "WHERE notice_id = ?1 ORDER BY url");
    deliveries.BindText(1, notice.notice_id);
    while (true) {
      META_ASSIGN_OR_RETURN(const bool has_row, deliveries.Step());
      if (!has_row) break;
      NoticeDelivery delivery;
      delivery.url = deliveries.ColumnText(0);
      delivery.attempts = static_cast<int>(deliveries.ColumnInt(1));
      delivery.next_attempt_unix_ms = deliveries.ColumnInt(2);
      delivery.delivered_unix_ms = deliveries.ColumnInt(3);
      delivery.last_result = deliveries.ColumnText(4);
      notice.deliveries.push_back(std::move(delivery));
    }
  }
  return notices;
}

Status UpdateDelivery(Db& db, const std::string& notice_id, const std::string& url, bool delivered,
                      const std::string& result, int64_t now_unix_ms, int64_t next_attempt_unix_ms) {
  Stmt stmt = db.Prepare(R"sql(
UPDATE notice_deliveries SET attempts = attempts + 1, last_result = ?3,
  delivered_unix_ms = CASE WHEN ?4 THEN ?5 ELSE 0 END, next_attempt_unix_ms = ?6
WHERE notice_id = ?1 AND url = ?2 AND delivered_unix_ms = 0)sql");
  stmt.BindText(1, notice_id).BindText(2, url).BindText(3, result).BindInt(4, delivered ? 1 : 0);
  stmt.BindInt(5, std::max<int64_t>(now_unix_ms, 1)).BindInt(6, next_attempt_unix_ms);
  META_TRY(stmt.Run());
  if (stmt.Changes() == 0) {
    return MakeError(Errc::kNotFound, "deletion notice " + notice_id + " has no undelivered recipient " + url);
  }
  return Status::Ok();
}

Status UpdateNoticeOutcome(Db& db, const std::string& notice_id, NoticeState state, const std::string& outcome,
                           int64_t now_unix_ms) {
  Stmt current = db.Prepare("SELECT state FROM deletion_notices WHERE notice_id = ?1");
  current.BindText(1, notice_id);
  META_ASSIGN_OR_RETURN(const bool has_row, current.Step());
  if (!has_row) return MakeError(Errc::kNotFound, "no deletion notice " + notice_id);
  if (current.ColumnText(0) != "waiting") {
    return MakeError(Errc::kConflict, "deletion notice " + notice_id + " is " + current.ColumnText(0));
  }
  Stmt stmt = db.Prepare(
      "UPDATE deletion_notices SET state = ?2, outcome = ?3, finished_unix_ms = ?4 WHERE notice_id = ?1");
  stmt.BindText(1, notice_id).BindText(2, NoticeStateName(state)).BindText(3, outcome);
  stmt.BindInt(4, state == NoticeState::kWaiting ? 0 : now_unix_ms);
  return stmt.Run();
}

Status ClaimNotice(Db& db, const std::string& notice_id, const std::string& outcome, int64_t now_unix_ms) {
  return UpdateNoticeOutcome(db, notice_id, NoticeState::kExecuted, outcome, now_unix_ms);
}

Result<UserDataDeletion> RemoveUserData(Db& db, const std::string& user_id, int64_t now_unix_ms,
                                        const std::string& notice_id) {
  UserDataDeletion done;
  std::vector<std::string> buckets;
  {
    Stmt stmt = db.Prepare("SELECT name FROM buckets WHERE owner_id = ?1 ORDER BY name");
    stmt.BindText(1, user_id);
    while (true) {
      META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
      if (!has_row) break;
      buckets.push_back(stmt.ColumnText(0));
    }
  }
  for (const std::string& bucket : buckets) {
    META_ASSIGN_OR_RETURN(const bool writing,
                          RowExists(db, "SELECT 1 FROM pending_writes WHERE bucket = ?1", bucket));
    if (writing) {
      return MakeError(Errc::kConflict, "a write is in flight in bucket " + bucket + "; try again when it ends");
    }
    META_ASSIGN_OR_RETURN(const std::vector<std::string> uploads, UploadIdsInBucket(db, bucket));
    for (const std::string& upload_id : uploads) {
      META_TRY(RemoveUpload(db, upload_id, now_unix_ms));
      ++done.uploads;
    }
    // Parts go with their multipart version (RemoveVersion), so only the
    // rows a listing would show are removed here, each through the guard.
    std::vector<std::pair<std::string, uint64_t>> versions;
    {
      Stmt stmt = db.Prepare(
          "SELECT version_id, size_bytes FROM object_versions WHERE bucket = ?1 AND kind != 'part' "
          "ORDER BY version_id");
      stmt.BindText(1, bucket);
      while (true) {
        META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
        if (!has_row) break;
        versions.emplace_back(stmt.ColumnText(0), static_cast<uint64_t>(stmt.ColumnInt(1)));
      }
    }
    for (const auto& [version_id, size] : versions) {
      META_TRY(RemoveVersion(db, version_id, now_unix_ms));
      ++done.versions;
      done.bytes += size;
    }
    Stmt remove = db.Prepare("DELETE FROM buckets WHERE name = ?1");
    remove.BindText(1, bucket);
    META_TRY(remove.Run());
    ++done.buckets;
  }
  for (const char* sql : {"DELETE FROM access_keys WHERE user_id = ?1", "DELETE FROM users WHERE user_id = ?1",
                          "DELETE FROM user_webhooks WHERE user_id = ?1"}) {
    Stmt stmt = db.Prepare(sql);
    stmt.BindText(1, user_id);
    META_TRY(stmt.Run());
  }
  META_TRY(RemoveWebData(db, user_id));
  if (!notice_id.empty()) {
    // A notice cancelled meanwhile refuses the whole deletion.
    META_TRY(ClaimNotice(db, notice_id,
                         "deleted user " + user_id + ": " + std::to_string(done.versions) + " version(s), " +
                             std::to_string(done.bytes) + " bytes, " + std::to_string(done.buckets) +
                             " bucket(s), " + std::to_string(done.uploads) + " upload(s)",
                         now_unix_ms));
  }
  return done;
}

Status CheckCopyDeletable(Db& db, const std::string& version_id, int shard_index, const std::string& node_id) {
  for (const char* sql : {"SELECT 1 FROM shards WHERE version_id = ?1 AND shard_index = ?2 AND node_id = ?3",
                          "SELECT 1 FROM pending_shards WHERE version_id = ?1 AND shard_index = ?2 AND node_id = ?3"}) {
    Stmt stmt = db.Prepare(sql);
    stmt.BindText(1, version_id).BindInt(2, shard_index).BindText(3, node_id);
    META_ASSIGN_OR_RETURN(const bool live, stmt.Step());
    if (live) {
      return MakeError(Errc::kConflict, "shard " + std::to_string(shard_index) + " of version " + version_id +
                                            " on node " + node_id + " is the copy the catalogue records");
    }
  }
  Stmt held = db.Prepare(R"sql(
SELECT h.hold_id, h.scope, h.target, h.case_reference FROM holds AS h
WHERE h.released_unix_ms = 0 AND ((h.scope = 'version' AND h.target = ?1) OR
  EXISTS (SELECT 1 FROM hold_versions AS hv WHERE hv.version_id = ?1 AND hv.hold_id = h.hold_id))
LIMIT 1)sql");
  held.BindText(1, version_id);
  META_ASSIGN_OR_RETURN(const bool is_held, held.Step());
  if (!is_held) return Status::Ok();
  return Locked("version " + version_id + " is covered by " +
                HoldLabel(held.ColumnText(0), held.ColumnText(1), held.ColumnText(2), held.ColumnText(3)));
}

}  // namespace sqlite
}  // namespace holdfast::meta
