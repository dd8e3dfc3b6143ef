// The SQLite schema of the metadata store and its migrations. The schema is
// documented, table by table and index by index, in docs/metadata-schema.md.
#pragma once

#include "common/result.h"
#include "meta/sqlite_db.h"

namespace holdfast::meta::sqlite {

// The schema version this build writes (PRAGMA user_version).
inline constexpr int kSchemaVersion = 10;

// Brings the database up to kSchemaVersion, one migration per transaction.
// kConflict if the file was written by a newer build.
Status MigrateSchema(Db& db);

}  // namespace holdfast::meta::sqlite
