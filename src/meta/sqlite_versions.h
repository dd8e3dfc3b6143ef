// Versioning statements of the SQLite store: which version of a key is
// current, the null version, delete markers, and ListObjectVersions.
// Internal to meta/; every function runs inside the caller's transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "meta/meta_store.h"
#include "meta/sqlite_db.h"

namespace holdfast::meta::sqlite {

Result<Versioning> LoadBucketVersioning(Db& db, const std::string& bucket);  // kNotFound
const char* VersioningText(Versioning versioning);                          // '', 'Enabled', 'Suspended'
Versioning ParseVersioning(const std::string& text);

// Makes room for a new current version of (bucket, key) written under
// `versioning`: a null version (never enabled, suspended) replaces the key's
// previous null version, which is removed (its id appended to `removed`);
// the current version stops being current. Returns the new version's seq.
Result<int64_t> MakeRoomForNewVersion(Db& db, const std::string& bucket, const std::string& key,
                                      bool null_version, int64_t now_unix_ms,
                                      std::vector<std::string>* removed);

// The version id (internal) of the key's version named by S3 id
// `s3_version_id` ("null" = the null version), if any.
Result<std::optional<std::string>> FindVersionId(Db& db, const std::string& bucket,
                                                 const std::string& key,
                                                 const std::string& s3_version_id);

// If the key has no current version, its newest remaining version becomes
// current.
Status PromoteNewestVersion(Db& db, const std::string& bucket, const std::string& key);

// Whether the bucket holds any version or delete marker.
Result<bool> BucketHasVersions(Db& db, const std::string& bucket);

Result<VersionListResult> ListVersions(Db& db, const std::string& bucket, const VersionListQuery& query);

}  // namespace holdfast::meta::sqlite
