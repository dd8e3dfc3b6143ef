// Shard-location statements of the SQLite store that serve repair: moving
// shards by compare-and-set, the repair queue and its size. Internal to
// meta/; every function runs inside the caller's transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "meta/meta_store.h"
#include "meta/sqlite_db.h"

namespace holdfast::meta::sqlite {

// MetaStore::MoveShards without the transaction.
Result<int> ApplyShardMoves(Db& db, const std::vector<ShardMove>& moves, int64_t now_unix_ms);

// MetaStore::DamagedVersions without the transaction.
Result<std::vector<DamagedVersion>> ListDamagedVersions(Db& db,
                                                        const std::optional<DamagedVersion>& after,
                                                        int limit);

// MetaStore::CountUnderProtectedVersions without the transaction.
Result<int64_t> CountUnderProtected(Db& db, const std::vector<std::string>& lost_node_ids);

}  // namespace holdfast::meta::sqlite
