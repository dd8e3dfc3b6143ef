// Row-level helpers of the SQLite store, internal to meta/: encoding of
// columns, input validation, and the statements shared by several public
// methods (loading shards, queueing shards for garbage collection).
// Every function runs inside the caller's transaction.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "meta/meta_store.h"
#include "meta/sqlite_db.h"

namespace holdfast::meta::sqlite {

const char* ShardStateText(ShardState state);  // 'ok' / 'missing'
Result<ShardState> ParseShardState(const std::string& text);
const char* VersionKindText(VersionKind kind);  // 'object' / 'multipart' / 'part' / 'delete_marker'
Result<VersionKind> ParseVersionKind(const std::string& text);

// user_metadata is stored as a JSON object of strings.
Result<std::string> EncodeUserMetadata(const std::map<std::string, std::string>& metadata);
Result<std::map<std::string, std::string>> DecodeUserMetadata(const std::string& json);

// kInvalidArgument unless the version is internally consistent: k > 0,
// m >= 0, block size > 0, exactly k+m shards with shard i at position i,
// and a node for every kOk shard; a kMultipart version has no shards (its
// parts are committed separately).
Status ValidateVersion(const ObjectVersion& version);
// kInvalidArgument unless shard indices are distinct and >= 0 and every
// kOk shard has a node.
Status ValidatePending(const PendingWrite& pending);

Result<bool> BucketExists(Db& db, const std::string& bucket);
// Whether `sql` (one ?1 parameter) returns a row for `value`.
Result<bool> RowExists(Db& db, const char* sql, const std::string& value);
// Inserts a plain bucket row (no Object Lock, no policy); the statement's
// error as is (kAlreadyExists for a name in use).
Status InsertBucket(Db& db, const Bucket& bucket);
// The version id of the current version of (bucket, key), if any.
Result<std::optional<std::string>> CurrentVersionId(Db& db, const std::string& bucket,
                                                    const std::string& key);

// Shards of a committed version / of a pending write, by shard index.
Result<std::vector<ShardLocation>> LoadShards(Db& db, const std::string& version_id);
Result<std::vector<ShardLocation>> LoadPendingShards(Db& db, const std::string& version_id);

// Inserts a committed version row and its shard rows (not its parts);
// `seq` orders it among its key's versions (0 for parts).
Status InsertVersion(Db& db, const ObjectVersion& version, int64_t seq = 0);
// A committed version row with its shards and, for kMultipart, its parts.
Result<ObjectVersion> LoadVersion(Db& db, const std::string& version_id);
// Deletes a committed version and its shard rows; every shard that has a
// node goes to the GC queue. A multipart version's parts go with it.
// kLocked, changing nothing, while Object Lock protects the version at
// `now_unix_ms` (CheckVersionRemovable in sqlite_object_lock.h): every
// removal of a version row goes through here, so none can skip the guard.
Status RemoveVersion(Db& db, const std::string& version_id, int64_t now_unix_ms,
                     LockBypass bypass = LockBypass::kNone);
// Deletes the parts recorded under `owner_id` (an upload or a multipart
// version), as RemoveVersion does.
Status RemoveParts(Db& db, const std::string& owner_id, int64_t now_unix_ms);
// Deletes a pending write (if any). Every planned shard that has a node goes
// to the GC queue unless the committed version (if any) holds that shard at
// that same node: so on abort all of them, on commit those the gateway
// placed elsewhere in the end (they may have left partial files behind).
Status RemovePendingWrite(Db& db, const std::string& version_id, int64_t now_unix_ms);

}  // namespace holdfast::meta::sqlite
