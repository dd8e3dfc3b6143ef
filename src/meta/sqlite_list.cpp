#include "meta/sqlite_list.h"

#include <algorithm>

namespace holdfast::meta::sqlite {
namespace {

constexpr int kMaxKeysLimit = 1000;

// Both carry `is_latest = 1` so that SQLite may use the partial index; the
// bounds make each query one index range scan in key order. A key whose
// current version is a delete marker is not listed.
constexpr const char* kListBoundedSql = R"sql(
SELECT key, size_bytes, etag, created_unix_ms FROM object_versions
WHERE bucket = ?1 AND is_latest = 1 AND key >= ?2 AND key < ?3 AND kind != 'delete_marker'
ORDER BY key LIMIT ?4)sql";
constexpr const char* kListOpenSql = R"sql(
SELECT key, size_bytes, etag, created_unix_ms FROM object_versions
WHERE bucket = ?1 AND is_latest = 1 AND key >= ?2 AND kind != 'delete_marker'
ORDER BY key LIMIT ?3)sql";

// The common prefix that `key` (which starts with the query's prefix) rolls
// up into, if any: everything up to and including the first delimiter after
// the prefix.
std::optional<std::string_view> CommonPrefixOf(std::string_view key, const ListQuery& query) {
  return sqlite::CommonPrefixOf(key, query.prefix, query.delimiter);
}

// The smallest string strictly greater than `s`: appending the smallest byte.
// SQLite compares TEXT byte-wise with lengths (memcmp, BINARY collation),
// so an embedded NUL in a bound value is compared correctly.
std::string Successor(std::string_view s) {
  std::string next(s);
  next.push_back('\0');
  return next;
}

// The inclusive lower bound of the walk, or nullopt when nothing can follow
// start_after.
std::optional<std::string> LowerBound(const ListQuery& query) {
  std::string lower = query.prefix;
  const std::string& start = query.start_after;
  if (start.empty()) return lower;
  std::string after_start;
  if (start.starts_with(query.prefix)) {
    if (auto prefix = CommonPrefixOf(start, query)) {
      // Every key beginning with this common prefix rolls up into it, and
      // it is not after start_after: skip them all.
      std::optional<std::string> skip = PrefixSuccessor(*prefix);
      if (!skip) return std::nullopt;
      after_start = std::move(*skip);
    } else {
      after_start = Successor(start);
    }
  } else {
    after_start = Successor(start);
  }
  return std::max(lower, after_start);
}

struct Walk {
  Walk(const ListQuery& q, int max) : query(q), max_keys(max) {}
  const ListQuery& query;
  int max_keys;
  ListResult result;
  int emitted = 0;
  std::string last;  // the last key or common prefix emitted
};

enum class Next { kContinue, kRestart, kDone };

// Consumes one row of a batch; moves `lower` past what it emitted.
Next TakeRow(Walk& walk, const Stmt& row, std::string& lower) {
  if (walk.emitted == walk.max_keys) {
    // There is one more entry after the page: the next row either is an
    // object or starts a common prefix not yet emitted (lower skips those).
    walk.result.is_truncated = true;
    walk.result.next_start_after = walk.last;
    return Next::kDone;
  }
  std::string key = row.ColumnText(0);
  ++walk.emitted;
  if (auto prefix = CommonPrefixOf(key, walk.query)) {
    walk.last.assign(*prefix);
    walk.result.common_prefixes.push_back(walk.last);
    std::optional<std::string> skip = PrefixSuccessor(walk.last);
    if (!skip) return Next::kDone;
    lower = std::move(*skip);
    return Next::kRestart;
  }
  ListedObject object;
  object.size_bytes = static_cast<uint64_t>(row.ColumnInt(1));
  object.etag = row.ColumnText(2);
  object.modified_unix_ms = row.ColumnInt(3);
  lower = Successor(key);
  walk.last = key;
  object.key = std::move(key);
  walk.result.objects.push_back(std::move(object));
  return Next::kContinue;
}

}  // namespace

std::optional<std::string_view> CommonPrefixOf(std::string_view key, std::string_view prefix,
                                               std::string_view delimiter) {
  if (delimiter.empty()) return std::nullopt;
  const size_t pos = key.find(delimiter, prefix.size());
  if (pos == std::string_view::npos) return std::nullopt;
  return key.substr(0, pos + delimiter.size());
}

std::optional<std::string> PrefixSuccessor(std::string_view prefix) {
  std::string next(prefix);
  while (!next.empty() && static_cast<unsigned char>(next.back()) == 0xFF) next.pop_back();
  if (next.empty()) return std::nullopt;
  next.back() = static_cast<char>(static_cast<unsigned char>(next.back()) + 1);
  return next;
}

Result<ListResult> ListCurrentObjects(Db& db, const std::string& bucket, const ListQuery& query) {
  if (query.max_keys < 0) return MakeError(Errc::kInvalidArgument, "max_keys must not be negative");
  Walk walk(query, std::min(query.max_keys, kMaxKeysLimit));
  if (walk.max_keys == 0) return std::move(walk.result);

  std::optional<std::string> lower = LowerBound(query);
  const std::optional<std::string> upper = PrefixSuccessor(query.prefix);
  if (!lower) return std::move(walk.result);

  // Each batch reads at most one row beyond the page; a common prefix ends
  // the batch and the next one starts past everything beneath it.
  while (!upper || *lower < *upper) {
    const int64_t batch_rows = walk.max_keys - walk.emitted + 1;
    Stmt stmt = db.Prepare(upper ? kListBoundedSql : kListOpenSql);
    stmt.BindText(1, bucket).BindText(2, *lower);
    if (upper) {
      stmt.BindText(3, *upper).BindInt(4, batch_rows);
    } else {
      stmt.BindInt(3, batch_rows);
    }
    int64_t rows = 0;
    Next next = Next::kContinue;
    while (next == Next::kContinue) {
      META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
      if (!has_row) break;
      ++rows;
      next = TakeRow(walk, stmt, *lower);
    }
    if (next == Next::kDone) break;
    // A batch that ran dry before its limit has seen the last key in range.
    if (next == Next::kContinue && rows < batch_rows) break;
  }
  return std::move(walk.result);
}

}  // namespace holdfast::meta::sqlite
