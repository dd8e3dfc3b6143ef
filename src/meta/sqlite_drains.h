// Drain statements of the SQLite store (table drains, schema v4). Internal to
// meta/; every function runs inside the caller's transaction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "meta/meta_store.h"
#include "meta/sqlite_db.h"

namespace holdfast::meta::sqlite {

Result<std::vector<Drain>> LoadDrains(Db& db);
// The state of one drain; kNotFound if there is none.
Result<DrainState> LoadDrainState(Db& db, DrainScope scope, const std::string& name);
Status InsertDrain(Db& db, DrainScope scope, const std::string& name, int64_t now_unix_ms);
Status DeleteDrain(Db& db, DrainScope scope, const std::string& name);
Status MarkDrainRetired(Db& db, DrainScope scope, const std::string& name, int64_t now_unix_ms);

// Committed and pending shards recorded on any of `node_ids`.
Result<NodeContents> CountContents(Db& db, const std::vector<std::string>& node_ids);
// Drops the GC queue's items for `node_ids`.
Status DropGcItemsOn(Db& db, const std::vector<std::string>& node_ids);

}  // namespace holdfast::meta::sqlite
