// Fault injection for tests of storage/ and of the layers above it.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>

#include "common/result.h"
#include "storage/shard_store.h"

namespace holdfast::storage {

// Like ShardStore::Open, but every fsync (of shard files and directories)
// goes through `fsync_fn`, which returns 0 or -1 with errno set, as fsync(2)
// does. The function is called from whichever thread commits or removes and
// must be thread-safe.
Result<std::unique_ptr<ShardStore>> OpenShardStoreWithFsync(const std::filesystem::path& data_dir,
                                                            std::function<int(int fd)> fsync_fn);

}  // namespace holdfast::storage
