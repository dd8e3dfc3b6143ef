#include "meta/sqlite_rows.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>

#include "meta/sqlite_object_lock.h"

namespace holdfast::meta::sqlite {
namespace {

Result<std::vector<ShardLocation>> LoadShardsWith(Db& db, const char* sql,
                                                  const std::string& version_id) {
  Stmt stmt = db.Prepare(sql);
  stmt.BindText(1, version_id);
  std::vector<ShardLocation> shards;
  while (true) {
    META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) break;
    ShardLocation shard;
    shard.shard_index = static_cast<int>(stmt.ColumnInt(0));
    shard.node_id = stmt.ColumnText(1);
    META_ASSIGN_OR_RETURN(shard.state, ParseShardState(stmt.ColumnText(2)));
    shards.push_back(std::move(shard));
  }
  return shards;
}

Status Invalid(std::string message) {
  return MakeError(Errc::kInvalidArgument, std::move(message));
}

}  // namespace

const char* ShardStateText(ShardState state) {
  switch (state) {
    case ShardState::kOk:
      return "ok";
    case ShardState::kMissing:
      return "missing";
  }
  return "missing";
}

Result<ShardState> ParseShardState(const std::string& text) {
  if (text == "ok") return ShardState::kOk;
  if (text == "missing") return ShardState::kMissing;
  return MakeError(Errc::kCorrupt, "sqlite: unknown shard state '" + text + "'");
}

Result<std::string> EncodeUserMetadata(const std::map<std::string, std::string>& metadata) {
  try {
    return nlohmann::json(metadata).dump();
  } catch (const nlohmann::json::exception& e) {
    // dump() refuses strings that are not valid UTF-8.
    return MakeError(Errc::kInvalidArgument, std::string("user metadata: ") + e.what());
  }
}

Result<std::map<std::string, std::string>> DecodeUserMetadata(const std::string& json) {
  try {
    return nlohmann::json::parse(json).get<std::map<std::string, std::string>>();
  } catch (const nlohmann::json::exception& e) {
    return MakeError(Errc::kCorrupt, std::string("sqlite: stored user metadata: ") + e.what());
  }
}

const char* VersionKindText(VersionKind kind) {
  switch (kind) {
    case VersionKind::kObject:
      return "object";
    case VersionKind::kMultipart:
      return "multipart";
    case VersionKind::kPart:
      return "part";
    case VersionKind::kDeleteMarker:
      return "delete_marker";
  }
  return "object";
}

Result<VersionKind> ParseVersionKind(const std::string& text) {
  if (text == "object") return VersionKind::kObject;
  if (text == "multipart") return VersionKind::kMultipart;
  if (text == "part") return VersionKind::kPart;
  if (text == "delete_marker") return VersionKind::kDeleteMarker;
  return MakeError(Errc::kCorrupt, "sqlite: unknown version kind '" + text + "'");
}

Status ValidateVersion(const ObjectVersion& version) {
  if (version.version_id.empty()) return Invalid("version_id is empty");
  if (version.bucket.empty()) return Invalid("bucket is empty");
  if (version.kind == VersionKind::kMultipart || version.kind == VersionKind::kDeleteMarker) {
    if (!version.shards.empty()) return Invalid("multipart versions and delete markers have no shards of their own");
    if (version.size_bytes > static_cast<uint64_t>(INT64_MAX)) return Invalid("size_bytes too large");
    return Status::Ok();
  }
  if (version.data_shard_count <= 0 || version.parity_shard_count < 0) {
    return Invalid("need k > 0 and m >= 0");
  }
  if (version.block_size_bytes == 0) return Invalid("block_size_bytes is 0");
  if (version.size_bytes > static_cast<uint64_t>(INT64_MAX)) return Invalid("size_bytes too large");
  const size_t shard_count = static_cast<size_t>(version.data_shard_count) +
                             static_cast<size_t>(version.parity_shard_count);
  if (version.shards.size() != shard_count) return Invalid("need exactly k+m shard locations");
  for (size_t i = 0; i < version.shards.size(); ++i) {
    const ShardLocation& shard = version.shards[i];
    if (shard.shard_index != static_cast<int>(i)) return Invalid("shards must be ordered by index");
    if (shard.state == ShardState::kOk && shard.node_id.empty()) {
      return Invalid("shard " + std::to_string(i) + " is ok but has no node");
    }
  }
  return Status::Ok();
}

Status ValidatePending(const PendingWrite& pending) {
  if (pending.version_id.empty()) return Invalid("version_id is empty");
  if (pending.bucket.empty()) return Invalid("bucket is empty");
  std::set<int> seen;
  for (const ShardLocation& shard : pending.shards) {
    if (shard.shard_index < 0 || !seen.insert(shard.shard_index).second) {
      return Invalid("shard indices must be distinct and >= 0");
    }
    if (shard.state == ShardState::kOk && shard.node_id.empty()) {
      return Invalid("planned shard " + std::to_string(shard.shard_index) + " has no node");
    }
  }
  return Status::Ok();
}

Result<bool> BucketExists(Db& db, const std::string& bucket) {
  return RowExists(db, "SELECT 1 FROM buckets WHERE name = ?1", bucket);
}

Result<bool> RowExists(Db& db, const char* sql, const std::string& value) {
  Stmt stmt = db.Prepare(sql);
  stmt.BindText(1, value);
  return stmt.Step();
}

Status InsertBucket(Db& db, const Bucket& bucket) {
  Stmt stmt = db.Prepare("INSERT INTO buckets (name, owner_id, region, created_unix_ms) VALUES (?1, ?2, ?3, ?4)");
  stmt.BindText(1, bucket.name)
      .BindText(2, bucket.owner_id)
      .BindText(3, bucket.region)
      .BindInt(4, bucket.created_unix_ms);
  return stmt.Run();
}

Result<std::optional<std::string>> CurrentVersionId(Db& db, const std::string& bucket,
                                                    const std::string& key) {
  Stmt stmt = db.Prepare(
      "SELECT version_id FROM object_versions WHERE bucket = ?1 AND key = ?2 AND is_latest = 1");
  stmt.BindText(1, bucket).BindText(2, key);
  META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) return std::optional<std::string>();
  return std::optional<std::string>(stmt.ColumnText(0));
}

Result<std::vector<ShardLocation>> LoadShards(Db& db, const std::string& version_id) {
  return LoadShardsWith(db,
                        "SELECT shard_index, node_id, state FROM shards WHERE version_id = ?1 "
                        "ORDER BY shard_index",
                        version_id);
}

Result<std::vector<ShardLocation>> LoadPendingShards(Db& db, const std::string& version_id) {
  return LoadShardsWith(db,
                        "SELECT shard_index, node_id, state FROM pending_shards "
                        "WHERE version_id = ?1 ORDER BY shard_index",
                        version_id);
}

Status InsertVersion(Db& db, const ObjectVersion& version, int64_t seq) {
  META_ASSIGN_OR_RETURN(const std::string metadata, EncodeUserMetadata(version.user_metadata));
  META_ASSIGN_OR_RETURN(const std::string headers, EncodeUserMetadata(version.headers));
  const bool has_shards = version.kind == VersionKind::kObject || version.kind == VersionKind::kPart;
  Stmt stmt = db.Prepare(R"sql(
INSERT INTO object_versions (version_id, bucket, key, size_bytes, etag, content_type,
  user_metadata, created_unix_ms, k, m, block_size_bytes, is_latest, headers, kind,
  null_version, seq)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16))sql");
  stmt.BindText(1, version.version_id)
      .BindText(2, version.bucket)
      .BindText(3, version.key)
      .BindInt(4, static_cast<int64_t>(version.size_bytes))
      .BindText(5, version.etag)
      .BindText(6, version.content_type)
      .BindText(7, metadata)
      .BindInt(8, version.created_unix_ms)
      .BindInt(9, has_shards ? version.data_shard_count : 1)
      .BindInt(10, has_shards ? version.parity_shard_count : 0)
      .BindInt(11, has_shards ? version.block_size_bytes : 1)
      .BindInt(12, version.kind == VersionKind::kPart ? 0 : 1)
      .BindText(13, headers)
      .BindText(14, VersionKindText(version.kind))
      .BindInt(15, version.kind != VersionKind::kPart && version.null_version ? 1 : 0)
      .BindInt(16, seq);
  META_TRY(stmt.Run());
  for (const ShardLocation& shard : version.shards) {
    Stmt insert = db.Prepare(
        "INSERT INTO shards (version_id, shard_index, node_id, state) VALUES (?1, ?2, ?3, ?4)");
    insert.BindText(1, version.version_id)
        .BindInt(2, shard.shard_index)
        .BindText(3, shard.node_id)
        .BindText(4, ShardStateText(shard.state));
    META_TRY(insert.Run());
  }
  return Status::Ok();
}

Result<ObjectVersion> LoadVersion(Db& db, const std::string& version_id) {
  ObjectVersion version;
  {
    Stmt stmt = db.Prepare(R"sql(
SELECT version_id, size_bytes, etag, content_type, user_metadata, created_unix_ms,
       k, m, block_size_bytes, headers, bucket, key, kind, null_version, is_latest
FROM object_versions WHERE version_id = ?1)sql");
    stmt.BindText(1, version_id);
    META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) return MakeError(Errc::kNotFound, "no object version " + version_id);
    version.version_id = stmt.ColumnText(0);
    version.size_bytes = static_cast<uint64_t>(stmt.ColumnInt(1));
    version.etag = stmt.ColumnText(2);
    version.content_type = stmt.ColumnText(3);
    META_ASSIGN_OR_RETURN(version.user_metadata, DecodeUserMetadata(stmt.ColumnText(4)));
    version.created_unix_ms = stmt.ColumnInt(5);
    version.data_shard_count = static_cast<int>(stmt.ColumnInt(6));
    version.parity_shard_count = static_cast<int>(stmt.ColumnInt(7));
    version.block_size_bytes = static_cast<uint32_t>(stmt.ColumnInt(8));
    META_ASSIGN_OR_RETURN(version.headers, DecodeUserMetadata(stmt.ColumnText(9)));
    version.bucket = stmt.ColumnText(10);
    version.key = stmt.ColumnText(11);
    META_ASSIGN_OR_RETURN(version.kind, ParseVersionKind(stmt.ColumnText(12)));
    version.null_version = stmt.ColumnInt(13) != 0;
    version.is_latest = stmt.ColumnInt(14) != 0;
  }
  if (version.kind == VersionKind::kObject || version.kind == VersionKind::kPart) {
    META_ASSIGN_OR_RETURN(version.shards, LoadShards(db, version.version_id));
    return version;
  }
  if (version.kind == VersionKind::kDeleteMarker) {
    version.data_shard_count = version.parity_shard_count = 0;
    version.block_size_bytes = 0;
    return version;
  }
  version.data_shard_count = 0;  // placeholders in the row; no shards of its own
  version.parity_shard_count = 0;
  version.block_size_bytes = 0;
  std::vector<std::pair<int, std::string>> part_ids;
  {
    Stmt parts = db.Prepare(
        "SELECT part_number, offset_bytes, part_version_id FROM object_parts WHERE owner_id = ?1 "
        "ORDER BY part_number");
    parts.BindText(1, version.version_id);
    while (true) {
      META_ASSIGN_OR_RETURN(const bool has_row, parts.Step());
      if (!has_row) break;
      ObjectPart part;
      part.part_number = static_cast<int>(parts.ColumnInt(0));
      part.offset_bytes = static_cast<uint64_t>(parts.ColumnInt(1));
      part_ids.emplace_back(static_cast<int>(version.parts.size()), parts.ColumnText(2));
      version.parts.push_back(std::move(part));
    }
  }
  for (const auto& [index, part_id] : part_ids) {
    META_ASSIGN_OR_RETURN(version.parts[index].data, LoadVersion(db, part_id));
  }
  return version;
}

Status RemoveParts(Db& db, const std::string& owner_id, int64_t now_unix_ms) {
  std::vector<std::string> part_ids;
  {
    Stmt parts = db.Prepare("SELECT part_version_id FROM object_parts WHERE owner_id = ?1");
    parts.BindText(1, owner_id);
    while (true) {
      META_ASSIGN_OR_RETURN(const bool has_row, parts.Step());
      if (!has_row) break;
      part_ids.push_back(parts.ColumnText(0));
    }
  }
  if (part_ids.empty()) return Status::Ok();
  Stmt unlink = db.Prepare("DELETE FROM object_parts WHERE owner_id = ?1");
  unlink.BindText(1, owner_id);
  META_TRY(unlink.Run());
  for (const std::string& part_id : part_ids) META_TRY(RemoveVersion(db, part_id, now_unix_ms));
  return Status::Ok();
}

Status RemoveVersion(Db& db, const std::string& version_id, int64_t now_unix_ms,
                     LockBypass bypass) {
  // Before anything changes: a refusal must leave the version whole.
  META_TRY(CheckVersionRemovable(db, version_id, now_unix_ms, bypass));
  // A multipart version's parts (one probe of object_parts' primary key for
  // any other version).
  META_TRY(RemoveParts(db, version_id, now_unix_ms));
  // A shard recorded as missing may still have left a (partial) file on its
  // node; deleting a shard that is not there is harmless, leaking one is not.
  Stmt queue = db.Prepare(R"sql(
INSERT INTO gc_queue (version_id, shard_index, node_id, queued_unix_ms)
SELECT version_id, shard_index, node_id, ?2 FROM shards
WHERE version_id = ?1 AND node_id != '' ORDER BY shard_index)sql");
  queue.BindText(1, version_id).BindInt(2, now_unix_ms);
  META_TRY(queue.Run());
  Stmt shards = db.Prepare("DELETE FROM shards WHERE version_id = ?1");
  shards.BindText(1, version_id);
  META_TRY(shards.Run());
  Stmt version = db.Prepare("DELETE FROM object_versions WHERE version_id = ?1");
  version.BindText(1, version_id);
  return version.Run();
}

Status RemovePendingWrite(Db& db, const std::string& version_id, int64_t now_unix_ms) {
  Stmt queue = db.Prepare(R"sql(
INSERT INTO gc_queue (version_id, shard_index, node_id, queued_unix_ms)
SELECT p.version_id, p.shard_index, p.node_id, ?2 FROM pending_shards AS p
WHERE p.version_id = ?1 AND p.node_id != ''
  AND NOT EXISTS (SELECT 1 FROM shards AS s WHERE s.version_id = p.version_id
                  AND s.shard_index = p.shard_index AND s.node_id = p.node_id)
ORDER BY p.shard_index)sql");
  queue.BindText(1, version_id).BindInt(2, now_unix_ms);
  META_TRY(queue.Run());
  Stmt shards = db.Prepare("DELETE FROM pending_shards WHERE version_id = ?1");
  shards.BindText(1, version_id);
  META_TRY(shards.Run());
  Stmt pending = db.Prepare("DELETE FROM pending_writes WHERE version_id = ?1");
  pending.BindText(1, version_id);
  return pending.Run();
}

}  // namespace holdfast::meta::sqlite
