#include "meta/sqlite_ledger.h"

#include <string>

namespace holdfast::meta::sqlite {
namespace {

constexpr int64_t kMaxIndex = INT64_MAX;

LedgerEntryRecord ReadEntry(const Stmt& row) {
  LedgerEntryRecord entry;
  entry.index = static_cast<uint64_t>(row.ColumnInt(0));
  entry.kind = row.ColumnText(1);
  entry.timestamp_ms = row.ColumnInt(2);
  entry.leaf_hash_hex = row.ColumnText(3);
  entry.canonical = row.ColumnText(4);
  return entry;
}

LedgerTreeHeadRecord ReadHead(const Stmt& row) {
  LedgerTreeHeadRecord head;
  head.seq = row.ColumnInt(0);
  head.tree_size = static_cast<uint64_t>(row.ColumnInt(1));
  head.timestamp_ms = row.ColumnInt(2);
  head.root_hash_hex = row.ColumnText(3);
  head.previous_hash_hex = row.ColumnText(4);
  head.head_hash_hex = row.ColumnText(5);
  head.signature_hex = row.ColumnText(6);
  return head;
}

Status CheckIndex(uint64_t index, const char* what) {
  if (index > static_cast<uint64_t>(kMaxIndex)) {
    return MakeError(Errc::kInvalidArgument, std::string(what) + " beyond the signed 64-bit range");
  }
  return Status::Ok();
}

}  // namespace

Result<uint64_t> LedgerEntryCount(Db& db) {
  // max() walks down the rowid b-tree, O(log n); count(*) would scan it.
  Stmt stmt = db.Prepare("SELECT coalesce(max(idx) + 1, 0) FROM ledger_entries");
  META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) return MakeError(Errc::kInternal, "sqlite: max() returned no row");
  return static_cast<uint64_t>(stmt.ColumnInt(0));
}

Status InsertLedgerEntry(Db& db, const LedgerEntryRecord& entry,
                         const std::vector<LedgerNodeRecord>& completed_nodes) {
  META_TRY(CheckIndex(entry.index, "ledger index"));
  META_ASSIGN_OR_RETURN(const uint64_t count, LedgerEntryCount(db));
  if (entry.index != count) {
    return MakeError(Errc::kConflict, "ledger entry " + std::to_string(entry.index) +
                                          " cannot be appended: the log holds " + std::to_string(count) +
                                          " entries");
  }
  Stmt insert = db.Prepare(
      "INSERT INTO ledger_entries (idx, kind, timestamp_ms, leaf_hash, canonical) "
      "VALUES (?1, ?2, ?3, ?4, ?5)");
  insert.BindInt(1, static_cast<int64_t>(entry.index))
      .BindText(2, entry.kind)
      .BindInt(3, entry.timestamp_ms)
      .BindText(4, entry.leaf_hash_hex)
      .BindText(5, entry.canonical);
  META_TRY(insert.Run());
  for (const LedgerNodeRecord& node : completed_nodes) {
    Stmt stmt = db.Prepare("INSERT INTO ledger_nodes (level, idx, hash) VALUES (?1, ?2, ?3)");
    stmt.BindInt(1, node.id.level).BindInt(2, static_cast<int64_t>(node.id.index)).BindText(3, node.hash_hex);
    META_TRY(stmt.Run());
  }
  return Status::Ok();
}

Result<std::vector<LedgerEntryRecord>> LoadLedgerEntries(Db& db, uint64_t first, int limit) {
  META_TRY(CheckIndex(first, "first ledger index"));
  Stmt stmt = db.Prepare(
      "SELECT idx, kind, timestamp_ms, leaf_hash, canonical FROM ledger_entries "
      "WHERE idx >= ?1 ORDER BY idx LIMIT ?2");
  stmt.BindInt(1, static_cast<int64_t>(first)).BindInt(2, limit);
  std::vector<LedgerEntryRecord> entries;
  while (true) {
    META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) return entries;
    entries.push_back(ReadEntry(stmt));
  }
}

Result<std::vector<std::string>> LoadLedgerSubtrees(Db& db, const std::vector<LedgerNodeId>& ids) {
  std::vector<std::string> hashes;
  hashes.reserve(ids.size());
  for (const LedgerNodeId& id : ids) {
    META_TRY(CheckIndex(id.index, "ledger subtree index"));
    Stmt stmt = id.level == 0 ? db.Prepare("SELECT leaf_hash FROM ledger_entries WHERE idx = ?1")
                              : db.Prepare("SELECT hash FROM ledger_nodes WHERE idx = ?1 AND level = ?2");
    stmt.BindInt(1, static_cast<int64_t>(id.index));
    if (id.level != 0) stmt.BindInt(2, id.level);
    META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) {
      return MakeError(Errc::kNotFound, "ledger subtree at level " + std::to_string(id.level) + " index " +
                                            std::to_string(id.index) + " is not stored");
    }
    hashes.push_back(stmt.ColumnText(0));
  }
  return hashes;
}

Result<LedgerTreeHeadRecord> InsertLedgerTreeHead(Db& db, const LedgerTreeHeadRecord& head) {
  META_TRY(CheckIndex(head.tree_size, "tree size"));
  META_ASSIGN_OR_RETURN(const uint64_t count, LedgerEntryCount(db));
  if (head.tree_size > count) {
    return MakeError(Errc::kConflict, "a tree head of " + std::to_string(head.tree_size) +
                                          " entries, but the log holds " + std::to_string(count));
  }
  // Heads are kept in signing order, and that order must never go back in
  // size or time: verifiers check it, and a head that did would be a fork.
  META_ASSIGN_OR_RETURN(const std::optional<LedgerTreeHeadRecord> latest, LoadLatestLedgerTreeHead(db));
  const std::string expected_previous = latest ? latest->head_hash_hex : std::string(64, '0');
  if (head.previous_hash_hex != expected_previous) {
    return MakeError(Errc::kConflict, "a tree head that does not follow the latest one (another writer signed "
                                      "meanwhile)");
  }
  if (latest && (head.tree_size < latest->tree_size || head.timestamp_ms < latest->timestamp_ms)) {
    return MakeError(Errc::kConflict, "a tree head of " + std::to_string(head.tree_size) + " entries at " +
                                          std::to_string(head.timestamp_ms) + " ms is older than the latest (" +
                                          std::to_string(latest->tree_size) + " entries at " +
                                          std::to_string(latest->timestamp_ms) + " ms)");
  }
  Stmt stmt = db.Prepare(
      "INSERT INTO ledger_tree_heads (tree_size, timestamp_ms, root_hash, previous_hash, head_hash, signature) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  stmt.BindInt(1, static_cast<int64_t>(head.tree_size))
      .BindInt(2, head.timestamp_ms)
      .BindText(3, head.root_hash_hex)
      .BindText(4, head.previous_hash_hex)
      .BindText(5, head.head_hash_hex)
      .BindText(6, head.signature_hex);
  META_TRY(stmt.Run());
  Stmt seq = db.Prepare("SELECT last_insert_rowid()");
  META_ASSIGN_OR_RETURN(const bool has_row, seq.Step());
  if (!has_row) return MakeError(Errc::kInternal, "sqlite: last_insert_rowid() returned no row");
  LedgerTreeHeadRecord stored = head;
  stored.seq = seq.ColumnInt(0);
  return stored;
}

Result<std::optional<LedgerTreeHeadRecord>> LoadLatestLedgerTreeHead(Db& db) {
  Stmt stmt = db.Prepare(
      "SELECT seq, tree_size, timestamp_ms, root_hash, previous_hash, head_hash, signature FROM ledger_tree_heads "
      "ORDER BY seq DESC LIMIT 1");
  META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) return std::optional<LedgerTreeHeadRecord>();
  return std::optional<LedgerTreeHeadRecord>(ReadHead(stmt));
}

Result<std::vector<LedgerTreeHeadRecord>> LoadLedgerTreeHeads(Db& db, int64_t after_seq, int limit) {
  Stmt stmt = db.Prepare(
      "SELECT seq, tree_size, timestamp_ms, root_hash, previous_hash, head_hash, signature FROM ledger_tree_heads "
      "WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  stmt.BindInt(1, after_seq).BindInt(2, limit);
  std::vector<LedgerTreeHeadRecord> heads;
  while (true) {
    META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) return heads;
    heads.push_back(ReadHead(stmt));
  }
}

Result<std::optional<LedgerTreeHeadRecord>> LoadLedgerTreeHeadOfSize(Db& db, uint64_t tree_size) {
  META_TRY(CheckIndex(tree_size, "tree size"));
  Stmt stmt = db.Prepare(
      "SELECT seq, tree_size, timestamp_ms, root_hash, previous_hash, head_hash, signature FROM ledger_tree_heads "
      "WHERE tree_size = ?1 ORDER BY seq DESC LIMIT 1");
  stmt.BindInt(1, static_cast<int64_t>(tree_size));
  META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) return std::optional<LedgerTreeHeadRecord>();
  return std::optional<LedgerTreeHeadRecord>(ReadHead(stmt));
}

}  // namespace holdfast::meta::sqlite
