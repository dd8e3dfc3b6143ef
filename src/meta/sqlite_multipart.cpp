#include "meta/sqlite_multipart.h"

#include <algorithm>

#include "meta/sqlite_list.h"
#include "meta/sqlite_rows.h"

namespace holdfast::meta::sqlite {
namespace {

constexpr const char* kUploadColumns =
    "upload_id, bucket, key, content_type, user_metadata, headers, initiated_unix_ms";

Result<MultipartUpload> ReadUpload(const Stmt& row) {
  MultipartUpload upload;
  upload.upload_id = row.ColumnText(0);
  upload.bucket = row.ColumnText(1);
  upload.key = row.ColumnText(2);
  upload.content_type = row.ColumnText(3);
  META_ASSIGN_OR_RETURN(upload.user_metadata, DecodeUserMetadata(row.ColumnText(4)));
  META_ASSIGN_OR_RETURN(upload.headers, DecodeUserMetadata(row.ColumnText(5)));
  upload.initiated_unix_ms = row.ColumnInt(6);
  return upload;
}

Result<std::vector<MultipartUpload>> ReadUploads(Stmt& stmt) {
  std::vector<MultipartUpload> uploads;
  while (true) {
    META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) return uploads;
    META_ASSIGN_OR_RETURN(MultipartUpload upload, ReadUpload(stmt));
    uploads.push_back(std::move(upload));
  }
}

std::optional<std::string> CommonPrefixOf(const std::string& key, const UploadListQuery& query) {
  auto prefix = sqlite::CommonPrefixOf(key, query.prefix, query.delimiter);
  return prefix ? std::optional<std::string>(*prefix) : std::nullopt;
}

}  // namespace

Status InsertUpload(Db& db, const MultipartUpload& upload) {
  META_ASSIGN_OR_RETURN(const std::string metadata, EncodeUserMetadata(upload.user_metadata));
  META_ASSIGN_OR_RETURN(const std::string headers, EncodeUserMetadata(upload.headers));
  Stmt stmt = db.Prepare(
      "INSERT INTO multipart_uploads (upload_id, bucket, key, content_type, user_metadata, headers, "
      "initiated_unix_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  stmt.BindText(1, upload.upload_id)
      .BindText(2, upload.bucket)
      .BindText(3, upload.key)
      .BindText(4, upload.content_type)
      .BindText(5, metadata)
      .BindText(6, headers)
      .BindInt(7, upload.initiated_unix_ms);
  return stmt.Run();
}

Result<MultipartUpload> LoadUpload(Db& db, const std::string& upload_id) {
  const std::string sql =
      std::string("SELECT ") + kUploadColumns + " FROM multipart_uploads WHERE upload_id = ?1";
  Stmt stmt = db.Prepare(sql.c_str());
  stmt.BindText(1, upload_id);
  META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) return MakeError(Errc::kNotFound, "no multipart upload " + upload_id);
  return ReadUpload(stmt);
}

Status LinkPart(Db& db, const std::string& upload_id, int part_number,
                const std::string& part_version_id, int64_t now_unix_ms) {
  std::optional<std::string> previous;
  {
    Stmt old = db.Prepare(
        "SELECT part_version_id FROM object_parts WHERE owner_id = ?1 AND part_number = ?2");
    old.BindText(1, upload_id).BindInt(2, part_number);
    META_ASSIGN_OR_RETURN(const bool has_row, old.Step());
    if (has_row) previous = old.ColumnText(0);
  }
  if (previous) {
    Stmt unlink = db.Prepare("DELETE FROM object_parts WHERE owner_id = ?1 AND part_number = ?2");
    unlink.BindText(1, upload_id).BindInt(2, part_number);
    META_TRY(unlink.Run());
    META_TRY(RemoveVersion(db, *previous, now_unix_ms));
  }
  Stmt link = db.Prepare(
      "INSERT INTO object_parts (owner_id, part_number, part_version_id) VALUES (?1, ?2, ?3)");
  link.BindText(1, upload_id).BindInt(2, part_number).BindText(3, part_version_id);
  return link.Run();
}

Result<std::vector<UploadedPartRecord>> LoadParts(Db& db, const std::string& upload_id,
                                                  int after_part_number, int limit) {
  Stmt stmt = db.Prepare(R"sql(
SELECT p.part_number, p.part_version_id, v.size_bytes, v.etag, v.created_unix_ms
FROM object_parts AS p JOIN object_versions AS v ON v.version_id = p.part_version_id
WHERE p.owner_id = ?1 AND p.part_number > ?2 ORDER BY p.part_number LIMIT ?3)sql");
  stmt.BindText(1, upload_id).BindInt(2, after_part_number).BindInt(3, limit);
  std::vector<UploadedPartRecord> parts;
  while (true) {
    META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) return parts;
    UploadedPartRecord part;
    part.part_number = static_cast<int>(stmt.ColumnInt(0));
    part.part_version_id = stmt.ColumnText(1);
    part.size_bytes = static_cast<uint64_t>(stmt.ColumnInt(2));
    part.etag = stmt.ColumnText(3);
    part.modified_unix_ms = stmt.ColumnInt(4);
    parts.push_back(std::move(part));
  }
}

// Uploads are few next to objects (each is a client's transfer in flight),
// so this walks the bucket's range of multipart_uploads_by_key in batches
// and folds common prefixes in memory rather than jumping over them as
// object listing does.
Result<UploadListResult> ListUploads(Db& db, const std::string& bucket,
                                     const UploadListQuery& query) {
  UploadListResult result;
  const int max_uploads = std::clamp(query.max_uploads, 0, 1000);
  if (max_uploads == 0) return result;
  // Resume strictly after (key_marker, upload_id_marker); a key marker alone
  // skips every upload of that key, as S3 does.
  std::string after_key = query.key_marker;
  int64_t after_initiated = INT64_MAX;
  std::string after_upload = "";
  if (!query.key_marker.empty() && !query.upload_id_marker.empty()) {
    Stmt marker = db.Prepare(
        "SELECT initiated_unix_ms FROM multipart_uploads WHERE upload_id = ?1 AND key = ?2");
    marker.BindText(1, query.upload_id_marker).BindText(2, query.key_marker);
    META_ASSIGN_OR_RETURN(const bool found, marker.Step());
    if (found) {
      after_initiated = marker.ColumnInt(0);
      after_upload = query.upload_id_marker;
    }
  }
  bool has_marker = !query.key_marker.empty();
  std::string lower = query.prefix;
  if (has_marker && query.key_marker.starts_with(query.prefix)) {
    // A marker that rolls up into a common prefix (the NextKeyMarker of a
    // page that ended on one) resumes after every key under that prefix.
    if (std::optional<std::string> prefix = CommonPrefixOf(query.key_marker, query)) {
      std::optional<std::string> skip = PrefixSuccessor(*prefix);
      if (!skip) return result;
      lower = std::max(lower, *skip);
      has_marker = false;
    }
  }
  std::string last_prefix;
  int emitted = 0;
  while (true) {
    const std::string sql = std::string("SELECT ") + kUploadColumns + R"sql(
FROM multipart_uploads
WHERE bucket = ?1 AND key >= ?2
  AND (?3 = 0 OR key > ?4 OR (key = ?4 AND (initiated_unix_ms, upload_id) > (?5, ?6)))
ORDER BY key, initiated_unix_ms, upload_id LIMIT 200)sql";
    Stmt stmt = db.Prepare(sql.c_str());
    stmt.BindText(1, bucket)
        .BindText(2, lower)
        .BindInt(3, has_marker ? 1 : 0)
        .BindText(4, after_key)
        .BindInt(5, after_initiated)
        .BindText(6, after_upload);
    META_ASSIGN_OR_RETURN(std::vector<MultipartUpload> batch, ReadUploads(stmt));
    if (batch.empty()) return result;
    for (MultipartUpload& upload : batch) {
      if (!upload.key.starts_with(query.prefix)) return result;
      std::optional<std::string> prefix = CommonPrefixOf(upload.key, query);
      if (prefix && *prefix == last_prefix) {
        // Rolled up already; keep walking past it.
      } else {
        if (emitted == max_uploads) {
          result.is_truncated = true;
          return result;
        }
        if (prefix) {
          last_prefix = *prefix;
          result.common_prefixes.push_back(*prefix);
          result.next_key_marker = *prefix;
          result.next_upload_id_marker.clear();
        } else {
          result.next_key_marker = upload.key;
          result.next_upload_id_marker = upload.upload_id;
          result.uploads.push_back(upload);
        }
        ++emitted;
      }
      after_key = upload.key;
      after_initiated = upload.initiated_unix_ms;
      after_upload = upload.upload_id;
    }
    has_marker = true;  // continue after the last row read
  }
}

Result<uint64_t> AdoptParts(Db& db, const std::string& upload_id,
                            const std::vector<std::pair<int, std::string>>& parts,
                            int64_t now_unix_ms) {
  META_ASSIGN_OR_RETURN(const std::vector<UploadedPartRecord> uploaded,
                        LoadParts(db, upload_id, 0, 10000));
  uint64_t offset = 0;
  size_t next = 0;
  for (const auto& [number, part_id] : parts) {
    while (next < uploaded.size() && uploaded[next].part_number < number) ++next;
    if (next == uploaded.size() || uploaded[next].part_number != number ||
        uploaded[next].part_version_id != part_id) {
      return MakeError(Errc::kConflict, "part " + std::to_string(number) + " of upload " + upload_id +
                                            " was replaced or removed meanwhile");
    }
    Stmt place = db.Prepare(
        "UPDATE object_parts SET offset_bytes = ?3 WHERE owner_id = ?1 AND part_number = ?2");
    place.BindText(1, upload_id).BindInt(2, number).BindInt(3, static_cast<int64_t>(offset));
    META_TRY(place.Run());
    offset += uploaded[next].size_bytes;
  }
  // Parts uploaded but not listed are not part of the object.
  for (const UploadedPartRecord& part : uploaded) {
    const bool listed = std::any_of(parts.begin(), parts.end(), [&](const auto& p) {
      return p.first == part.part_number;
    });
    if (listed) continue;
    Stmt unlink = db.Prepare("DELETE FROM object_parts WHERE owner_id = ?1 AND part_number = ?2");
    unlink.BindText(1, upload_id).BindInt(2, part.part_number);
    META_TRY(unlink.Run());
    META_TRY(RemoveVersion(db, part.part_version_id, now_unix_ms));
  }
  Stmt remove = db.Prepare("DELETE FROM multipart_uploads WHERE upload_id = ?1");
  remove.BindText(1, upload_id);
  META_TRY(remove.Run());
  return offset;
}

Status RemoveUpload(Db& db, const std::string& upload_id, int64_t now_unix_ms) {
  META_TRY(RemoveParts(db, upload_id, now_unix_ms));
  Stmt remove = db.Prepare("DELETE FROM multipart_uploads WHERE upload_id = ?1");
  remove.BindText(1, upload_id);
  return remove.Run();
}

Result<std::vector<MultipartUpload>> LoadExpiredUploads(Db& db, int64_t initiated_before_unix_ms,
                                                        int limit) {
  const std::string sql = std::string("SELECT ") + kUploadColumns +
                          " FROM multipart_uploads WHERE initiated_unix_ms < ?1 "
                          "ORDER BY initiated_unix_ms, upload_id LIMIT ?2";
  Stmt stmt = db.Prepare(sql.c_str());
  stmt.BindInt(1, initiated_before_unix_ms).BindInt(2, limit);
  return ReadUploads(stmt);
}

Result<std::vector<std::string>> UploadIdsInBucket(Db& db, const std::string& bucket) {
  Stmt stmt = db.Prepare("SELECT upload_id FROM multipart_uploads WHERE bucket = ?1");
  stmt.BindText(1, bucket);
  std::vector<std::string> ids;
  while (true) {
    META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) return ids;
    ids.push_back(stmt.ColumnText(0));
  }
}

}  // namespace holdfast::meta::sqlite
