#include "meta/sqlite_versions.h"

#include <algorithm>

#include "meta/sqlite_list.h"
#include "meta/sqlite_rows.h"

namespace holdfast::meta::sqlite {
namespace {

// Every query over a key's versions repeats `kind != 'part'` so that SQLite
// may use the partial index object_versions_by_key (bucket, key, seq DESC).

std::optional<std::string> CommonPrefixOf(const std::string& key, const VersionListQuery& query) {
  auto prefix = sqlite::CommonPrefixOf(key, query.prefix, query.delimiter);
  return prefix ? std::optional<std::string>(*prefix) : std::nullopt;
}

struct Row {
  ObjectVersion version;
  int64_t seq = 0;
};

Result<std::vector<Row>> ReadRows(Stmt& stmt) {
  std::vector<Row> rows;
  while (true) {
    META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) return rows;
    Row row;
    ObjectVersion& v = row.version;
    v.bucket = stmt.ColumnText(0);
    v.key = stmt.ColumnText(1);
    v.version_id = stmt.ColumnText(2);
    v.size_bytes = static_cast<uint64_t>(stmt.ColumnInt(3));
    v.etag = stmt.ColumnText(4);
    v.created_unix_ms = stmt.ColumnInt(5);
    META_ASSIGN_OR_RETURN(v.kind, ParseVersionKind(stmt.ColumnText(6)));
    v.null_version = stmt.ColumnInt(7) != 0;
    v.is_latest = stmt.ColumnInt(8) != 0;
    row.seq = stmt.ColumnInt(9);
    rows.push_back(std::move(row));
  }
}

}  // namespace

const char* VersioningText(Versioning versioning) {
  switch (versioning) {
    case Versioning::kNeverEnabled:
      return "";
    case Versioning::kEnabled:
      return "Enabled";
    case Versioning::kSuspended:
      return "Suspended";
  }
  return "";
}

Versioning ParseVersioning(const std::string& text) {
  if (text == "Enabled") return Versioning::kEnabled;
  if (text == "Suspended") return Versioning::kSuspended;
  return Versioning::kNeverEnabled;
}

Result<Versioning> LoadBucketVersioning(Db& db, const std::string& bucket) {
  Stmt stmt = db.Prepare("SELECT versioning FROM buckets WHERE name = ?1");
  stmt.BindText(1, bucket);
  META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) return MakeError(Errc::kNotFound, "bucket " + bucket + " does not exist");
  return ParseVersioning(stmt.ColumnText(0));
}

Result<int64_t> MakeRoomForNewVersion(Db& db, const std::string& bucket, const std::string& key,
                                      bool null_version, int64_t now_unix_ms,
                                      std::vector<std::string>* removed) {
  if (null_version) {
    META_ASSIGN_OR_RETURN(const std::optional<std::string> old_null, FindVersionId(db, bucket, key, "null"));
    if (old_null) {
      META_TRY(RemoveVersion(db, *old_null, now_unix_ms));
      removed->push_back(*old_null);
    }
  }
  Stmt demote = db.Prepare(
      "UPDATE object_versions SET is_latest = 0 WHERE bucket = ?1 AND key = ?2 AND is_latest = 1");
  demote.BindText(1, bucket).BindText(2, key);
  META_TRY(demote.Run());
  Stmt newest = db.Prepare(
      "SELECT COALESCE(MAX(seq), 0) FROM object_versions WHERE bucket = ?1 AND key = ?2 AND kind != 'part'");
  newest.BindText(1, bucket).BindText(2, key);
  META_ASSIGN_OR_RETURN(const bool has_row, newest.Step());
  return has_row ? newest.ColumnInt(0) + 1 : int64_t{1};
}

Result<std::optional<std::string>> FindVersionId(Db& db, const std::string& bucket,
                                                 const std::string& key,
                                                 const std::string& s3_version_id) {
  Stmt stmt = db.Prepare(s3_version_id == "null"
                             ? "SELECT version_id FROM object_versions WHERE bucket = ?1 AND key = ?2 "
                               "AND kind != 'part' AND null_version = 1 LIMIT 1"
                             : "SELECT version_id FROM object_versions WHERE version_id = ?3 "
                               "AND bucket = ?1 AND key = ?2 AND kind != 'part' AND null_version = 0");
  stmt.BindText(1, bucket).BindText(2, key);
  if (s3_version_id != "null") stmt.BindText(3, s3_version_id);
  META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) return std::optional<std::string>();
  return std::optional<std::string>(stmt.ColumnText(0));
}

Status PromoteNewestVersion(Db& db, const std::string& bucket, const std::string& key) {
  META_ASSIGN_OR_RETURN(const std::optional<std::string> current, CurrentVersionId(db, bucket, key));
  if (current) return Status::Ok();
  Stmt promote = db.Prepare(R"sql(
UPDATE object_versions SET is_latest = 1 WHERE version_id = (
  SELECT version_id FROM object_versions WHERE bucket = ?1 AND key = ?2 AND kind != 'part'
  ORDER BY seq DESC LIMIT 1))sql");
  promote.BindText(1, bucket).BindText(2, key);
  return promote.Run();
}

Result<bool> BucketHasVersions(Db& db, const std::string& bucket) {
  Stmt stmt = db.Prepare("SELECT 1 FROM object_versions WHERE bucket = ?1 AND kind != 'part' LIMIT 1");
  stmt.BindText(1, bucket);
  return stmt.Step();
}

// Walks object_versions_by_key in (key, seq DESC) order in batches, folding
// keys under a common prefix into it and jumping past the prefix's keys
// with the next query.
Result<VersionListResult> ListVersions(Db& db, const std::string& bucket, const VersionListQuery& query) {
  VersionListResult result;
  const int max_keys = std::clamp(query.max_keys, 0, 1000);
  if (max_keys == 0) return result;
  // Position: strictly after (after_key, after_seq) in (key ASC, seq DESC).
  std::string after_key = query.key_marker;
  int64_t after_seq = -1;  // -1: after every version of after_key
  bool positioned = !query.key_marker.empty();
  if (positioned && !query.version_id_marker.empty()) {
    META_ASSIGN_OR_RETURN(const std::optional<std::string> marker,
                          FindVersionId(db, bucket, query.key_marker, query.version_id_marker));
    if (marker) {
      Stmt seq = db.Prepare("SELECT seq FROM object_versions WHERE version_id = ?1");
      seq.BindText(1, *marker);
      META_ASSIGN_OR_RETURN(const bool has_row, seq.Step());
      if (has_row) after_seq = seq.ColumnInt(0);
    }
  }
  std::string lower = query.prefix;
  if (positioned) {
    // A marker inside a common prefix (e.g. the NextKeyMarker of a page that
    // ended on one) resumes after every key rolled up into that prefix.
    if (std::optional<std::string> prefix = CommonPrefixOf(query.key_marker, query);
        prefix && query.key_marker.starts_with(query.prefix)) {
      std::optional<std::string> skip = PrefixSuccessor(*prefix);
      if (!skip) return result;
      lower = std::max(lower, *skip);
      positioned = false;
    }
  }
  int emitted = 0;
  while (true) {
    Stmt stmt = db.Prepare(R"sql(
SELECT bucket, key, version_id, size_bytes, etag, created_unix_ms, kind, null_version, is_latest, seq
FROM object_versions
WHERE bucket = ?1 AND kind != 'part' AND key >= ?2
  AND (?3 = 0 OR key > ?4 OR (key = ?4 AND seq < ?5))
ORDER BY key, seq DESC LIMIT 256)sql");
    stmt.BindText(1, bucket)
        .BindText(2, lower)
        .BindInt(3, positioned ? 1 : 0)
        .BindText(4, after_key)
        .BindInt(5, after_seq);
    META_ASSIGN_OR_RETURN(std::vector<Row> rows, ReadRows(stmt));
    if (rows.empty()) return result;
    for (Row& row : rows) {
      const std::string& key = row.version.key;
      if (!key.starts_with(query.prefix)) return result;
      if (emitted == max_keys) {
        result.is_truncated = true;
        return result;
      }
      if (std::optional<std::string> prefix = CommonPrefixOf(key, query)) {
        result.common_prefixes.push_back(*prefix);
        result.next_key_marker = *prefix;
        result.next_version_id_marker.clear();
        ++emitted;
        std::optional<std::string> skip = PrefixSuccessor(*prefix);
        if (!skip) return result;
        lower = std::max(lower, *skip);
        positioned = false;
        break;
      }
      result.next_key_marker = key;
      result.next_version_id_marker = S3VersionId(row.version);
      after_key = key;
      after_seq = row.seq;
      positioned = true;
      result.versions.push_back(std::move(row.version));
      ++emitted;
    }
  }
}

}  // namespace holdfast::meta::sqlite
