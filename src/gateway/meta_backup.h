// meta_backup: the metadata store, backed up into the cluster itself.
//
// Every GatewaySettings::meta_backup_interval the background leader takes a
// consistent snapshot of the store (MetaStore::BackupTo) and writes it as an
// object, erasure-coded across providers like any other, into the internal
// bucket "_holdfast-meta" (key "backups/<unix ms>.sqlite"), keeping the
// newest meta_backups_kept. The bucket's name is not a valid S3 bucket name,
// so no user can create, list or touch it. Losing the metadata host together
// with a whole provider therefore loses nothing: the shards of the latest
// backup survive on the other providers.
//
// Catalogue recovery (gateway/recover.h) restores the newest readable backup
// first -- bucket owners and settings, versions with their delete markers,
// Object Lock retention, users and keys, the notice ledger -- and then adds
// from the shards whatever was written after it.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>
#include <string_view>

#include "gateway/context.h"
#include "net/http.h"

namespace holdfast::gateway {

inline constexpr std::string_view kMetaBackupBucket = "_holdfast-meta";
inline constexpr std::string_view kMetaBackupPrefix = "backups/";
inline constexpr std::string_view kMetaBackupOwner = "_holdfast";

// The periodic backup; does nothing while the interval is zero.
net::Task<void> RunMetadataBackup(GatewayContext& context, const std::atomic<bool>& stopping);

// Takes one backup now; returns the key it was stored under, or "" when the
// catalogue holds no object at all (nothing to back up; see the .cpp).
net::Task<Result<std::string>> BackUpMetadata(GatewayContext& context);

// Reads committed version `version` (a backup object) into `file`.
net::Task<Status> ReadObjectToFile(GatewayContext& context, meta::ObjectVersion version,
                                   std::filesystem::path file);

// The "metadata_backup" object of GET /_holdfast/v1/status.
std::string RenderBackupJson(GatewayContext& context);

}  // namespace holdfast::gateway
