// ListObjects for the SQLite store: an ordered walk over the partial index
// object_versions_latest (bucket, key) that jumps over each common prefix
// with a fresh range query instead of reading the keys beneath it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "meta/meta_store.h"
#include "meta/sqlite_db.h"

namespace holdfast::meta::sqlite {

// The smallest byte string greater than every string that starts with
// `prefix`; nullopt when there is none (empty or all 0xFF bytes).
std::optional<std::string> PrefixSuccessor(std::string_view prefix);

// The common prefix that `key` (which starts with `prefix`) rolls up into
// when listing with `delimiter`: everything up to and including the first
// delimiter after the prefix; nullopt if none (or no delimiter).
std::optional<std::string_view> CommonPrefixOf(std::string_view key, std::string_view prefix,
                                               std::string_view delimiter);

// Lists the current versions in `bucket` (which the caller has checked
// exists), inside the caller's read transaction. Keys compare as byte
// strings. A key or common prefix is "after start_after" when it compares
// greater; in particular, when start_after lies inside a common prefix, that
// prefix is not returned again. max_keys 0 lists nothing (not truncated);
// kInvalidArgument below 0; above 1000 counts as 1000.
Result<ListResult> ListCurrentObjects(Db& db, const std::string& bucket, const ListQuery& query);

}  // namespace holdfast::meta::sqlite
