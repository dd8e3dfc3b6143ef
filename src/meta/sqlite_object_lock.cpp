#include "meta/sqlite_object_lock.h"

#include <chrono>
#include <cstdio>
#include <optional>

#include "meta/sqlite_holds.h"
#include "meta/sqlite_rows.h"
#include "meta/sqlite_versions.h"

namespace holdfast::meta::sqlite {
namespace {

constexpr int64_t kDayMs = int64_t{86'400'000};
// S3 counts a default-retention year as 365 days.
constexpr int64_t kYearMs = 365 * kDayMs;
// Upper bounds keep retain-until far inside int64 milliseconds; S3's own
// limit is 100 years.
constexpr int kMaxDefaultDays = 36'500;
constexpr int kMaxDefaultYears = 100;

Error Locked(std::string message) { return MakeError(Errc::kLocked, std::move(message)); }
Error Invalid(std::string message) { return MakeError(Errc::kInvalidArgument, std::move(message)); }

Result<RetentionMode> ParseRetentionMode(const std::string& text) {
  if (text.empty()) return RetentionMode::kNone;
  if (text == "GOVERNANCE") return RetentionMode::kGovernance;
  if (text == "COMPLIANCE") return RetentionMode::kCompliance;
  return MakeError(Errc::kCorrupt, "sqlite: unknown retention mode '" + text + "'");
}

const char* LegalHoldText(LegalHold hold) {
  switch (hold) {
    case LegalHold::kNone:
      return "";
    case LegalHold::kOn:
      return "ON";
    case LegalHold::kOff:
      return "OFF";
  }
  return "";
}

Result<LegalHold> ParseLegalHold(const std::string& text) {
  if (text.empty()) return LegalHold::kNone;
  if (text == "ON") return LegalHold::kOn;
  if (text == "OFF") return LegalHold::kOff;
  return MakeError(Errc::kCorrupt, "sqlite: unknown legal hold '" + text + "'");
}

// What the guard needs to know about one version row.
struct LockedRow {
  bool found = false;  // false: no such version
  std::string bucket;
  std::string key;
  VersionKind kind = VersionKind::kObject;
  bool null_version = false;
  ObjectLock lock;
};

Result<LockedRow> LoadLockedRow(Db& db, const std::string& version_id) {
  Stmt stmt = db.Prepare(R"sql(
SELECT bucket, key, kind, null_version, retention_mode, retain_until_unix_ms, legal_hold
FROM object_versions WHERE version_id = ?1)sql");
  stmt.BindText(1, version_id);
  META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  LockedRow row;
  if (!has_row) return row;
  row.found = true;
  row.bucket = stmt.ColumnText(0);
  row.key = stmt.ColumnText(1);
  META_ASSIGN_OR_RETURN(row.kind, ParseVersionKind(stmt.ColumnText(2)));
  row.null_version = stmt.ColumnInt(3) != 0;
  META_ASSIGN_OR_RETURN(row.lock.mode, ParseRetentionMode(stmt.ColumnText(4)));
  row.lock.retain_until_unix_ms = stmt.ColumnInt(5);
  META_ASSIGN_OR_RETURN(row.lock.legal_hold, ParseLegalHold(stmt.ColumnText(6)));
  return row;
}

bool RetentionActive(const ObjectLock& lock, int64_t now_unix_ms) {
  return lock.mode != RetentionMode::kNone && lock.retain_until_unix_ms > now_unix_ms;
}

std::string Describe(const std::string& version_id, const LockedRow& row) {
  return "version " + (row.null_version ? std::string("null") : version_id) + " of " + row.bucket +
         "/" + row.key;
}

Error GovernanceLocked(const std::string& what, const std::string& until) {
  return Locked(what + " is under GOVERNANCE retention until " + until +
                "; only a user allowed to bypass governance retention can delete it, with "
                "x-amz-bypass-governance-retention: true");
}

// The S3 id of the version named `s3_version_id` of (bucket, key) with its
// row; kNotFound, or kInvalidArgument for a delete marker or a bucket
// without Object Lock.
Result<std::pair<std::string, LockedRow>> FindLockable(Db& db, const std::string& bucket,
                                                       const std::string& key,
                                                       const std::string& s3_version_id) {
  META_ASSIGN_OR_RETURN(const BucketObjectLock bucket_lock, LoadBucketObjectLock(db, bucket));
  if (!bucket_lock.enabled) return Invalid("bucket " + bucket + " has no Object Lock configuration");
  META_ASSIGN_OR_RETURN(const std::optional<std::string> id, FindVersionId(db, bucket, key, s3_version_id));
  if (!id) {
    return MakeError(Errc::kNotFound, "no version " + s3_version_id + " of " + key + " in bucket " + bucket);
  }
  META_ASSIGN_OR_RETURN(LockedRow row, LoadLockedRow(db, *id));
  if (!row.found) return MakeError(Errc::kNotFound, "no version " + *id);
  if (row.kind == VersionKind::kDeleteMarker) return Invalid("a delete marker cannot be locked");
  return std::make_pair(*id, std::move(row));
}

}  // namespace

const char* RetentionModeText(RetentionMode mode) {
  switch (mode) {
    case RetentionMode::kNone:
      return "";
    case RetentionMode::kGovernance:
      return "GOVERNANCE";
    case RetentionMode::kCompliance:
      return "COMPLIANCE";
  }
  return "";
}

std::string FormatUtc(int64_t unix_ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> time{milliseconds(unix_ms)};
  const sys_days day = floor<days>(time);
  const year_month_day ymd(day);
  const int64_t ms_of_day = (time - day).count();
  char buffer[48];
  int n = std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
                        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                        static_cast<int>(ms_of_day / 3'600'000), static_cast<int>(ms_of_day / 60'000 % 60),
                        static_cast<int>(ms_of_day / 1000 % 60));
  if (ms_of_day % 1000 != 0 && n > 0) {
    std::snprintf(buffer + n, sizeof buffer - static_cast<size_t>(n), ".%03d",
                  static_cast<int>(ms_of_day % 1000));
  }
  return std::string(buffer) + "Z";
}

// ---- The guard ---------------------------------------------------------------

Status CheckVersionRemovable(Db& db, const std::string& version_id, int64_t now_unix_ms,
                             LockBypass bypass) {
  META_ASSIGN_OR_RETURN(const LockedRow row, LoadLockedRow(db, version_id));
  if (!row.found) return Status::Ok();
  if (row.kind == VersionKind::kPart) {
    // A part of a completed multipart version shares that version's fate.
    // (Removing the version itself unlinks its parts first, so this only
    // refuses a removal of the part alone.)
    std::string owner_id;
    {
      Stmt owner = db.Prepare("SELECT owner_id FROM object_parts WHERE part_version_id = ?1");
      owner.BindText(1, version_id);
      META_ASSIGN_OR_RETURN(const bool has_owner, owner.Step());
      if (has_owner) owner_id = owner.ColumnText(0);
    }
    if (!owner_id.empty()) return CheckVersionRemovable(db, owner_id, now_unix_ms, bypass);
    // A part of an upload in progress (or being unlinked from a version
    // that passed this guard already): Object Lock applies only once the
    // upload completes, holds apply now.
    return CheckHolds(db, version_id, row.bucket, "part " + version_id + " of an upload to " + row.bucket + "/" + row.key);
  }
  const ObjectLock& lock = row.lock;
  // Every kind of protection is checked here, legal hold first: it blocks
  // whatever the retention says.
  if (lock.legal_hold == LegalHold::kOn) {
    return Locked(Describe(version_id, row) + " is under legal hold; it cannot be deleted until the hold is released");
  }
  if (RetentionActive(lock, now_unix_ms)) {
    const std::string until = FormatUtc(lock.retain_until_unix_ms);
    if (lock.mode == RetentionMode::kCompliance) {
      return Locked(Describe(version_id, row) + " is under COMPLIANCE retention until " + until +
                    "; nobody can delete it before then");
    }
    if (bypass != LockBypass::kGovernance) return GovernanceLocked(Describe(version_id, row), until);
  }
  // Operator holds (docs/holds.md): nothing bypasses them.
  return CheckHolds(db, version_id, row.bucket, Describe(version_id, row));
}

// ---- Versions ------------------------------------------------------------------

Result<ObjectLock> LoadObjectLock(Db& db, const std::string& version_id) {
  META_ASSIGN_OR_RETURN(const LockedRow row, LoadLockedRow(db, version_id));
  return row.lock;
}

Status ApplyObjectLockOnCommit(Db& db, const ObjectVersion& version) {
  META_ASSIGN_OR_RETURN(const BucketObjectLock bucket_lock, LoadBucketObjectLock(db, version.bucket));
  ObjectLock lock = version.lock;
  if (!bucket_lock.enabled) {
    if (!lock.empty()) return Invalid("bucket " + version.bucket + " has no Object Lock configuration");
    return Status::Ok();
  }
  const DefaultRetention& fallback = bucket_lock.default_retention;
  if (lock.mode == RetentionMode::kNone && fallback.mode != RetentionMode::kNone) {
    lock.mode = fallback.mode;
    lock.retain_until_unix_ms = version.created_unix_ms + fallback.days * kDayMs + fallback.years * kYearMs;
  }
  if (lock.empty()) return Status::Ok();
  Stmt stmt = db.Prepare(
      "UPDATE object_versions SET retention_mode = ?2, retain_until_unix_ms = ?3, legal_hold = ?4 "
      "WHERE version_id = ?1");
  stmt.BindText(1, version.version_id)
      .BindText(2, RetentionModeText(lock.mode))
      .BindInt(3, lock.mode == RetentionMode::kNone ? 0 : lock.retain_until_unix_ms)
      .BindText(4, LegalHoldText(lock.legal_hold));
  return stmt.Run();
}

Status SetRetention(Db& db, const std::string& bucket, const std::string& key,
                    const std::string& s3_version_id, RetentionMode mode, int64_t retain_until_unix_ms,
                    int64_t now_unix_ms, LockBypass bypass) {
  META_ASSIGN_OR_RETURN(const auto found, FindLockable(db, bucket, key, s3_version_id));
  const auto& [version_id, row] = found;
  if (mode != RetentionMode::kNone && retain_until_unix_ms <= now_unix_ms) {
    return Invalid("the retain-until date " + FormatUtc(retain_until_unix_ms) + " is not in the future");
  }
  const ObjectLock& current = row.lock;
  if (RetentionActive(current, now_unix_ms)) {
    const bool keeps_or_extends = mode == current.mode && retain_until_unix_ms >= current.retain_until_unix_ms;
    const std::string until = FormatUtc(current.retain_until_unix_ms);
    if (current.mode == RetentionMode::kCompliance && !keeps_or_extends) {
      return Locked(Describe(version_id, row) + " is under COMPLIANCE retention until " + until +
                    "; it can be extended, never shortened, removed or changed, by anyone");
    }
    if (current.mode == RetentionMode::kGovernance && !keeps_or_extends && bypass != LockBypass::kGovernance) {
      return Locked(Describe(version_id, row) + " is under GOVERNANCE retention until " + until +
                    "; only a user allowed to bypass governance retention can shorten, remove or change "
                    "it, with x-amz-bypass-governance-retention: true");
    }
  }
  Stmt stmt = db.Prepare(
      "UPDATE object_versions SET retention_mode = ?2, retain_until_unix_ms = ?3 WHERE version_id = ?1");
  stmt.BindText(1, version_id)
      .BindText(2, RetentionModeText(mode))
      .BindInt(3, mode == RetentionMode::kNone ? 0 : retain_until_unix_ms);
  return stmt.Run();
}

Status SetLegalHold(Db& db, const std::string& bucket, const std::string& key,
                    const std::string& s3_version_id, bool on) {
  META_ASSIGN_OR_RETURN(const auto found, FindLockable(db, bucket, key, s3_version_id));
  Stmt stmt = db.Prepare("UPDATE object_versions SET legal_hold = ?2 WHERE version_id = ?1");
  stmt.BindText(1, found.first).BindText(2, on ? "ON" : "OFF");
  return stmt.Run();
}

// ---- Multipart uploads ---------------------------------------------------------

Status SaveUploadLock(Db& db, const std::string& upload_id, const ObjectLock& lock) {
  Stmt stmt = db.Prepare(
      "UPDATE multipart_uploads SET retention_mode = ?2, retain_until_unix_ms = ?3, legal_hold = ?4 "
      "WHERE upload_id = ?1");
  stmt.BindText(1, upload_id)
      .BindText(2, RetentionModeText(lock.mode))
      .BindInt(3, lock.mode == RetentionMode::kNone ? 0 : lock.retain_until_unix_ms)
      .BindText(4, LegalHoldText(lock.legal_hold));
  return stmt.Run();
}

Result<ObjectLock> LoadUploadLock(Db& db, const std::string& upload_id) {
  Stmt stmt = db.Prepare(
      "SELECT retention_mode, retain_until_unix_ms, legal_hold FROM multipart_uploads WHERE upload_id = ?1");
  stmt.BindText(1, upload_id);
  META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  ObjectLock lock;
  if (!has_row) return lock;
  META_ASSIGN_OR_RETURN(lock.mode, ParseRetentionMode(stmt.ColumnText(0)));
  lock.retain_until_unix_ms = stmt.ColumnInt(1);
  META_ASSIGN_OR_RETURN(lock.legal_hold, ParseLegalHold(stmt.ColumnText(2)));
  return lock;
}

// ---- Buckets -------------------------------------------------------------------

Result<BucketObjectLock> LoadBucketObjectLock(Db& db, const std::string& bucket) {
  Stmt stmt = db.Prepare(
      "SELECT object_lock_enabled, lock_default_mode, lock_default_days, lock_default_years "
      "FROM buckets WHERE name = ?1");
  stmt.BindText(1, bucket);
  META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) return MakeError(Errc::kNotFound, "bucket " + bucket + " does not exist");
  BucketObjectLock lock;
  lock.enabled = stmt.ColumnInt(0) != 0;
  META_ASSIGN_OR_RETURN(lock.default_retention.mode, ParseRetentionMode(stmt.ColumnText(1)));
  lock.default_retention.days = static_cast<int>(stmt.ColumnInt(2));
  lock.default_retention.years = static_cast<int>(stmt.ColumnInt(3));
  return lock;
}

Status EnableObjectLockOnNewBucket(Db& db, const std::string& bucket) {
  Stmt stmt = db.Prepare("UPDATE buckets SET object_lock_enabled = 1, versioning = 'Enabled' WHERE name = ?1");
  stmt.BindText(1, bucket);
  return stmt.Run();
}

Status PutBucketObjectLock(Db& db, const std::string& bucket, const DefaultRetention& fallback) {
  if (fallback.mode == RetentionMode::kNone) {
    if (fallback.days != 0 || fallback.years != 0) return Invalid("a default retention period needs a mode");
  } else if ((fallback.days > 0) == (fallback.years > 0) || fallback.days < 0 || fallback.years < 0) {
    return Invalid("a default retention has exactly one positive period, days or years");
  } else if (fallback.days > kMaxDefaultDays || fallback.years > kMaxDefaultYears) {
    return Invalid("a default retention period is at most 100 years");
  }
  META_ASSIGN_OR_RETURN(const BucketObjectLock current, LoadBucketObjectLock(db, bucket));
  if (!current.enabled) {
    META_ASSIGN_OR_RETURN(const Versioning versioning, LoadBucketVersioning(db, bucket));
    if (versioning != Versioning::kEnabled) {
      return MakeError(Errc::kConflict,
                       "versioning of bucket " + bucket + " must be Enabled to turn on Object Lock");
    }
  }
  Stmt stmt = db.Prepare(
      "UPDATE buckets SET object_lock_enabled = 1, lock_default_mode = ?2, lock_default_days = ?3, "
      "lock_default_years = ?4 WHERE name = ?1");
  stmt.BindText(1, bucket)
      .BindText(2, RetentionModeText(fallback.mode))
      .BindInt(3, fallback.days)
      .BindInt(4, fallback.years);
  return stmt.Run();
}

Status CheckVersioningChange(Db& db, const std::string& bucket, Versioning versioning) {
  META_ASSIGN_OR_RETURN(const BucketObjectLock lock, LoadBucketObjectLock(db, bucket));
  if (lock.enabled && versioning != Versioning::kEnabled) {
    return MakeError(Errc::kConflict,
                     "bucket " + bucket + " has Object Lock enabled: its versioning cannot be suspended");
  }
  return Status::Ok();
}

// ---- Users ---------------------------------------------------------------------

Status SetUserBypass(Db& db, const std::string& user_id, bool allowed) {
  Stmt stmt = db.Prepare(R"sql(
INSERT INTO users (user_id, may_bypass_governance) VALUES (?1, ?2)
ON CONFLICT (user_id) DO UPDATE SET may_bypass_governance = excluded.may_bypass_governance)sql");
  stmt.BindText(1, user_id).BindInt(2, allowed ? 1 : 0);
  return stmt.Run();
}

Result<bool> LoadUserBypass(Db& db, const std::string& user_id) {
  Stmt stmt = db.Prepare("SELECT may_bypass_governance FROM users WHERE user_id = ?1");
  stmt.BindText(1, user_id);
  META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  return has_row && stmt.ColumnInt(0) != 0;
}

}  // namespace holdfast::meta::sqlite
