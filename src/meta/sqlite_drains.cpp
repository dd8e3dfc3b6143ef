#include "meta/sqlite_drains.h"

#include <nlohmann/json.hpp>

namespace holdfast::meta {

const char* DrainScopeName(DrainScope scope) {
  return scope == DrainScope::kProvider ? "provider" : "node";
}

const char* DrainStateName(DrainState state) {
  return state == DrainState::kRetired ? "retired" : "draining";
}

namespace sqlite {
namespace {

DrainScope ParseScope(const std::string& text) {
  return text == "provider" ? DrainScope::kProvider : DrainScope::kNode;
}

DrainState ParseState(const std::string& text) {
  return text == "retired" ? DrainState::kRetired : DrainState::kDraining;
}

}  // namespace

Result<std::vector<Drain>> LoadDrains(Db& db) {
  Stmt stmt = db.Prepare(
      "SELECT scope, name, state, started_unix_ms, retired_unix_ms FROM drains ORDER BY scope, name");
  std::vector<Drain> drains;
  while (true) {
    META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) break;
    Drain drain;
    drain.scope = ParseScope(stmt.ColumnText(0));
    drain.name = stmt.ColumnText(1);
    drain.state = ParseState(stmt.ColumnText(2));
    drain.started_unix_ms = stmt.ColumnInt(3);
    drain.retired_unix_ms = stmt.ColumnInt(4);
    drains.push_back(std::move(drain));
  }
  return drains;
}

Result<DrainState> LoadDrainState(Db& db, DrainScope scope, const std::string& name) {
  Stmt stmt = db.Prepare("SELECT state FROM drains WHERE scope = ?1 AND name = ?2");
  stmt.BindText(1, DrainScopeName(scope)).BindText(2, name);
  META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) {
    return MakeError(Errc::kNotFound, std::string(DrainScopeName(scope)) + " " + name + " is not being drained");
  }
  return ParseState(stmt.ColumnText(0));
}

Status InsertDrain(Db& db, DrainScope scope, const std::string& name, int64_t now_unix_ms) {
  Stmt stmt = db.Prepare(
      "INSERT INTO drains (scope, name, state, started_unix_ms) VALUES (?1, ?2, 'draining', ?3)");
  stmt.BindText(1, DrainScopeName(scope)).BindText(2, name).BindInt(3, now_unix_ms);
  return stmt.Run();
}

Status DeleteDrain(Db& db, DrainScope scope, const std::string& name) {
  Stmt stmt = db.Prepare("DELETE FROM drains WHERE scope = ?1 AND name = ?2");
  stmt.BindText(1, DrainScopeName(scope)).BindText(2, name);
  return stmt.Run();
}

Status MarkDrainRetired(Db& db, DrainScope scope, const std::string& name, int64_t now_unix_ms) {
  Stmt stmt = db.Prepare(
      "UPDATE drains SET state = 'retired', retired_unix_ms = ?3 WHERE scope = ?1 AND name = ?2");
  stmt.BindText(1, DrainScopeName(scope)).BindText(2, name).BindInt(3, now_unix_ms);
  return stmt.Run();
}

Result<NodeContents> CountContents(Db& db, const std::vector<std::string>& node_ids) {
  // The ids travel as a JSON array: one cached statement for any number of
  // nodes. Each node's rows come from the shards_by_node index.
  const std::string ids = nlohmann::json(node_ids).dump();
  NodeContents contents;
  Stmt committed = db.Prepare(R"sql(
SELECT count(*), count(DISTINCT s.version_id),
       coalesce(sum((v.size_bytes + v.k * v.block_size_bytes - 1) / (v.k * v.block_size_bytes)
                    * v.block_size_bytes), 0)
FROM shards AS s JOIN object_versions AS v ON v.version_id = s.version_id
WHERE s.node_id IN (SELECT value FROM json_each(?1)))sql");
  committed.BindText(1, ids);
  META_ASSIGN_OR_RETURN(const bool has_row, committed.Step());
  if (!has_row) return MakeError(Errc::kInternal, "sqlite: count returned no row");
  contents.shards = committed.ColumnInt(0);
  contents.versions = committed.ColumnInt(1);
  contents.shard_bytes = static_cast<uint64_t>(committed.ColumnInt(2));
  // pending_shards has no node index: writes in flight are few.
  Stmt pending = db.Prepare(
      "SELECT count(*) FROM pending_shards WHERE node_id IN (SELECT value FROM json_each(?1))");
  pending.BindText(1, ids);
  META_ASSIGN_OR_RETURN(const bool has_pending, pending.Step());
  if (!has_pending) return MakeError(Errc::kInternal, "sqlite: count returned no row");
  contents.pending_shards = pending.ColumnInt(0);
  return contents;
}

Status DropGcItemsOn(Db& db, const std::vector<std::string>& node_ids) {
  Stmt stmt = db.Prepare("DELETE FROM gc_queue WHERE node_id IN (SELECT value FROM json_each(?1))");
  stmt.BindText(1, nlohmann::json(node_ids).dump());
  return stmt.Run();
}

}  // namespace sqlite
}  // namespace holdfast::meta
