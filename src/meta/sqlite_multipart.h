// Multipart-upload statements of the SQLite store: uploads, their parts, and
// completing an upload into a multipart version. Internal to meta/; every
// function runs inside the caller's transaction. Schema:
// docs/metadata-schema.md ("multipart_uploads and object_parts").
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "meta/meta_store.h"
#include "meta/sqlite_db.h"

namespace holdfast::meta::sqlite {

Status InsertUpload(Db& db, const MultipartUpload& upload);
Result<MultipartUpload> LoadUpload(Db& db, const std::string& upload_id);  // kNotFound

// Records a committed part row (already inserted, kind kPart) as part
// `part_number` of the upload, replacing (and queueing for GC) an earlier
// part with that number.
Status LinkPart(Db& db, const std::string& upload_id, int part_number,
                const std::string& part_version_id, int64_t now_unix_ms);

Result<std::vector<UploadedPartRecord>> LoadParts(Db& db, const std::string& upload_id,
                                                  int after_part_number, int limit);

Result<UploadListResult> ListUploads(Db& db, const std::string& bucket, const UploadListQuery& query);

// Checks `parts` against the upload's current parts (kConflict if one was
// replaced or is absent), deletes the unlisted ones, records offsets, and
// removes the upload row. The caller inserts the version row afterwards.
// Returns the object's size.
Result<uint64_t> AdoptParts(Db& db, const std::string& upload_id,
                            const std::vector<std::pair<int, std::string>>& parts,
                            int64_t now_unix_ms);

// Deletes the upload and its parts (queued for GC).
Status RemoveUpload(Db& db, const std::string& upload_id, int64_t now_unix_ms);

Result<std::vector<MultipartUpload>> LoadExpiredUploads(Db& db, int64_t initiated_before_unix_ms,
                                                        int limit);
// Upload ids in `bucket` (for DeleteBucket).
Result<std::vector<std::string>> UploadIdsInBucket(Db& db, const std::string& bucket);

}  // namespace holdfast::meta::sqlite
