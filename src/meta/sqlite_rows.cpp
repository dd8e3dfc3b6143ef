#include "meta/sqlite_rows.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>

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

Status ValidateVersion(const ObjectVersion& version) {
  if (version.version_id.empty()) return Invalid("version_id is empty");
  if (version.bucket.empty()) return Invalid("bucket is empty");
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
  Stmt stmt = db.Prepare("SELECT 1 FROM buckets WHERE name = ?1");
  stmt.BindText(1, bucket);
  return stmt.Step();
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

Status RemoveVersion(Db& db, const std::string& version_id, int64_t now_unix_ms) {
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
