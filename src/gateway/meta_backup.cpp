#include "gateway/meta_backup.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "common/log.h"
#include "gateway/object_reader.h"
#include "gateway/object_writer.h"

namespace holdfast::gateway {
namespace {

using net::Task;

// A request body read from a file (the backup snapshot). The reads run on
// the blocking pool: the file is local and fresh, but a slow disk must not
// stall the I/O thread that serves clients meanwhile.
class FileBody final : public net::BodyReader {
 public:
  FileBody(std::FILE* file, boost::asio::thread_pool& blocking_pool) : file_(file), pool_(blocking_pool) {}
  Task<Result<size_t>> Read(std::span<uint8_t> buffer) override {
    const size_t n = co_await net::RunBlocking(pool_, [&] { return std::fread(buffer.data(), 1, buffer.size(), file_); });
    if (n == 0 && std::ferror(file_)) co_return MakeError(Errc::kIo, "reading the backup snapshot failed");
    read_ += n;
    co_return n;
  }
  uint64_t bytes_read() const override { return read_; }

 private:
  std::FILE* file_;
  boost::asio::thread_pool& pool_;
  uint64_t read_ = 0;
};

struct BackupStats {
  std::mutex mutex;
  uint64_t backups_taken = 0;
  uint64_t failures = 0;
  std::string last_key;
  uint64_t last_size_bytes = 0;
  int64_t last_unix_ms = 0;
  std::string last_error;
};

BackupStats& StatsFor(GatewayContext& ctx) { return ctx.ServiceState<BackupStats>(); }

std::string KeyFor(int64_t unix_ms) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%020lld", static_cast<long long>(unix_ms));
  return std::string(kMetaBackupPrefix) + digits + ".sqlite";
}

Task<Status> EnsureBucket(GatewayContext& ctx) {
  const std::string name(kMetaBackupBucket);
  auto existing = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.GetBucket(name); });
  if (existing) co_return Status::Ok();
  if (existing.error().code != Errc::kNotFound) co_return existing.error();
  meta::Bucket bucket;
  bucket.name = name;
  bucket.owner_id = std::string(kMetaBackupOwner);
  bucket.region = ctx.settings.region;
  bucket.created_unix_ms = ctx.clock.NowUnixMs();
  Status created = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.CreateBucket(bucket); });
  if (!created && created.error().code != Errc::kAlreadyExists) co_return created;
  co_return Status::Ok();
}

// Deletes all but the newest meta_backups_kept backups (their shards go
// through GC like any deleted object's).
Task<void> Prune(GatewayContext& ctx) {
  meta::ListQuery query;
  query.prefix = std::string(kMetaBackupPrefix);
  query.max_keys = 1000;
  auto listed = co_await net::RunBlocking(ctx.blocking_pool, [&] {
    return ctx.store.ListObjects(std::string(kMetaBackupBucket), query);
  });
  if (!listed) co_return;
  const size_t keep = static_cast<size_t>(std::max(1, ctx.settings.meta_backups_kept));
  if (listed->objects.size() <= keep) co_return;
  const size_t drop = listed->objects.size() - keep;  // keys sort oldest first
  for (size_t i = 0; i < drop; ++i) {
    const std::string key = listed->objects[i].key;
    const int64_t now = ctx.clock.NowUnixMs();
    auto deleted = co_await net::RunBlocking(ctx.blocking_pool, [&] {
      return ctx.store.DeleteObject(std::string(kMetaBackupBucket), key, "", now);
    });
    if (!deleted) HF_LOG_WARN("metadata backup: cannot delete old backup {}: {}", key, deleted.error().message);
  }
}

}  // namespace

Task<Result<std::string>> BackUpMetadata(GatewayContext& ctx) {
  // An empty catalogue is not backed up: after the metadata store is lost,
  // the new, empty one must not leave a backup newer than the last good one
  // for recovery to find.
  auto versions = co_await net::RunBlocking(ctx.blocking_pool,
                                            [&] { return ctx.store.CountVersionsBySpareShards({}); });
  if (!versions) co_return versions.error();
  int64_t total = 0;
  for (const auto& [spare, count] : *versions) total += count;
  if (total == 0) co_return std::string();
  const std::filesystem::path snapshot = ctx.settings.data_dir / "meta-backup.tmp";
  std::error_code ec;
  std::filesystem::remove(snapshot, ec);
  Status taken = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.BackupTo(snapshot); });
  if (!taken) co_return taken.error();
  Status bucket = co_await EnsureBucket(ctx);
  if (!bucket) co_return bucket.error();
  std::FILE* file = std::fopen(snapshot.c_str(), "rb");
  if (file == nullptr) co_return MakeError(Errc::kIo, "cannot open " + snapshot.string() + ": " + std::strerror(errno));
  WriteRequest request;
  request.bucket = std::string(kMetaBackupBucket);
  request.key = KeyFor(ctx.clock.NowUnixMs());
  request.content_type = "application/vnd.sqlite3";
  request.content_length = std::filesystem::file_size(snapshot, ec);
  FileBody body(file, ctx.blocking_pool);
  auto written = co_await WriteObject(ctx, request, body);
  std::fclose(file);
  std::filesystem::remove(snapshot, ec);
  if (auto* error = std::get_if<WriteError>(&written)) {
    co_return MakeError(Errc::kUnavailable, "storing the backup failed: " + error->message);
  }
  co_await Prune(ctx);
  BackupStats& stats = StatsFor(ctx);
  std::lock_guard lock(stats.mutex);
  ++stats.backups_taken;
  stats.last_key = request.key;
  stats.last_size_bytes = request.content_length;
  stats.last_unix_ms = ctx.clock.NowUnixMs();
  stats.last_error.clear();
  co_return request.key;
}

Task<void> RunMetadataBackup(GatewayContext& ctx, const std::atomic<bool>& stopping) {
  const auto interval = ctx.settings.meta_backup_interval;
  if (interval.count() <= 0) co_return;
  while (!stopping) {
    const int64_t next = ctx.clock.MonotonicMs() + interval.count();
    while (!stopping && ctx.clock.MonotonicMs() < next) {
      co_await net::SleepFor(std::min<std::chrono::milliseconds>(interval, std::chrono::milliseconds(250)));
    }
    if (stopping) break;
    auto backup = co_await BackUpMetadata(ctx);
    if (!backup) {
      HF_LOG_ERROR("metadata backup failed: {}", backup.error().message);
      BackupStats& stats = StatsFor(ctx);
      std::lock_guard lock(stats.mutex);
      ++stats.failures;
      stats.last_error = backup.error().message;
    }
  }
}

Task<Status> ReadObjectToFile(GatewayContext& ctx, meta::ObjectVersion version, std::filesystem::path file) {
  auto reader = co_await OpenObjectReader(ctx, version, 0, version.size_bytes);
  if (!reader) co_return reader.error();
  std::FILE* out = std::fopen(file.c_str(), "wb");
  if (out == nullptr) co_return MakeError(Errc::kIo, "cannot create " + file.string() + ": " + std::strerror(errno));
  Status result = Status::Ok();
  while (true) {
    auto piece = co_await (*reader)->Next();
    if (!piece) {
      result = piece.error();
      break;
    }
    if (piece->empty()) break;
    if (std::fwrite(piece->data(), 1, piece->size(), out) != piece->size()) {
      result = MakeError(Errc::kIo, "writing " + file.string() + " failed");
      break;
    }
  }
  if (std::fclose(out) != 0 && result) result = MakeError(Errc::kIo, "writing " + file.string() + " failed");
  co_return result;
}

std::string RenderBackupJson(GatewayContext& ctx) {
  BackupStats& stats = StatsFor(ctx);
  std::lock_guard lock(stats.mutex);
  nlohmann::json out = {{"interval_ms", ctx.settings.meta_backup_interval.count()},
                        {"kept", ctx.settings.meta_backups_kept},
                        {"backups_taken", stats.backups_taken},
                        {"failures", stats.failures},
                        {"last_key", stats.last_key},
                        {"last_size_bytes", stats.last_size_bytes},
                        {"last_unix_ms", stats.last_unix_ms},
                        {"last_error", stats.last_error}};
  return out.dump();
}

}  // namespace holdfast::gateway
