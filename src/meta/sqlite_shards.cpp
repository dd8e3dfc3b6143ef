#include "meta/sqlite_shards.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "meta/sqlite_holds.h"
#include "meta/sqlite_rows.h"

namespace holdfast::meta::sqlite {
namespace {

Status QueueForGc(Db& db, const std::string& version_id, int shard_index,
                  const std::string& node_id, int64_t now_unix_ms) {
  Stmt queue = db.Prepare(
      "INSERT INTO gc_queue (version_id, shard_index, node_id, queued_unix_ms) "
      "VALUES (?1, ?2, ?3, ?4)");
  queue.BindText(1, version_id).BindInt(2, shard_index).BindText(3, node_id);
  queue.BindInt(4, now_unix_ms);
  return queue.Run();
}

// The node the catalogue records for a shard; nullopt if there is no such
// shard (the version is gone).
Result<std::optional<std::string>> RecordedNode(Db& db, const std::string& version_id,
                                                int shard_index) {
  Stmt stmt = db.Prepare("SELECT node_id FROM shards WHERE version_id = ?1 AND shard_index = ?2");
  stmt.BindText(1, version_id).BindInt(2, shard_index);
  META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) return std::optional<std::string>();
  return std::optional<std::string>(stmt.ColumnText(0));
}

Result<bool> ApplyOne(Db& db, const ShardMove& move, int64_t now_unix_ms) {
  META_ASSIGN_OR_RETURN(const std::optional<std::string> recorded,
                        RecordedNode(db, move.version_id, move.shard_index));
  if (!recorded || *recorded != move.from_node_id) {
    // Lost the race. A copy written for this move is referenced by nothing.
    if (move.to_state == ShardState::kOk && !move.to_node_id.empty() &&
        (!recorded || *recorded != move.to_node_id)) {
      META_TRY(QueueForGc(db, move.version_id, move.shard_index, move.to_node_id, now_unix_ms));
    }
    return false;
  }
  if (!move.to_node_id.empty() && move.to_node_id != move.from_node_id) {
    // Two movers (repair and rebalance, say) may each have picked this node
    // for a different shard of the version: one node never holds two.
    Stmt other = db.Prepare("SELECT 1 FROM shards WHERE version_id = ?1 AND node_id = ?2 AND shard_index != ?3");
    other.BindText(1, move.version_id).BindText(2, move.to_node_id).BindInt(3, move.shard_index);
    META_ASSIGN_OR_RETURN(const bool occupied, other.Step());
    if (occupied) {
      if (move.to_state == ShardState::kOk) {
        META_TRY(QueueForGc(db, move.version_id, move.shard_index, move.to_node_id, now_unix_ms));
      }
      return false;
    }
  }
  if (!move.from_node_id.empty() && move.from_node_id != move.to_node_id) {
    META_TRY(QueueForGc(db, move.version_id, move.shard_index, move.from_node_id, now_unix_ms));
    META_TRY(RecordHeldDeparture(db, move.version_id, move.from_node_id));
  }
  Stmt update = db.Prepare(
      "UPDATE shards SET node_id = ?3, state = ?4 WHERE version_id = ?1 AND shard_index = ?2");
  update.BindText(1, move.version_id).BindInt(2, move.shard_index).BindText(3, move.to_node_id);
  update.BindText(4, ShardStateText(move.to_state));
  META_TRY(update.Run());
  return true;
}

}  // namespace

Result<int> ApplyShardMoves(Db& db, const std::vector<ShardMove>& moves, int64_t now_unix_ms) {
  for (const ShardMove& move : moves) {
    if (move.to_state == ShardState::kOk && move.to_node_id.empty()) {
      return MakeError(Errc::kInvalidArgument, "an ok shard needs a node");
    }
  }
  int applied = 0;
  for (const ShardMove& move : moves) {
    META_ASSIGN_OR_RETURN(const bool done, ApplyOne(db, move, now_unix_ms));
    if (done) ++applied;
  }
  return applied;
}

Result<std::vector<DamagedVersion>> ListDamagedVersions(Db& db,
                                                        const std::optional<DamagedVersion>& after,
                                                        int limit) {
  // As UnderProtectedVersions: the inner query walks only the partial index
  // shards_not_ok, so the cost follows the damage, not the catalogue.
  Stmt stmt = db.Prepare(R"sql(
WITH damaged AS (
  SELECT v.version_id AS version_id,
         (SELECT count(*) FROM shards AS s
          WHERE s.version_id = v.version_id AND s.state = 'ok') - v.k AS spare_shards
  FROM (SELECT DISTINCT version_id FROM shards WHERE state != 'ok') AS u
  JOIN object_versions AS v ON v.version_id = u.version_id)
SELECT version_id, spare_shards FROM damaged
WHERE (spare_shards, version_id) > (?1, ?2)
ORDER BY spare_shards, version_id LIMIT ?3)sql");
  if (after) {
    stmt.BindInt(1, after->spare_shards).BindText(2, after->version_id);
  } else {
    stmt.BindInt(1, std::numeric_limits<int64_t>::min()).BindText(2, "");
  }
  stmt.BindInt(3, limit);
  std::vector<DamagedVersion> versions;
  while (true) {
    META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) return versions;
    versions.push_back(DamagedVersion{stmt.ColumnText(0), static_cast<int>(stmt.ColumnInt(1))});
  }
}

Result<int64_t> CountUnderProtected(Db& db, const std::vector<std::string>& lost_node_ids) {
  // One fixed statement for any number of nodes: the ids travel as a JSON
  // array (the statement cache must not grow with the data).
  const std::string lost = nlohmann::json(lost_node_ids).dump();
  Stmt stmt = db.Prepare(R"sql(
SELECT count(*) FROM (
  SELECT version_id FROM shards WHERE state != 'ok'
  UNION
  SELECT version_id FROM shards WHERE node_id IN (SELECT value FROM json_each(?1))))sql");
  stmt.BindText(1, lost);
  META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) return MakeError(Errc::kInternal, "sqlite: count returned no row");
  return stmt.ColumnInt(0);
}

}  // namespace holdfast::meta::sqlite
