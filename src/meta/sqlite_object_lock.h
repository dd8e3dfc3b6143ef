// Object Lock statements of the SQLite store: the guard that every removal
// of a version row passes, bucket lock configurations, per-version retention
// and legal holds, and who may bypass GOVERNANCE retention. Internal to
// meta/; every function runs inside the caller's transaction. What is
// enforced where: docs/object-lock.md; schema: docs/metadata-schema.md (v6).
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "meta/meta_store.h"
#include "meta/sqlite_db.h"

namespace holdfast::meta::sqlite {

// ---- The guard ---------------------------------------------------------------
// Whether the committed version `version_id` may be destroyed now: kLocked,
// with a message naming the version and what protects it, while it is under
// legal hold or under retention that has not expired at `now_unix_ms`
// (GOVERNANCE can be overridden by LockBypass::kGovernance, COMPLIANCE never).
// A multipart part is protected by the completed version it belongs to. No
// such version: Ok (nothing to protect). RemoveVersion calls this first, so
// every path that deletes version rows or queues committed shards for GC
// passes here. Operator holds (sqlite_holds.h) are checked last, and cover
// parts of uploads in progress too.
Status CheckVersionRemovable(Db& db, const std::string& version_id, int64_t now_unix_ms,
                             LockBypass bypass);

// "2027-01-01T00:00:00Z" (milliseconds only when not zero), for messages.
std::string FormatUtc(int64_t unix_ms);
const char* RetentionModeText(RetentionMode mode);  // '', 'GOVERNANCE', 'COMPLIANCE'

// ---- Reading and writing lock state --------------------------------------------
// The lock of a committed version (empty if none or no such version).
Result<ObjectLock> LoadObjectLock(Db& db, const std::string& version_id);
// After InsertVersion of a new current version (CommitObject,
// CompleteMultipartUpload): records `version.lock`, or the bucket's default
// retention counted from version.created_unix_ms when the version asks for
// no retention of its own. kInvalidArgument for a lock in a bucket without
// Object Lock.
Status ApplyObjectLockOnCommit(Db& db, const ObjectVersion& version);

// Lock settings of a multipart upload in progress (CreateMultipartUpload).
Status SaveUploadLock(Db& db, const std::string& upload_id, const ObjectLock& lock);
Result<ObjectLock> LoadUploadLock(Db& db, const std::string& upload_id);

// kNotFound for no bucket.
Result<BucketObjectLock> LoadBucketObjectLock(Db& db, const std::string& bucket);
// A new bucket created with Object Lock: enabled, versioning Enabled.
Status EnableObjectLockOnNewBucket(Db& db, const std::string& bucket);
// MetaStore::PutBucketObjectLock without the transaction.
Status PutBucketObjectLock(Db& db, const std::string& bucket, const DefaultRetention& default_retention);
// kConflict if the bucket has Object Lock and `versioning` is not Enabled.
Status CheckVersioningChange(Db& db, const std::string& bucket, Versioning versioning);

// MetaStore::SetObjectRetention / SetObjectLegalHold without the transaction.
Status SetRetention(Db& db, const std::string& bucket, const std::string& key,
                    const std::string& s3_version_id, RetentionMode mode, int64_t retain_until_unix_ms,
                    int64_t now_unix_ms, LockBypass bypass);
Status SetLegalHold(Db& db, const std::string& bucket, const std::string& key,
                    const std::string& s3_version_id, bool on);

Status SetUserBypass(Db& db, const std::string& user_id, bool allowed);
Result<bool> LoadUserBypass(Db& db, const std::string& user_id);

}  // namespace holdfast::meta::sqlite
