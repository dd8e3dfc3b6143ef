// Notice-ledger statements of the SQLite store: entries, stored complete
// subtrees and signed tree heads (schema v5). Internal to meta/; every
// function runs inside the caller's transaction. The store only keeps what
// ledger/ computes (it never hashes); ledger/ledger.h is the API to use.
// Schema: docs/metadata-schema.md ("ledger_entries, ledger_nodes and
// ledger_tree_heads (v5)").
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/result.h"
#include "meta/meta_store.h"
#include "meta/sqlite_db.h"

namespace holdfast::meta::sqlite {

Result<uint64_t> LedgerEntryCount(Db& db);

// kConflict unless entry.index == LedgerEntryCount (a concurrent appender
// won), before anything is written.
Status InsertLedgerEntry(Db& db, const LedgerEntryRecord& entry,
                         const std::vector<LedgerNodeRecord>& completed_nodes);

Result<std::vector<LedgerEntryRecord>> LoadLedgerEntries(Db& db, uint64_t first, int limit);

// Level 0 comes from ledger_entries.leaf_hash, higher levels from
// ledger_nodes. kNotFound naming the first subtree that is not stored.
Result<std::vector<std::string>> LoadLedgerSubtrees(Db& db, const std::vector<LedgerNodeId>& ids);

// kConflict if the head does not chain to the latest stored one (or to
// zeros, for the first), is older or smaller than it, or covers more entries
// than the log holds. Returns the head with its seq.
Result<LedgerTreeHeadRecord> InsertLedgerTreeHead(Db& db, const LedgerTreeHeadRecord& head);
Result<std::optional<LedgerTreeHeadRecord>> LoadLatestLedgerTreeHead(Db& db);
Result<std::vector<LedgerTreeHeadRecord>> LoadLedgerTreeHeads(Db& db, int64_t after_seq, int limit);
// The latest head of exactly `tree_size` entries, if any was signed.
Result<std::optional<LedgerTreeHeadRecord>> LoadLedgerTreeHeadOfSize(Db& db, uint64_t tree_size);

}  // namespace holdfast::meta::sqlite
