// The SQLite backend of MetaStore. Schema and commit protocol:
// docs/metadata-schema.md.
//
// Concurrency: one connection, guarded by one mutex; every public method
// holds the mutex for exactly one transaction (BEGIN IMMEDIATE for writes,
// a deferred BEGIN for reads). SQLite serialises writers anyway, so a pool
// would only let reads overlap a commit's fsync; WAL already keeps other
// processes' readers off the writer's back.
#include <algorithm>
#include <mutex>
#include <utility>

#include <nlohmann/json.hpp>

#include "meta/meta_store.h"
#include "meta/sqlite_db.h"
#include "meta/sqlite_list.h"
#include "meta/sqlite_drains.h"
#include "meta/sqlite_holds.h"
#include "meta/sqlite_web.h"
#include "meta/sqlite_ledger.h"
#include "meta/sqlite_multipart.h"
#include "meta/sqlite_object_lock.h"
#include "meta/sqlite_rows.h"
#include "meta/sqlite_schema.h"
#include "meta/sqlite_shards.h"
#include "meta/sqlite_versions.h"

namespace holdfast::meta {
namespace {

using sqlite::Db;
using sqlite::Stmt;
using sqlite::Txn;

Error NotFound(std::string message) { return MakeError(Errc::kNotFound, std::move(message)); }

Status CheckLimit(int limit) {
  if (limit < 0) return MakeError(Errc::kInvalidArgument, "limit must not be negative");
  return Status::Ok();
}

Bucket ReadBucket(const Stmt& row) {
  Bucket bucket;
  bucket.name = row.ColumnText(0);
  bucket.owner_id = row.ColumnText(1);
  bucket.region = row.ColumnText(2);
  bucket.created_unix_ms = row.ColumnInt(3);
  bucket.versioning = sqlite::ParseVersioning(row.ColumnText(4));
  bucket.object_lock_enabled = row.ColumnInt(5) != 0;
  bucket.policy = row.ColumnText(6);
  return bucket;
}

Result<bool> VersionExists(Db& db, const std::string& version_id) {
  Stmt stmt = db.Prepare("SELECT 1 FROM object_versions WHERE version_id = ?1");
  stmt.BindText(1, version_id);
  return stmt.Step();
}

Result<bool> PendingWriteExists(Db& db, const std::string& version_id) {
  Stmt stmt = db.Prepare("SELECT 1 FROM pending_writes WHERE version_id = ?1");
  stmt.BindText(1, version_id);
  return stmt.Step();
}

// kPreconditionFailed unless `condition` holds for the key's current
// version, read in the caller's write transaction (so no other commit can
// slip in between the check and the caller's insert).
Status CheckWriteCondition(Db& db, const std::string& bucket, const std::string& key,
                           const WriteCondition& condition) {
  if (condition.empty()) return Status::Ok();
  META_ASSIGN_OR_RETURN(const std::optional<std::string> current, sqlite::CurrentVersionId(db, bucket, key));
  std::optional<std::string> etag;
  if (current) {
    Stmt stmt = db.Prepare("SELECT etag, kind FROM object_versions WHERE version_id = ?1");
    stmt.BindText(1, *current);
    META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (has_row && stmt.ColumnText(1) != "delete_marker") etag = stmt.ColumnText(0);
  }
  if (condition.if_none_match && etag) {
    return MakeError(Errc::kPreconditionFailed, "If-None-Match: " + key + " exists (written meanwhile)");
  }
  if (!condition.if_match_etags.empty()) {
    if (!etag) return MakeError(Errc::kPreconditionFailed, "If-Match: " + key + " has no current object");
    const auto& etags = condition.if_match_etags;
    if (std::find(etags.begin(), etags.end(), "*") == etags.end() &&
        std::find(etags.begin(), etags.end(), *etag) == etags.end()) {
      return MakeError(Errc::kPreconditionFailed, "If-Match: " + key + " has ETag " + *etag + " now");
    }
  }
  return Status::Ok();
}

class SqliteStore final : public MetaStore {
 public:
  SqliteStore(std::unique_ptr<Db> db, std::filesystem::path path, const Clock& clock)
      : db_(std::move(db)), path_(std::move(path)), clock_(clock) {}

  Status CreateBucket(const Bucket& bucket) override;
  Result<Bucket> GetBucket(const std::string& name) override;
  Result<std::vector<Bucket>> ListBuckets(const std::string& owner_id) override;
  Status DeleteBucket(const std::string& name) override;
  Status SetBucketPolicy(const std::string& bucket, const std::string& policy_json) override;

  Status BeginWrite(const PendingWrite& pending) override;
  Result<CommitOutcome> CommitObject(const ObjectVersion& version, const WriteCondition& condition) override;
  Status AbortWrite(const std::string& version_id) override;
  Result<std::vector<PendingWrite>> ExpiredPendingWrites(int64_t started_before_unix_ms,
                                                         int limit) override;

  Status SetBucketVersioning(const std::string& bucket, Versioning versioning) override;
  Result<ObjectVersion> GetObject(const std::string& bucket, const std::string& key) override;
  Result<ObjectVersion> GetObjectVersion(const std::string& bucket, const std::string& key,
                                         const std::string& s3_version_id) override;
  Result<DeleteOutcome> DeleteObject(const std::string& bucket, const std::string& key,
                                     const std::string& marker_version_id, int64_t now_unix_ms) override;
  Result<DeleteOutcome> DeleteObjectVersion(const std::string& bucket, const std::string& key,
                                            const std::string& s3_version_id, LockBypass bypass) override;
  Result<VersionListResult> ListObjectVersions(const std::string& bucket,
                                               const VersionListQuery& query) override;
  Result<ListResult> ListObjects(const std::string& bucket, const ListQuery& query) override;

  Result<std::vector<ShardRef>> ShardsOnNode(const std::string& node_id, const ShardRef& after,
                                             int limit) override;
  Status SetShardState(const std::string& version_id, int shard_index, const std::string& node_id,
                       ShardState state) override;
  Result<std::vector<std::string>> ShardedVersionIds(const std::string& after, int limit) override;
  Result<std::vector<std::string>> UnderProtectedVersions(int limit) override;
  Result<ObjectVersion> GetVersion(const std::string& version_id) override;
  Result<int> MoveShards(const std::vector<ShardMove>& moves) override;
  Result<std::vector<DamagedVersion>> DamagedVersions(const std::optional<DamagedVersion>& after,
                                                      int limit) override;
  Result<int64_t> CountUnderProtectedVersions(
      const std::vector<std::string>& lost_node_ids) override;

  Result<std::vector<GcItem>> NextGcItems(int64_t after_id, int limit) override;
  Status CompleteGcItem(int64_t id) override;

  Status UpsertNode(const NodeRecord& node) override;
  Result<std::vector<NodeRecord>> ListNodes() override;

  Status CreateMultipartUpload(const MultipartUpload& upload) override;
  Result<MultipartUpload> GetMultipartUpload(const std::string& upload_id) override;
  Status CommitPart(const std::string& upload_id, int part_number, const ObjectVersion& part) override;
  Result<std::vector<UploadedPartRecord>> ListParts(const std::string& upload_id,
                                                    int after_part_number, int limit) override;
  Result<UploadListResult> ListMultipartUploads(const std::string& bucket,
                                                const UploadListQuery& query) override;
  Result<CommitOutcome> CompleteMultipartUpload(const ObjectVersion& version,
                                                const std::vector<std::pair<int, std::string>>& parts,
                                                const WriteCondition& condition) override;
  Status AbortMultipartUpload(const std::string& upload_id) override;
  Result<std::vector<MultipartUpload>> ExpiredMultipartUploads(int64_t initiated_before_unix_ms,
                                                               int limit) override;

  Status PutAccessKey(const AccessKey& key) override;
  Result<AccessKey> GetAccessKey(const std::string& access_key_id) override;
  Result<std::vector<AccessKey>> ListAccessKeys(const std::string& user_id) override;
  Status DeleteAccessKey(const std::string& user_id, const std::string& access_key_id) override;

  // Web accounts, sessions and share links (meta/sqlite_web.h).
  Status SignUp(const WebAccount& account, const Bucket& home_bucket) override;
  Status PutWebAccount(const WebAccount& account) override;
  Result<WebAccount> GetWebAccount(const std::string& user_id) override;
  Status CreateWebSession(const WebSession& session) override;
  Result<WebSession> GetWebSession(const std::string& token_sha256, int64_t now_unix_ms) override;
  Status DeleteWebSession(const std::string& token_sha256, int64_t now_unix_ms) override;
  Status CreateShareLink(const ShareLink& link) override;
  Result<ShareLink> GetShareLink(const std::string& link_id) override;
  Result<std::vector<ShareLink>> ListShareLinks(const std::string& owner_id, int limit) override;
  Status RevokeShareLink(const std::string& owner_id, const std::string& link_id, int64_t now_unix_ms) override;
  Status CountShareLinkDownload(const std::string& link_id) override;
  Result<std::vector<BucketUsage>> UsageOfUser(const std::string& user_id) override;

  // Object Lock (sqlite_object_lock.h).
  Result<BucketObjectLock> GetBucketObjectLock(const std::string& bucket) override;
  Status PutBucketObjectLock(const std::string& bucket, const DefaultRetention& default_retention) override;
  Status SetObjectRetention(const std::string& bucket, const std::string& key,
                            const std::string& s3_version_id, RetentionMode mode,
                            int64_t retain_until_unix_ms, LockBypass bypass) override;
  Status SetObjectLegalHold(const std::string& bucket, const std::string& key,
                            const std::string& s3_version_id, bool on) override;
  Status SetUserMayBypassGovernance(const std::string& user_id, bool allowed) override;
  Result<bool> UserMayBypassGovernance(const std::string& user_id) override;

  // Reporting.
  Result<std::map<int, int64_t>> CountVersionsBySpareShards(
      const std::vector<std::string>& unavailable_node_ids) override;
  Result<int64_t> CountGcQueue() override;

  Status BackupTo(const std::filesystem::path& file) override;
  Status ImportFrom(const std::filesystem::path& file) override;

  Result<std::vector<Drain>> ListDrains() override;
  Status StartDrain(DrainScope scope, const std::string& name, int64_t now_unix_ms) override;
  Status CancelDrain(DrainScope scope, const std::string& name) override;
  Result<NodeContents> CountNodeContents(const std::vector<std::string>& node_ids) override;
  Result<NodeContents> RetireDrain(DrainScope scope, const std::string& name,
                                   const std::vector<std::string>& node_ids, int64_t now_unix_ms,
                                   const std::string& notice_id) override;

  // Holds, webhooks and deletion notices (meta/sqlite_holds.h).
  Result<Hold> PlaceHold(const Hold& hold) override;
  Result<Hold> ReleaseHold(const std::string& hold_id, const std::string& released_by, const std::string& reason,
                           int64_t now_unix_ms) override;
  Result<std::vector<Hold>> ListHolds(bool include_released) override;
  Result<std::vector<std::string>> UserWebhooks(const std::string& user_id) override;
  Status AddUserWebhook(const std::string& user_id, const std::string& url) override;
  Status RemoveUserWebhook(const std::string& user_id, const std::string& url) override;
  Status CreateDeletionNotice(const DeletionNotice& notice) override;
  Result<std::vector<DeletionNotice>> ListDeletionNotices(bool waiting_only) override;
  Status RecordNoticeDelivery(const std::string& notice_id, const std::string& url, bool delivered,
                              const std::string& result, int64_t now_unix_ms,
                              int64_t next_attempt_unix_ms) override;
  Status SetNoticeOutcome(const std::string& notice_id, NoticeState state, const std::string& outcome,
                          int64_t now_unix_ms) override;
  Result<UserDataDeletion> DeleteUserData(const std::string& user_id, int64_t now_unix_ms,
                                          const std::string& notice_id) override;
  Status CheckShardCopyDeletable(const std::string& version_id, int shard_index,
                                 const std::string& node_id) override;

  // The notice ledger (meta/sqlite_ledger.h).
  Status AppendLedgerEntry(const LedgerEntryRecord& entry,
                           const std::vector<LedgerNodeRecord>& completed_nodes) override;
  Result<uint64_t> LedgerSize() override;
  Result<std::vector<LedgerEntryRecord>> LedgerEntries(uint64_t first, int limit) override;
  Result<std::vector<std::string>> LedgerSubtreeHashes(const std::vector<LedgerNodeId>& ids) override;
  Result<LedgerTreeHeadRecord> AddLedgerTreeHead(const LedgerTreeHeadRecord& head) override;
  Result<std::optional<LedgerTreeHeadRecord>> LatestLedgerTreeHead() override;
  Result<std::optional<LedgerTreeHeadRecord>> LedgerTreeHeadOfSize(uint64_t tree_size) override;
  Result<std::vector<LedgerTreeHeadRecord>> LedgerTreeHeads(int64_t after_seq, int limit) override;

 private:
  // Runs `body(db)` as one transaction under the mutex; commits only if it
  // returned a value (or Ok).
  // Durability of one transaction. kFull fsyncs the WAL at commit. kDeferred
  // leaves it to the next kFull commit (or checkpoint): it survives a process
  // crash, and on power loss only the deferred transactions can be lost.
  enum class Sync { kFull, kDeferred };

  template <typename Body>
  auto Transact(Txn::Mode mode, Body&& body, Sync sync = Sync::kFull)
      -> decltype(body(std::declval<Db&>())) {
    std::lock_guard lock(mu_);
    META_TRY(SetSync(sync));
    Txn txn(*db_);
    META_TRY(txn.Begin(mode));
    auto result = body(*db_);
    if (!result.ok()) return result;  // the Txn destructor rolls back
    META_TRY(txn.Commit());
    return result;
  }

  Status SetSync(Sync sync) {
    if (sync == sync_) return Status::Ok();
    META_TRY(db_->ExecScript(sync == Sync::kFull ? "PRAGMA synchronous=FULL;"
                                                 : "PRAGMA synchronous=NORMAL;"));
    sync_ = sync;
    return Status::Ok();
  }

  std::mutex mu_;
  std::unique_ptr<Db> db_;  // guarded by mu_
  const std::filesystem::path path_;
  Sync sync_ = Sync::kFull;  // guarded by mu_
  const Clock& clock_;
};

// --- Buckets ----------------------------------------------------------------

Status SqliteStore::CreateBucket(const Bucket& bucket) {
  if (bucket.name.empty()) return MakeError(Errc::kInvalidArgument, "bucket name is empty");
  return Transact(Txn::Mode::kWrite, [&](Db& db) -> Status {
    Status status = sqlite::InsertBucket(db, bucket);
    if (!status.ok() && status.error().code == Errc::kAlreadyExists) {
      return MakeError(Errc::kAlreadyExists, "bucket " + bucket.name + " already exists");
    }
    if (status.ok() && bucket.object_lock_enabled) return sqlite::EnableObjectLockOnNewBucket(db, bucket.name);
    return status;
  });
}

Result<Bucket> SqliteStore::GetBucket(const std::string& name) {
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<Bucket> {
    Stmt stmt =
        db.Prepare("SELECT name, owner_id, region, created_unix_ms, versioning, object_lock_enabled, "
                   "policy FROM buckets WHERE name = ?1");
    stmt.BindText(1, name);
    META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) return NotFound("bucket " + name + " does not exist");
    return ReadBucket(stmt);
  });
}

Result<std::vector<Bucket>> SqliteStore::ListBuckets(const std::string& owner_id) {
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<std::vector<Bucket>> {
    // Empty owner: every bucket (for operators and tools).
    Stmt stmt =
        db.Prepare(owner_id.empty() ? "SELECT name, owner_id, region, created_unix_ms, versioning, "
                                      "object_lock_enabled, policy FROM buckets ORDER BY name"
                                    : "SELECT name, owner_id, region, created_unix_ms, versioning, "
                                      "object_lock_enabled, policy FROM buckets WHERE owner_id = ?1 "
                                      "ORDER BY name");
    if (!owner_id.empty()) stmt.BindText(1, owner_id);
    std::vector<Bucket> buckets;
    while (true) {
      META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
      if (!has_row) return buckets;
      buckets.push_back(ReadBucket(stmt));
    }
  });
}

Status SqliteStore::SetBucketPolicy(const std::string& bucket, const std::string& policy_json) {
  return Transact(Txn::Mode::kWrite, [&](Db& db) -> Status {
    Stmt stmt = db.Prepare("UPDATE buckets SET policy = ?2 WHERE name = ?1");
    stmt.BindText(1, bucket).BindText(2, policy_json);
    META_TRY(stmt.Run());
    if (stmt.Changes() == 0) return NotFound("bucket " + bucket + " does not exist");
    return Status::Ok();
  });
}

Status SqliteStore::DeleteBucket(const std::string& name) {
  return Transact(Txn::Mode::kWrite, [&](Db& db) -> Status {
    META_ASSIGN_OR_RETURN(const bool exists, sqlite::BucketExists(db, name));
    if (!exists) return NotFound("bucket " + name + " does not exist");
    // Noncurrent versions and delete markers count: S3 deletes only a
    // bucket without any (one probe of object_versions_by_key).
    META_ASSIGN_OR_RETURN(const bool has_objects, sqlite::BucketHasVersions(db, name));
    Stmt pending = db.Prepare("SELECT 1 FROM pending_writes WHERE bucket = ?1 LIMIT 1");
    pending.BindText(1, name);
    META_ASSIGN_OR_RETURN(const bool has_pending, pending.Step());
    if (has_objects || has_pending) {
      return MakeError(Errc::kConflict, "bucket " + name + " is not empty");
    }
    // Uploads in progress are not objects: they go with the bucket, their
    // parts to GC (S3 lets an empty bucket be deleted over them too).
    META_ASSIGN_OR_RETURN(const std::vector<std::string> uploads, sqlite::UploadIdsInBucket(db, name));
    for (const std::string& upload_id : uploads) {
      META_TRY(sqlite::RemoveUpload(db, upload_id, clock_.NowUnixMs()));
    }
    Stmt remove = db.Prepare("DELETE FROM buckets WHERE name = ?1");
    remove.BindText(1, name);
    return remove.Run();
  });
}

// --- The write protocol -----------------------------------------------------

Status SqliteStore::BeginWrite(const PendingWrite& pending) {
  META_TRY(sqlite::ValidatePending(pending));
  return Transact(Txn::Mode::kWrite, [&](Db& db) -> Status {
    META_ASSIGN_OR_RETURN(const bool bucket_exists, sqlite::BucketExists(db, pending.bucket));
    if (!bucket_exists) return NotFound("bucket " + pending.bucket + " does not exist");
    META_ASSIGN_OR_RETURN(const bool committed, VersionExists(db, pending.version_id));
    if (committed) {
      return MakeError(Errc::kAlreadyExists, "version " + pending.version_id + " already exists");
    }
    Stmt stmt = db.Prepare(
        "INSERT INTO pending_writes (version_id, bucket, key, started_unix_ms) "
        "VALUES (?1, ?2, ?3, ?4)");
    stmt.BindText(1, pending.version_id)
        .BindText(2, pending.bucket)
        .BindText(3, pending.key)
        .BindInt(4, pending.started_unix_ms);
    META_TRY(stmt.Run());  // kAlreadyExists on a duplicate version id
    for (const ShardLocation& shard : pending.shards) {
      Stmt insert = db.Prepare(
          "INSERT INTO pending_shards (version_id, shard_index, node_id, state) "
          "VALUES (?1, ?2, ?3, ?4)");
      insert.BindText(1, pending.version_id)
          .BindInt(2, shard.shard_index)
          .BindText(3, shard.node_id)
          .BindText(4, sqlite::ShardStateText(shard.state));
      META_TRY(insert.Run());
    }
    return Status::Ok();
  },
                  // A pending write lost to a power cut leaves orphan shards
                  // (space, never data): it need not cost its own fsync. The
                  // commit that follows fsyncs the WAL and so this row too.
                  Sync::kDeferred);
}

Result<CommitOutcome> SqliteStore::CommitObject(const ObjectVersion& version, const WriteCondition& condition) {
  META_TRY(sqlite::ValidateVersion(version));
  if (version.kind != VersionKind::kObject) {
    return MakeError(Errc::kInvalidArgument, "CommitObject commits plain objects only");
  }
  const int64_t now_unix_ms = clock_.NowUnixMs();
  std::lock_guard lock(mu_);
  META_TRY(SetSync(Sync::kFull));
  Db& db = *db_;
  Txn txn(db);
  META_TRY(txn.Begin(Txn::Mode::kWrite));
  META_ASSIGN_OR_RETURN(const bool bucket_exists, sqlite::BucketExists(db, version.bucket));
  if (!bucket_exists) {
    // Abort the write in this same transaction so that its shards are not
    // leaked, then report the missing bucket.
    META_TRY(sqlite::RemovePendingWrite(db, version.version_id, now_unix_ms));
    META_TRY(txn.Commit());
    return NotFound("bucket " + version.bucket + " does not exist");
  }
  // A repeated commit must not "replace" the version by itself: that would
  // queue its own live shards for deletion.
  META_ASSIGN_OR_RETURN(const bool committed, VersionExists(db, version.version_id));
  if (committed) {
    return MakeError(Errc::kAlreadyExists, "version " + version.version_id + " already committed");
  }
  // The pending write is the licence to commit: if it is gone, the write was
  // aborted (by the gateway or the sweeper) and its shards may already be
  // queued for deletion, so committing would point at shards GC removes.
  META_ASSIGN_OR_RETURN(const bool pending, PendingWriteExists(db, version.version_id));
  if (!pending) {
    return MakeError(Errc::kConflict, "write of version " + version.version_id +
                                          " was aborted before it could commit");
  }
  if (Status met = CheckWriteCondition(db, version.bucket, version.key, condition); !met) {
    // As for a vanished bucket: the aborted write's shards go to GC now.
    META_TRY(sqlite::RemovePendingWrite(db, version.version_id, now_unix_ms));
    META_TRY(txn.Commit());
    return met.error();
  }
  CommitOutcome outcome;
  META_ASSIGN_OR_RETURN(const Versioning versioning, sqlite::LoadBucketVersioning(db, version.bucket));
  ObjectVersion placed = version;
  placed.null_version = versioning != Versioning::kEnabled;
  outcome.versioning = versioning;
  outcome.null_version = placed.null_version;
  META_ASSIGN_OR_RETURN(const int64_t seq,
                        sqlite::MakeRoomForNewVersion(db, version.bucket, version.key, placed.null_version,
                                                      now_unix_ms, &outcome.replaced_version_ids));
  META_TRY(sqlite::InsertVersion(db, placed, seq));
  META_TRY(sqlite::ApplyObjectLockOnCommit(db, placed));
  // After InsertVersion, so that only planned shards that ended up elsewhere
  // are queued for GC.
  META_TRY(sqlite::RemovePendingWrite(db, version.version_id, now_unix_ms));
  META_TRY(txn.Commit());
  return outcome;
}

Status SqliteStore::AbortWrite(const std::string& version_id) {
  const int64_t now_unix_ms = clock_.NowUnixMs();
  return Transact(Txn::Mode::kWrite, [&](Db& db) -> Status {
    return sqlite::RemovePendingWrite(db, version_id, now_unix_ms);
  });
}

Result<std::vector<PendingWrite>> SqliteStore::ExpiredPendingWrites(int64_t started_before_unix_ms,
                                                                    int limit) {
  META_TRY(CheckLimit(limit));
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<std::vector<PendingWrite>> {
    std::vector<PendingWrite> expired;
    {
      Stmt stmt = db.Prepare(R"sql(
SELECT version_id, bucket, key, started_unix_ms FROM pending_writes
WHERE started_unix_ms < ?1 ORDER BY started_unix_ms, version_id LIMIT ?2)sql");
      stmt.BindInt(1, started_before_unix_ms).BindInt(2, limit);
      while (true) {
        META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
        if (!has_row) break;
        PendingWrite pending;
        pending.version_id = stmt.ColumnText(0);
        pending.bucket = stmt.ColumnText(1);
        pending.key = stmt.ColumnText(2);
        pending.started_unix_ms = stmt.ColumnInt(3);
        expired.push_back(std::move(pending));
      }
    }
    for (PendingWrite& pending : expired) {
      META_ASSIGN_OR_RETURN(pending.shards, sqlite::LoadPendingShards(db, pending.version_id));
    }
    return expired;
  });
}

// --- Objects ----------------------------------------------------------------

Result<ObjectVersion> SqliteStore::GetObject(const std::string& bucket, const std::string& key) {
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<ObjectVersion> {
    META_ASSIGN_OR_RETURN(const std::optional<std::string> current,
                          sqlite::CurrentVersionId(db, bucket, key));
    if (!current) return NotFound("no object " + key + " in bucket " + bucket);
    META_ASSIGN_OR_RETURN(ObjectVersion version, sqlite::LoadVersion(db, *current));
    META_ASSIGN_OR_RETURN(version.lock, sqlite::LoadObjectLock(db, version.version_id));
    return version;
  });
}

Result<ObjectVersion> SqliteStore::GetVersion(const std::string& version_id) {
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<ObjectVersion> {
    META_ASSIGN_OR_RETURN(ObjectVersion version, sqlite::LoadVersion(db, version_id));
    META_ASSIGN_OR_RETURN(version.lock, sqlite::LoadObjectLock(db, version_id));
    return version;
  });
}

Status SqliteStore::SetBucketVersioning(const std::string& bucket, Versioning versioning) {
  if (versioning == Versioning::kNeverEnabled) {
    return MakeError(Errc::kInvalidArgument, "versioning can be suspended, not turned off");
  }
  return Transact(Txn::Mode::kWrite, [&](Db& db) -> Status {
    META_TRY(sqlite::LoadBucketVersioning(db, bucket));
    META_TRY(sqlite::CheckVersioningChange(db, bucket, versioning));
    Stmt stmt = db.Prepare("UPDATE buckets SET versioning = ?2 WHERE name = ?1");
    stmt.BindText(1, bucket).BindText(2, sqlite::VersioningText(versioning));
    return stmt.Run();
  });
}

Result<ObjectVersion> SqliteStore::GetObjectVersion(const std::string& bucket, const std::string& key,
                                                    const std::string& s3_version_id) {
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<ObjectVersion> {
    META_ASSIGN_OR_RETURN(const std::optional<std::string> id,
                          sqlite::FindVersionId(db, bucket, key, s3_version_id));
    if (!id) return NotFound("no version " + s3_version_id + " of " + key + " in bucket " + bucket);
    META_ASSIGN_OR_RETURN(ObjectVersion version, sqlite::LoadVersion(db, *id));
    META_ASSIGN_OR_RETURN(version.lock, sqlite::LoadObjectLock(db, *id));
    return version;
  });
}

Result<DeleteOutcome> SqliteStore::DeleteObject(const std::string& bucket, const std::string& key,
                                                const std::string& marker_version_id,
                                                int64_t now_unix_ms) {
  const int64_t gc_unix_ms = clock_.NowUnixMs();
  return Transact(Txn::Mode::kWrite, [&](Db& db) -> Result<DeleteOutcome> {
    META_ASSIGN_OR_RETURN(const Versioning versioning, sqlite::LoadBucketVersioning(db, bucket));
    if (versioning == Versioning::kNeverEnabled) {
      META_ASSIGN_OR_RETURN(const std::optional<std::string> current,
                            sqlite::CurrentVersionId(db, bucket, key));
      if (!current) return NotFound("no object " + key + " in bucket " + bucket);
      META_TRY(sqlite::RemoveVersion(db, *current, gc_unix_ms));
      return DeleteOutcome{};
    }
    ObjectVersion marker;
    marker.version_id = marker_version_id;
    marker.bucket = bucket;
    marker.key = key;
    marker.kind = VersionKind::kDeleteMarker;
    marker.created_unix_ms = now_unix_ms;
    marker.null_version = versioning == Versioning::kSuspended;
    META_TRY(sqlite::ValidateVersion(marker));
    std::vector<std::string> removed;
    META_ASSIGN_OR_RETURN(const int64_t seq, sqlite::MakeRoomForNewVersion(db, bucket, key, marker.null_version,
                                                                           gc_unix_ms, &removed));
    META_TRY(sqlite::InsertVersion(db, marker, seq));
    return DeleteOutcome{true, S3VersionId(marker)};
  });
}

Result<DeleteOutcome> SqliteStore::DeleteObjectVersion(const std::string& bucket, const std::string& key,
                                                       const std::string& s3_version_id,
                                                       LockBypass bypass) {
  const int64_t now_unix_ms = clock_.NowUnixMs();
  return Transact(Txn::Mode::kWrite, [&](Db& db) -> Result<DeleteOutcome> {
    META_ASSIGN_OR_RETURN(const std::optional<std::string> id,
                          sqlite::FindVersionId(db, bucket, key, s3_version_id));
    if (!id) return NotFound("no version " + s3_version_id + " of " + key + " in bucket " + bucket);
    bool was_marker = false;
    {
      Stmt kind = db.Prepare("SELECT kind FROM object_versions WHERE version_id = ?1");
      kind.BindText(1, *id);
      META_ASSIGN_OR_RETURN(const bool has_row, kind.Step());
      was_marker = has_row && kind.ColumnText(0) == "delete_marker";
    }
    META_TRY(sqlite::RemoveVersion(db, *id, now_unix_ms, bypass));
    META_TRY(sqlite::PromoteNewestVersion(db, bucket, key));
    return DeleteOutcome{was_marker, s3_version_id};
  });
}

Result<VersionListResult> SqliteStore::ListObjectVersions(const std::string& bucket,
                                                          const VersionListQuery& query) {
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<VersionListResult> {
    META_ASSIGN_OR_RETURN(const bool exists, sqlite::BucketExists(db, bucket));
    if (!exists) return NotFound("bucket " + bucket + " does not exist");
    return sqlite::ListVersions(db, bucket, query);
  });
}

Result<ListResult> SqliteStore::ListObjects(const std::string& bucket, const ListQuery& query) {
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<ListResult> {
    META_ASSIGN_OR_RETURN(const bool exists, sqlite::BucketExists(db, bucket));
    if (!exists) return NotFound("bucket " + bucket + " does not exist");
    return sqlite::ListCurrentObjects(db, bucket, query);
  });
}

// --- Multipart uploads ------------------------------------------------------

Status SqliteStore::CreateMultipartUpload(const MultipartUpload& upload) {
  if (upload.upload_id.empty()) return MakeError(Errc::kInvalidArgument, "upload_id is empty");
  return Transact(Txn::Mode::kWrite, [&](Db& db) -> Status {
    META_ASSIGN_OR_RETURN(const bool bucket_exists, sqlite::BucketExists(db, upload.bucket));
    if (!bucket_exists) return NotFound("bucket " + upload.bucket + " does not exist");
    META_ASSIGN_OR_RETURN(const bool taken, VersionExists(db, upload.upload_id));
    if (taken) return MakeError(Errc::kAlreadyExists, "upload id " + upload.upload_id + " is taken");
    META_TRY(sqlite::InsertUpload(db, upload));
    return sqlite::SaveUploadLock(db, upload.upload_id, upload.lock);
  });
}

Result<MultipartUpload> SqliteStore::GetMultipartUpload(const std::string& upload_id) {
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<MultipartUpload> {
    META_ASSIGN_OR_RETURN(MultipartUpload upload, sqlite::LoadUpload(db, upload_id));
    META_ASSIGN_OR_RETURN(upload.lock, sqlite::LoadUploadLock(db, upload_id));
    return upload;
  });
}

Status SqliteStore::CommitPart(const std::string& upload_id, int part_number,
                               const ObjectVersion& part) {
  META_TRY(sqlite::ValidateVersion(part));
  if (part.kind != VersionKind::kPart) {
    return MakeError(Errc::kInvalidArgument, "CommitPart needs a version of kind part");
  }
  if (part_number < 1 || part_number > 10000) {
    return MakeError(Errc::kInvalidArgument, "part numbers are 1..10000");
  }
  const int64_t now_unix_ms = clock_.NowUnixMs();
  std::lock_guard lock(mu_);
  META_TRY(SetSync(Sync::kFull));
  Db& db = *db_;
  Txn txn(db);
  META_TRY(txn.Begin(Txn::Mode::kWrite));
  auto upload = sqlite::LoadUpload(db, upload_id);
  if (!upload) {
    if (upload.error().code != Errc::kNotFound) return upload.error();
    // Completed or aborted meanwhile: abort the part's write in this same
    // transaction so its shards are not leaked.
    META_TRY(sqlite::RemovePendingWrite(db, part.version_id, now_unix_ms));
    META_TRY(txn.Commit());
    return upload.error();
  }
  META_ASSIGN_OR_RETURN(const bool committed, VersionExists(db, part.version_id));
  if (committed) {
    return MakeError(Errc::kAlreadyExists, "version " + part.version_id + " already committed");
  }
  META_ASSIGN_OR_RETURN(const bool pending, PendingWriteExists(db, part.version_id));
  if (!pending) {
    return MakeError(Errc::kConflict,
                     "write of part " + part.version_id + " was aborted before it could commit");
  }
  META_TRY(sqlite::InsertVersion(db, part));
  META_TRY(sqlite::LinkPart(db, upload_id, part_number, part.version_id, now_unix_ms));
  META_TRY(sqlite::RemovePendingWrite(db, part.version_id, now_unix_ms));
  return txn.Commit();
}

Result<std::vector<UploadedPartRecord>> SqliteStore::ListParts(const std::string& upload_id,
                                                               int after_part_number, int limit) {
  META_TRY(CheckLimit(limit));
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<std::vector<UploadedPartRecord>> {
    META_TRY(sqlite::LoadUpload(db, upload_id));
    return sqlite::LoadParts(db, upload_id, after_part_number, limit);
  });
}

Result<UploadListResult> SqliteStore::ListMultipartUploads(const std::string& bucket,
                                                           const UploadListQuery& query) {
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<UploadListResult> {
    META_ASSIGN_OR_RETURN(const bool exists, sqlite::BucketExists(db, bucket));
    if (!exists) return NotFound("bucket " + bucket + " does not exist");
    return sqlite::ListUploads(db, bucket, query);
  });
}

Result<CommitOutcome> SqliteStore::CompleteMultipartUpload(const ObjectVersion& version,
                                                           const std::vector<std::pair<int, std::string>>& parts,
                                                           const WriteCondition& condition) {
  META_TRY(sqlite::ValidateVersion(version));
  if (version.kind != VersionKind::kMultipart) {
    return MakeError(Errc::kInvalidArgument, "a completed upload is a version of kind multipart");
  }
  const int64_t now_unix_ms = clock_.NowUnixMs();
  return Transact(Txn::Mode::kWrite, [&](Db& db) -> Result<CommitOutcome> {
    META_ASSIGN_OR_RETURN(const MultipartUpload upload, sqlite::LoadUpload(db, version.version_id));
    if (upload.bucket != version.bucket || upload.key != version.key) {
      return MakeError(Errc::kInvalidArgument, "upload " + upload.upload_id + " is for another key");
    }
    // Before anything changes: a failed condition rolls back to nothing.
    META_TRY(CheckWriteCondition(db, version.bucket, version.key, condition));
    // Read before AdoptParts removes the upload row.
    META_ASSIGN_OR_RETURN(const ObjectLock upload_lock, sqlite::LoadUploadLock(db, upload.upload_id));
    META_ASSIGN_OR_RETURN(const uint64_t size, sqlite::AdoptParts(db, upload.upload_id, parts, now_unix_ms));
    if (size != version.size_bytes) {
      return MakeError(Errc::kConflict, "the parts hold " + std::to_string(size) + " bytes, not " +
                                            std::to_string(version.size_bytes));
    }
    CommitOutcome outcome;
    META_ASSIGN_OR_RETURN(const Versioning versioning, sqlite::LoadBucketVersioning(db, version.bucket));
    ObjectVersion placed = version;
    placed.null_version = versioning != Versioning::kEnabled;
    outcome.versioning = versioning;
    outcome.null_version = placed.null_version;
    placed.lock = upload_lock;  // what CreateMultipartUpload asked for
    META_ASSIGN_OR_RETURN(const int64_t seq,
                          sqlite::MakeRoomForNewVersion(db, version.bucket, version.key, placed.null_version,
                                                        now_unix_ms, &outcome.replaced_version_ids));
    META_TRY(sqlite::InsertVersion(db, placed, seq));
    META_TRY(sqlite::ApplyObjectLockOnCommit(db, placed));
    return outcome;
  });
}

Status SqliteStore::AbortMultipartUpload(const std::string& upload_id) {
  const int64_t now_unix_ms = clock_.NowUnixMs();
  return Transact(Txn::Mode::kWrite, [&](Db& db) -> Status {
    META_TRY(sqlite::LoadUpload(db, upload_id));
    return sqlite::RemoveUpload(db, upload_id, now_unix_ms);
  });
}

Result<std::vector<MultipartUpload>> SqliteStore::ExpiredMultipartUploads(
    int64_t initiated_before_unix_ms, int limit) {
  META_TRY(CheckLimit(limit));
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<std::vector<MultipartUpload>> {
    return sqlite::LoadExpiredUploads(db, initiated_before_unix_ms, limit);
  });
}

// --- Shard bookkeeping ------------------------------------------------------

Result<std::vector<ShardRef>> SqliteStore::ShardsOnNode(const std::string& node_id,
                                                        const ShardRef& after, int limit) {
  META_TRY(CheckLimit(limit));
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<std::vector<ShardRef>> {
    // A range scan of shards_by_node, which also covers the result columns.
    Stmt stmt = db.Prepare(R"sql(
SELECT version_id, shard_index FROM shards
WHERE node_id = ?1 AND (version_id, shard_index) > (?2, ?3)
ORDER BY version_id, shard_index LIMIT ?4)sql");
    stmt.BindText(1, node_id).BindText(2, after.version_id).BindInt(3, after.shard_index);
    stmt.BindInt(4, limit);
    std::vector<ShardRef> refs;
    while (true) {
      META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
      if (!has_row) return refs;
      refs.push_back(ShardRef{stmt.ColumnText(0), static_cast<int>(stmt.ColumnInt(1))});
    }
  });
}

Status SqliteStore::SetShardState(const std::string& version_id, int shard_index,
                                  const std::string& node_id, ShardState state) {
  if (state == ShardState::kOk && node_id.empty()) {
    return MakeError(Errc::kInvalidArgument, "an ok shard needs a node");
  }
  const int64_t now_unix_ms = clock_.NowUnixMs();
  return Transact(Txn::Mode::kWrite, [&](Db& db) -> Status {
    std::string old_node_id;
    {
      Stmt stmt =
          db.Prepare("SELECT node_id FROM shards WHERE version_id = ?1 AND shard_index = ?2");
      stmt.BindText(1, version_id).BindInt(2, shard_index);
      META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
      if (!has_row) {
        return NotFound("no shard " + std::to_string(shard_index) + " of version " + version_id);
      }
      old_node_id = stmt.ColumnText(0);
    }
    if (!old_node_id.empty() && old_node_id != node_id) {
      // The shard moved (repair placed it elsewhere): whatever is left at
      // the old node is garbage now.
      Stmt queue = db.Prepare(
          "INSERT INTO gc_queue (version_id, shard_index, node_id, queued_unix_ms) "
          "VALUES (?1, ?2, ?3, ?4)");
      queue.BindText(1, version_id).BindInt(2, shard_index).BindText(3, old_node_id);
      queue.BindInt(4, now_unix_ms);
      META_TRY(queue.Run());
      META_TRY(sqlite::RecordHeldDeparture(db, version_id, old_node_id));
    }
    Stmt update = db.Prepare(
        "UPDATE shards SET node_id = ?3, state = ?4 WHERE version_id = ?1 AND shard_index = ?2");
    update.BindText(1, version_id).BindInt(2, shard_index).BindText(3, node_id);
    update.BindText(4, sqlite::ShardStateText(state));
    return update.Run();
  });
}

Result<std::vector<std::string>> SqliteStore::ShardedVersionIds(const std::string& after, int limit) {
  META_TRY(CheckLimit(limit));
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<std::vector<std::string>> {
    Stmt stmt = db.Prepare(
        "SELECT version_id FROM object_versions WHERE version_id > ?1 AND kind IN ('object', 'part') "
        "ORDER BY version_id LIMIT ?2");
    stmt.BindText(1, after).BindInt(2, limit);
    std::vector<std::string> ids;
    while (true) {
      META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
      if (!has_row) return ids;
      ids.push_back(stmt.ColumnText(0));
    }
  });
}

Result<std::vector<std::string>> SqliteStore::UnderProtectedVersions(int limit) {
  META_TRY(CheckLimit(limit));
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<std::vector<std::string>> {
    // The inner query walks only the partial index shards_not_ok; the sort
    // is over unhealthy versions only, which are few unless a node is lost.
    Stmt stmt = db.Prepare(R"sql(
SELECT v.version_id,
       (SELECT count(*) FROM shards AS s
        WHERE s.version_id = v.version_id AND s.state = 'ok') - v.k AS spare_shards
FROM (SELECT DISTINCT version_id FROM shards WHERE state != 'ok') AS u
JOIN object_versions AS v ON v.version_id = u.version_id
ORDER BY spare_shards, v.version_id LIMIT ?1)sql");
    stmt.BindInt(1, limit);
    std::vector<std::string> versions;
    while (true) {
      META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
      if (!has_row) return versions;
      versions.push_back(stmt.ColumnText(0));
    }
  });
}

Result<int> SqliteStore::MoveShards(const std::vector<ShardMove>& moves) {
  const int64_t now_unix_ms = clock_.NowUnixMs();
  return Transact(Txn::Mode::kWrite, [&](Db& db) -> Result<int> {
    return sqlite::ApplyShardMoves(db, moves, now_unix_ms);
  });
}

Result<std::vector<DamagedVersion>> SqliteStore::DamagedVersions(
    const std::optional<DamagedVersion>& after, int limit) {
  META_TRY(CheckLimit(limit));
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<std::vector<DamagedVersion>> {
    return sqlite::ListDamagedVersions(db, after, limit);
  });
}

Result<int64_t> SqliteStore::CountUnderProtectedVersions(
    const std::vector<std::string>& lost_node_ids) {
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<int64_t> {
    return sqlite::CountUnderProtected(db, lost_node_ids);
  });
}

// --- Garbage collection -----------------------------------------------------

Result<std::vector<GcItem>> SqliteStore::NextGcItems(int64_t after_id, int limit) {
  META_TRY(CheckLimit(limit));
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<std::vector<GcItem>> {
    Stmt stmt = db.Prepare(
        "SELECT id, version_id, shard_index, node_id, queued_unix_ms FROM gc_queue "
        "WHERE id > ?2 ORDER BY id LIMIT ?1");
    stmt.BindInt(1, limit).BindInt(2, after_id);
    std::vector<GcItem> items;
    while (true) {
      META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
      if (!has_row) return items;
      GcItem item;
      item.id = stmt.ColumnInt(0);
      item.version_id = stmt.ColumnText(1);
      item.shard_index = static_cast<int>(stmt.ColumnInt(2));
      item.node_id = stmt.ColumnText(3);
      item.queued_unix_ms = stmt.ColumnInt(4);
      items.push_back(std::move(item));
    }
  });
}

Status SqliteStore::CompleteGcItem(int64_t id) {
  // Idempotent: a GC worker that crashed after deleting may complete twice.
  return Transact(Txn::Mode::kWrite, [&](Db& db) -> Status {
    Stmt stmt = db.Prepare("DELETE FROM gc_queue WHERE id = ?1");
    stmt.BindInt(1, id);
    return stmt.Run();
  });
}

// --- Nodes and access keys --------------------------------------------------

Status SqliteStore::UpsertNode(const NodeRecord& node) {
  if (node.id.empty()) return MakeError(Errc::kInvalidArgument, "node id is empty");
  return Transact(Txn::Mode::kWrite, [&](Db& db) -> Status {
    Stmt stmt = db.Prepare(R"sql(
INSERT INTO nodes (id, provider, site, endpoint, capacity_bytes, used_bytes,
                   first_seen_unix_ms, last_heartbeat_unix_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
ON CONFLICT (id) DO UPDATE SET
  provider = excluded.provider, site = excluded.site, endpoint = excluded.endpoint,
  capacity_bytes = excluded.capacity_bytes, used_bytes = excluded.used_bytes,
  last_heartbeat_unix_ms = excluded.last_heartbeat_unix_ms)sql");
    stmt.BindText(1, node.id)
        .BindText(2, node.provider)
        .BindText(3, node.site)
        .BindText(4, node.endpoint)
        .BindInt(5, static_cast<int64_t>(node.capacity_bytes))
        .BindInt(6, static_cast<int64_t>(node.used_bytes))
        .BindInt(7, node.first_seen_unix_ms)
        .BindInt(8, node.last_heartbeat_unix_ms);
    return stmt.Run();
  });
}

Result<std::vector<NodeRecord>> SqliteStore::ListNodes() {
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<std::vector<NodeRecord>> {
    Stmt stmt = db.Prepare(
        "SELECT id, provider, site, endpoint, capacity_bytes, used_bytes, first_seen_unix_ms, "
        "last_heartbeat_unix_ms FROM nodes ORDER BY id");
    std::vector<NodeRecord> nodes;
    while (true) {
      META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
      if (!has_row) return nodes;
      NodeRecord node;
      node.id = stmt.ColumnText(0);
      node.provider = stmt.ColumnText(1);
      node.site = stmt.ColumnText(2);
      node.endpoint = stmt.ColumnText(3);
      node.capacity_bytes = static_cast<uint64_t>(stmt.ColumnInt(4));
      node.used_bytes = static_cast<uint64_t>(stmt.ColumnInt(5));
      node.first_seen_unix_ms = stmt.ColumnInt(6);
      node.last_heartbeat_unix_ms = stmt.ColumnInt(7);
      nodes.push_back(std::move(node));
    }
  });
}

Status SqliteStore::PutAccessKey(const AccessKey& key) {
  if (key.access_key_id.empty()) return MakeError(Errc::kInvalidArgument, "access key id is empty");
  return Transact(Txn::Mode::kWrite, [&](Db& db) -> Status {
    Stmt stmt = db.Prepare(
        "INSERT OR REPLACE INTO access_keys (access_key_id, secret_key, user_id, created_unix_ms) "
        "VALUES (?1, ?2, ?3, ?4)");
    stmt.BindText(1, key.access_key_id)
        .BindText(2, key.secret_key)
        .BindText(3, key.user_id)
        .BindInt(4, key.created_unix_ms);
    return stmt.Run();
  });
}

Result<AccessKey> SqliteStore::GetAccessKey(const std::string& access_key_id) {
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<AccessKey> {
    Stmt stmt = db.Prepare(
        "SELECT access_key_id, secret_key, user_id, created_unix_ms FROM access_keys WHERE access_key_id = ?1");
    stmt.BindText(1, access_key_id);
    META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) return NotFound("access key " + access_key_id + " does not exist");
    return AccessKey{stmt.ColumnText(0), stmt.ColumnText(1), stmt.ColumnText(2), stmt.ColumnInt(3)};
  });
}

Result<std::vector<AccessKey>> SqliteStore::ListAccessKeys(const std::string& user_id) {
  return Transact(Txn::Mode::kRead, [&](Db& db) { return sqlite::LoadAccessKeys(db, user_id); });
}

Status SqliteStore::DeleteAccessKey(const std::string& user_id, const std::string& access_key_id) {
  return Transact(Txn::Mode::kWrite, [&](Db& db) { return sqlite::RemoveAccessKey(db, user_id, access_key_id); });
}

// --- Web accounts, sessions and share links ---------------------------------

Status SqliteStore::SignUp(const WebAccount& account, const Bucket& home_bucket) {
  return Transact(Txn::Mode::kWrite, [&](Db& db) { return sqlite::InsertSignUp(db, account, home_bucket); });
}

Status SqliteStore::PutWebAccount(const WebAccount& account) {
  return Transact(Txn::Mode::kWrite, [&](Db& db) { return sqlite::UpsertWebAccount(db, account); });
}

Result<WebAccount> SqliteStore::GetWebAccount(const std::string& user_id) {
  return Transact(Txn::Mode::kRead, [&](Db& db) { return sqlite::LoadWebAccount(db, user_id); });
}

Status SqliteStore::CreateWebSession(const WebSession& session) {
  return Transact(Txn::Mode::kWrite, [&](Db& db) { return sqlite::InsertWebSession(db, session); });
}

Result<WebSession> SqliteStore::GetWebSession(const std::string& token_sha256, int64_t now_unix_ms) {
  return Transact(Txn::Mode::kRead, [&](Db& db) { return sqlite::LoadWebSession(db, token_sha256, now_unix_ms); });
}

Status SqliteStore::DeleteWebSession(const std::string& token_sha256, int64_t now_unix_ms) {
  return Transact(Txn::Mode::kWrite, [&](Db& db) { return sqlite::RemoveWebSession(db, token_sha256, now_unix_ms); });
}

Status SqliteStore::CreateShareLink(const ShareLink& link) {
  return Transact(Txn::Mode::kWrite, [&](Db& db) { return sqlite::InsertShareLink(db, link); });
}

Result<ShareLink> SqliteStore::GetShareLink(const std::string& link_id) {
  return Transact(Txn::Mode::kRead, [&](Db& db) { return sqlite::LoadShareLink(db, link_id); });
}

Result<std::vector<ShareLink>> SqliteStore::ListShareLinks(const std::string& owner_id, int limit) {
  return Transact(Txn::Mode::kRead, [&](Db& db) { return sqlite::LoadShareLinks(db, owner_id, limit); });
}

Status SqliteStore::RevokeShareLink(const std::string& owner_id, const std::string& link_id, int64_t now_unix_ms) {
  return Transact(Txn::Mode::kWrite,
                  [&](Db& db) { return sqlite::MarkShareLinkRevoked(db, owner_id, link_id, now_unix_ms); });
}

Status SqliteStore::CountShareLinkDownload(const std::string& link_id) {
  // A counter, not a promise: losing the last few on power loss is fine.
  return Transact(Txn::Mode::kWrite, [&](Db& db) { return sqlite::AddShareLinkDownload(db, link_id); },
                  Sync::kDeferred);
}

Result<std::vector<BucketUsage>> SqliteStore::UsageOfUser(const std::string& user_id) {
  return Transact(Txn::Mode::kRead, [&](Db& db) { return sqlite::LoadUsageOfUser(db, user_id); });
}

// --- Object Lock ------------------------------------------------------------

Result<BucketObjectLock> SqliteStore::GetBucketObjectLock(const std::string& bucket) {
  return Transact(Txn::Mode::kRead, [&](Db& db) { return sqlite::LoadBucketObjectLock(db, bucket); });
}

Status SqliteStore::PutBucketObjectLock(const std::string& bucket, const DefaultRetention& default_retention) {
  return Transact(Txn::Mode::kWrite,
                  [&](Db& db) { return sqlite::PutBucketObjectLock(db, bucket, default_retention); });
}

Status SqliteStore::SetObjectRetention(const std::string& bucket, const std::string& key,
                                       const std::string& s3_version_id, RetentionMode mode,
                                       int64_t retain_until_unix_ms, LockBypass bypass) {
  // The store's clock decides whether retention has expired, here and in the
  // guard: one clock for setting and for enforcing.
  const int64_t now_unix_ms = clock_.NowUnixMs();
  return Transact(Txn::Mode::kWrite, [&](Db& db) {
    return sqlite::SetRetention(db, bucket, key, s3_version_id, mode, retain_until_unix_ms, now_unix_ms,
                                bypass);
  });
}

Status SqliteStore::SetObjectLegalHold(const std::string& bucket, const std::string& key,
                                       const std::string& s3_version_id, bool on) {
  return Transact(Txn::Mode::kWrite,
                  [&](Db& db) { return sqlite::SetLegalHold(db, bucket, key, s3_version_id, on); });
}

Status SqliteStore::SetUserMayBypassGovernance(const std::string& user_id, bool allowed) {
  if (user_id.empty()) return MakeError(Errc::kInvalidArgument, "user id is empty");
  return Transact(Txn::Mode::kWrite, [&](Db& db) { return sqlite::SetUserBypass(db, user_id, allowed); });
}

Result<bool> SqliteStore::UserMayBypassGovernance(const std::string& user_id) {
  return Transact(Txn::Mode::kRead, [&](Db& db) { return sqlite::LoadUserBypass(db, user_id); });
}

// --- Reporting ----------------------------------------------------------------

Result<std::map<int, int64_t>> SqliteStore::CountVersionsBySpareShards(
    const std::vector<std::string>& unavailable_node_ids) {
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<std::map<int, int64_t>> {
    // Every row with shards starts at m spare (EXISTS: multipart and
    // delete-marker rows own no shards and have no margin of their own)...
    std::map<int, int64_t> by_spare;
    Stmt all = db.Prepare(R"sql(
SELECT v.m, count(*) FROM object_versions AS v
WHERE EXISTS (SELECT 1 FROM shards AS s WHERE s.version_id = v.version_id)
GROUP BY v.m)sql");
    while (true) {
      META_ASSIGN_OR_RETURN(const bool has_row, all.Step());
      if (!has_row) break;
      by_spare[static_cast<int>(all.ColumnInt(0))] += all.ColumnInt(1);
    }
    // ...then the damaged ones (a shard not ok, through the partial index
    // shards_not_ok, or on an unavailable node, through shards_by_node: this
    // part follows the damage, not the catalogue) move from m to what they
    // really have. The node ids travel as one JSON array, so the statement
    // is the same for any number of them.
    Stmt damaged = db.Prepare(R"sql(
SELECT m, spare_shards, count(*) FROM (
  SELECT v.m AS m,
         (SELECT count(*) FROM shards AS s
          WHERE s.version_id = v.version_id AND s.state = 'ok'
            AND s.node_id NOT IN (SELECT value FROM json_each(?1))) - v.k AS spare_shards
  FROM (SELECT version_id FROM shards WHERE state != 'ok'
        UNION
        SELECT version_id FROM shards WHERE node_id IN (SELECT value FROM json_each(?1))) AS u
  JOIN object_versions AS v ON v.version_id = u.version_id)
GROUP BY m, spare_shards)sql");
    damaged.BindText(1, nlohmann::json(unavailable_node_ids).dump());
    while (true) {
      META_ASSIGN_OR_RETURN(const bool has_row, damaged.Step());
      if (!has_row) break;
      const int64_t count = damaged.ColumnInt(2);
      by_spare[static_cast<int>(damaged.ColumnInt(0))] -= count;
      by_spare[static_cast<int>(damaged.ColumnInt(1))] += count;
    }
    std::erase_if(by_spare, [](const auto& entry) { return entry.second == 0; });
    return by_spare;
  });
}

Result<int64_t> SqliteStore::CountGcQueue() {
  return Transact(Txn::Mode::kRead, [&](Db& db) -> Result<int64_t> {
    Stmt stmt = db.Prepare("SELECT count(*) FROM gc_queue");
    META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) return MakeError(Errc::kInternal, "sqlite: count returned no row");
    return stmt.ColumnInt(0);
  });
}

// --- Backup -------------------------------------------------------------------

Status SqliteStore::BackupTo(const std::filesystem::path& file) {
  // VACUUM INTO writes a transaction-consistent, compacted copy. It runs on
  // a connection of its own and without the store's mutex: in WAL mode its
  // read transaction sees one snapshot while writers go on, so a backup of
  // a large catalogue does not stall every request for its duration.
  META_ASSIGN_OR_RETURN(std::unique_ptr<Db> reader, Db::Open(path_));
  Stmt stmt = reader->Prepare("VACUUM INTO ?1");
  stmt.BindText(1, file.string());
  return stmt.Run();
}

Status SqliteStore::ImportFrom(const std::filesystem::path& file) {
  {
    // Bring the snapshot to this build's schema first, so its tables have
    // the same columns in the same order as ours.
    META_ASSIGN_OR_RETURN(std::unique_ptr<Db> snapshot, Db::Open(file));
    META_TRY(sqlite::MigrateSchema(*snapshot));
  }
  std::lock_guard lock(mu_);
  META_TRY(SetSync(Sync::kFull));
  {
    Stmt attach = db_->Prepare("ATTACH DATABASE ?1 AS snapshot");
    attach.BindText(1, file.string());
    META_TRY(attach.Run());
  }
  Status copied = [&]() -> Status {
    Txn txn(*db_);
    META_TRY(txn.Begin(Txn::Mode::kWrite));
    std::vector<std::string> tables;
    // Not the writes in flight and the GC queue of the moment the snapshot
    // was taken: a write pending then may have committed since (its shards
    // are live), and a queued copy may since be in use again. Dropping them
    // can leave garbage on a disk, never lose data.
    Stmt list = db_->Prepare(
        "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT IN ('pending_writes', 'pending_shards', 'gc_queue') ORDER BY name");
    while (true) {
      META_ASSIGN_OR_RETURN(const bool has_row, list.Step());
      if (!has_row) break;
      tables.push_back(list.ColumnText(0));
    }
    // Foreign keys: parents may come after children alphabetically.
    META_TRY(db_->ExecScript("PRAGMA defer_foreign_keys = ON;"));
    for (const std::string& table : tables) {
      // Table names come from our own schema, not from data.
      const std::string sql = "INSERT OR IGNORE INTO main.\"" + table + "\" SELECT * FROM snapshot.\"" + table + "\";";
      META_TRY(db_->ExecScript(sql.c_str()));
    }
    return txn.Commit();
  }();
  Status detached = db_->ExecScript("DETACH DATABASE snapshot;");
  if (!copied) return copied;
  return detached;
}

// --- Drains -------------------------------------------------------------------

Result<std::vector<Drain>> SqliteStore::ListDrains() {
  return Transact(Txn::Mode::kRead, [&](Db& db) { return sqlite::LoadDrains(db); });
}

Status SqliteStore::StartDrain(DrainScope scope, const std::string& name, int64_t now_unix_ms) {
  return Transact(Txn::Mode::kWrite, [&](Db& db) -> Status {
    auto state = sqlite::LoadDrainState(db, scope, name);
    if (state.ok()) {
      if (*state == DrainState::kRetired) {
        return MakeError(Errc::kConflict, std::string(DrainScopeName(scope)) + " " + name +
                                              " is retired; it cannot be drained again");
      }
      return Status::Ok();
    }
    if (state.error().code != Errc::kNotFound) return state.error();
    return sqlite::InsertDrain(db, scope, name, now_unix_ms);
  });
}

Status SqliteStore::CancelDrain(DrainScope scope, const std::string& name) {
  return Transact(Txn::Mode::kWrite, [&](Db& db) -> Status {
    META_ASSIGN_OR_RETURN(const DrainState state, sqlite::LoadDrainState(db, scope, name));
    if (state == DrainState::kRetired) {
      return MakeError(Errc::kConflict, std::string(DrainScopeName(scope)) + " " + name +
                                            " is retired; its drain cannot be cancelled");
    }
    return sqlite::DeleteDrain(db, scope, name);
  });
}

Result<NodeContents> SqliteStore::CountNodeContents(const std::vector<std::string>& node_ids) {
  return Transact(Txn::Mode::kRead, [&](Db& db) { return sqlite::CountContents(db, node_ids); });
}

Result<NodeContents> SqliteStore::RetireDrain(DrainScope scope, const std::string& name,
                                              const std::vector<std::string>& node_ids, int64_t now_unix_ms,
                                              const std::string& notice_id) {
  return Transact(Txn::Mode::kWrite, [&](Db& db) -> Result<NodeContents> {
    META_ASSIGN_OR_RETURN(const DrainState state, sqlite::LoadDrainState(db, scope, name));
    if (state == DrainState::kRetired) return NodeContents{};
    META_TRY(sqlite::CheckRetireAllowed(db, scope, name));
    // Counted in the same transaction as the change: a write that commits a
    // shard there a moment later either lands before (and is counted) or
    // after (and finds no drained node to place on, see gateway/drain.h).
    META_ASSIGN_OR_RETURN(NodeContents left, sqlite::CountContents(db, node_ids));
    if (!left.empty()) return left;
    META_TRY(sqlite::MarkDrainRetired(db, scope, name, now_unix_ms));
    META_TRY(sqlite::DropGcItemsOn(db, node_ids));
    if (!notice_id.empty()) {
      META_TRY(sqlite::ClaimNotice(db, notice_id,
                                   std::string("retired ") + DrainScopeName(scope) + " " + name +
                                       ": its disks may be wiped",
                                   now_unix_ms));
    }
    return left;
  });
}

// --- The notice ledger ---------------------------------------------------------

Status SqliteStore::AppendLedgerEntry(const LedgerEntryRecord& entry,
                                      const std::vector<LedgerNodeRecord>& completed_nodes) {
  return Transact(Txn::Mode::kWrite,
                  [&](Db& db) { return sqlite::InsertLedgerEntry(db, entry, completed_nodes); });
}

Result<uint64_t> SqliteStore::LedgerSize() {
  return Transact(Txn::Mode::kRead, [&](Db& db) { return sqlite::LedgerEntryCount(db); });
}

Result<std::vector<LedgerEntryRecord>> SqliteStore::LedgerEntries(uint64_t first, int limit) {
  META_TRY(CheckLimit(limit));
  return Transact(Txn::Mode::kRead, [&](Db& db) { return sqlite::LoadLedgerEntries(db, first, limit); });
}

Result<std::vector<std::string>> SqliteStore::LedgerSubtreeHashes(const std::vector<LedgerNodeId>& ids) {
  return Transact(Txn::Mode::kRead, [&](Db& db) { return sqlite::LoadLedgerSubtrees(db, ids); });
}

Result<LedgerTreeHeadRecord> SqliteStore::AddLedgerTreeHead(const LedgerTreeHeadRecord& head) {
  return Transact(Txn::Mode::kWrite, [&](Db& db) { return sqlite::InsertLedgerTreeHead(db, head); });
}

Result<std::optional<LedgerTreeHeadRecord>> SqliteStore::LatestLedgerTreeHead() {
  return Transact(Txn::Mode::kRead, [&](Db& db) { return sqlite::LoadLatestLedgerTreeHead(db); });
}

Result<std::optional<LedgerTreeHeadRecord>> SqliteStore::LedgerTreeHeadOfSize(uint64_t tree_size) {
  return Transact(Txn::Mode::kRead,
                  [&](Db& db) { return sqlite::LoadLedgerTreeHeadOfSize(db, tree_size); });
}

Result<std::vector<LedgerTreeHeadRecord>> SqliteStore::LedgerTreeHeads(int64_t after_seq, int limit) {
  META_TRY(CheckLimit(limit));
  return Transact(Txn::Mode::kRead, [&](Db& db) { return sqlite::LoadLedgerTreeHeads(db, after_seq, limit); });
}

// --- Holds, webhooks and deletion notices --------------------------------------

Result<Hold> SqliteStore::PlaceHold(const Hold& hold) {
  if (hold.hold_id.empty()) return MakeError(Errc::kInvalidArgument, "a hold needs an id");
  return Transact(Txn::Mode::kWrite, [&](Db& db) { return sqlite::InsertHold(db, hold); });
}

Result<Hold> SqliteStore::ReleaseHold(const std::string& hold_id, const std::string& released_by,
                                      const std::string& reason, int64_t now_unix_ms) {
  return Transact(Txn::Mode::kWrite,
                  [&](Db& db) { return sqlite::MarkHoldReleased(db, hold_id, released_by, reason, now_unix_ms); });
}

Result<std::vector<Hold>> SqliteStore::ListHolds(bool include_released) {
  return Transact(Txn::Mode::kRead, [&](Db& db) { return sqlite::LoadHolds(db, include_released); });
}

Result<std::vector<std::string>> SqliteStore::UserWebhooks(const std::string& user_id) {
  return Transact(Txn::Mode::kRead, [&](Db& db) { return sqlite::LoadUserWebhooks(db, user_id); });
}

Status SqliteStore::AddUserWebhook(const std::string& user_id, const std::string& url) {
  return Transact(Txn::Mode::kWrite, [&](Db& db) { return sqlite::InsertUserWebhook(db, user_id, url); });
}

Status SqliteStore::RemoveUserWebhook(const std::string& user_id, const std::string& url) {
  return Transact(Txn::Mode::kWrite, [&](Db& db) { return sqlite::DeleteUserWebhook(db, user_id, url); });
}

Status SqliteStore::CreateDeletionNotice(const DeletionNotice& notice) {
  return Transact(Txn::Mode::kWrite, [&](Db& db) { return sqlite::InsertNotice(db, notice); });
}

Result<std::vector<DeletionNotice>> SqliteStore::ListDeletionNotices(bool waiting_only) {
  return Transact(Txn::Mode::kRead, [&](Db& db) { return sqlite::LoadNotices(db, waiting_only); });
}

Status SqliteStore::RecordNoticeDelivery(const std::string& notice_id, const std::string& url, bool delivered,
                                         const std::string& result, int64_t now_unix_ms,
                                         int64_t next_attempt_unix_ms) {
  return Transact(Txn::Mode::kWrite, [&](Db& db) {
    return sqlite::UpdateDelivery(db, notice_id, url, delivered, result, now_unix_ms, next_attempt_unix_ms);
  });
}

Status SqliteStore::SetNoticeOutcome(const std::string& notice_id, NoticeState state, const std::string& outcome,
                                     int64_t now_unix_ms) {
  return Transact(Txn::Mode::kWrite,
                  [&](Db& db) { return sqlite::UpdateNoticeOutcome(db, notice_id, state, outcome, now_unix_ms); });
}

Result<UserDataDeletion> SqliteStore::DeleteUserData(const std::string& user_id, int64_t now_unix_ms,
                                                     const std::string& notice_id) {
  return Transact(Txn::Mode::kWrite,
                  [&](Db& db) { return sqlite::RemoveUserData(db, user_id, now_unix_ms, notice_id); });
}

Status SqliteStore::CheckShardCopyDeletable(const std::string& version_id, int shard_index,
                                            const std::string& node_id) {
  return Transact(Txn::Mode::kRead,
                  [&](Db& db) { return sqlite::CheckCopyDeletable(db, version_id, shard_index, node_id); });
}

}  // namespace

Result<std::unique_ptr<MetaStore>> OpenSqliteStore(const std::filesystem::path& path,
                                                   const Clock& clock) {
  META_ASSIGN_OR_RETURN(std::unique_ptr<Db> db, Db::Open(path));
  META_TRY(sqlite::MigrateSchema(*db));
  return std::unique_ptr<MetaStore>(new SqliteStore(std::move(db), path, clock));
}

}  // namespace holdfast::meta
