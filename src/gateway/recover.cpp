#include "gateway/recover.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <tuple>

#include "common/log.h"
#include "gateway/meta_backup.h"
#include "gateway/operations.h"
#include "s3/s3_ops.h"

namespace holdfast::gateway {
namespace {

using net::Task;
using nlohmann::json;

constexpr int kListPage = 1000;
constexpr size_t kMaxReported = 100;  // unrecoverable versions listed by name

// One shard found on a node.
struct FoundShard {
  storage::ShardFooter footer;
  std::string node_id;
};

// What the shards of one version must agree on.
using Shape = std::tuple<uint64_t, std::string, int, int, uint32_t, uint64_t>;
Shape ShapeOf(const storage::ShardFooter& f) {
  return {f.object_size_bytes, f.etag, f.data_shard_count, f.parity_shard_count, f.block_size_bytes,
          f.block_count};
}

// A version as the shards tell it: the agreeing shards of its best shape.
struct FoundVersion {
  storage::ShardFooter footer;                // one of the agreeing shards
  std::map<int, std::string> node_by_index;   // shard index -> a node holding it
  bool recoverable() const { return int(node_by_index.size()) >= footer.data_shard_count; }
};

// Progress and outcome, for GET. Guarded by Job::mutex.
struct Progress {
  std::string state = "idle";  // idle, running, done, failed
  std::string owner;
  int64_t started_unix_ms = 0;
  int64_t finished_unix_ms = 0;
  int nodes_total = 0;
  int nodes_scanned = 0;
  std::vector<std::string> nodes_not_scanned;  // down, or failed while listing
  uint64_t shards_seen = 0;
  uint64_t shards_skipped = 0;  // files their node could not validate
  uint64_t versions_found = 0;
  uint64_t versions_recovered = 0;
  uint64_t versions_present = 0;  // already in the store
  uint64_t versions_superseded = 0;
  uint64_t multipart_objects_recovered = 0;
  uint64_t bytes_recovered = 0;
  std::vector<std::string> buckets_created;
  uint64_t unrecoverable_count = 0;
  json unrecoverable = json::array();
  std::string backup_restored;  // key of the metadata backup restored, "" if none
  int64_t backup_created_unix_ms = 0;
  std::string backup_note;      // why none was restored
  // Versions the restored backup records that no scanned node holds a shard
  // of (also counted in unrecoverable).
  uint64_t backup_versions_without_shards = 0;
  std::string error;
};

struct Job {
  std::mutex mutex;
  Progress progress;
};

// One job per gateway (context): recovery is a rare, operator-started task.
Job& JobFor(GatewayContext& ctx) { return ctx.ServiceState<Job>(); }

json ProgressJson(Job& job) {
  std::lock_guard lock(job.mutex);
  const Progress& p = job.progress;
  return {{"state", p.state},
          {"owner", p.owner},
          {"started_unix_ms", p.started_unix_ms},
          {"finished_unix_ms", p.finished_unix_ms},
          {"nodes_total", p.nodes_total},
          {"nodes_scanned", p.nodes_scanned},
          {"nodes_not_scanned", p.nodes_not_scanned},
          {"shards_seen", p.shards_seen},
          {"shards_skipped", p.shards_skipped},
          {"versions_found", p.versions_found},
          {"versions_recovered", p.versions_recovered},
          {"versions_present", p.versions_present},
          {"versions_superseded", p.versions_superseded},
          {"multipart_objects_recovered", p.multipart_objects_recovered},
          {"bytes_recovered", p.bytes_recovered},
          {"buckets_created", p.buckets_created},
          {"unrecoverable_count", p.unrecoverable_count},
          {"unrecoverable", p.unrecoverable},
          {"backup_restored", p.backup_restored},
          {"backup_created_unix_ms", p.backup_created_unix_ms},
          {"backup_note", p.backup_note},
          {"backup_versions_without_shards", p.backup_versions_without_shards},
          {"error", p.error}};
}

class Recovery {
 public:
  Recovery(GatewayContext& ctx, Job& job, std::string owner) : ctx_(ctx), job_(job), owner_(std::move(owner)) {}

  Task<void> Run() {
    Status done = co_await Scan();
    if (done) done = co_await Rebuild();  // (no co_await inside ?: -- GCC 12)
    std::lock_guard lock(job_.mutex);
    job_.progress.finished_unix_ms = ctx_.clock.NowUnixMs();
    job_.progress.state = done ? "done" : "failed";
    if (!done) job_.progress.error = done.error().message;
    HF_LOG_INFO("catalogue recovery {}: {} versions recovered, {} already present, {} unrecoverable",
                job_.progress.state, job_.progress.versions_recovered, job_.progress.versions_present,
                job_.progress.unrecoverable_count);
  }

 private:
  template <typename Fn>
  void Update(Fn fn) {
    std::lock_guard lock(job_.mutex);
    fn(job_.progress);
  }

  // --- 1. Every shard on every node that is up ---------------------------------

  Task<Status> Scan() {
    const std::vector<NodeView> views = ctx_.cluster.Nodes();
    Update([&](Progress& p) { p.nodes_total = static_cast<int>(views.size()); });
    for (const NodeView& view : views) {
      auto endpoint = ctx_.ReachableEndpoint(view.record.id);
      Status listed = MakeError(Errc::kUnavailable, "down");
      if (endpoint) listed = co_await ScanNode(view.record.id, *endpoint);
      if (!listed) {
        HF_LOG_WARN("recovery: node {} not scanned: {}", view.record.id, listed.error().message);
        Update([&](Progress& p) { p.nodes_not_scanned.push_back(view.record.id); });
        continue;
      }
      Update([&](Progress& p) { ++p.nodes_scanned; });
    }
    co_return Status::Ok();
  }

  Task<Status> ScanNode(std::string node_id, std::string endpoint) {
    std::string after;
    while (true) {
      auto page = co_await ctx_.nodes.ListShards(endpoint, after, kListPage);
      if (!page) co_return page.error();
      Update([&](Progress& p) {
        p.shards_seen += page->footers.size();
        p.shards_skipped += page->skipped;
      });
      for (storage::ShardFooter& footer : page->footers) {
        found_[footer.version_id].push_back(FoundShard{std::move(footer), node_id});
      }
      if (page->next_after.empty()) co_return Status::Ok();
      after = page->next_after;
    }
  }

  // --- 2. Versions from shards ------------------------------------------------

  static FoundVersion Agree(const std::vector<FoundShard>& shards) {
    std::map<Shape, FoundVersion> by_shape;
    for (const FoundShard& shard : shards) {
      FoundVersion& version = by_shape[ShapeOf(shard.footer)];
      if (version.node_by_index.empty()) version.footer = shard.footer;
      version.node_by_index.emplace(shard.footer.shard_index, shard.node_id);
    }
    FoundVersion best;
    for (auto& [shape, version] : by_shape) {
      if (version.node_by_index.size() > best.node_by_index.size()) best = version;
    }
    return best;
  }

  void ReportUnrecoverable(const FoundVersion& version, const std::string& why) {
    Update([&](Progress& p) {
      ++p.unrecoverable_count;
      if (p.unrecoverable.size() < kMaxReported) {
        p.unrecoverable.push_back({{"bucket", version.footer.bucket},
                                   {"key", version.footer.key},
                                   {"version_id", version.footer.version_id},
                                   {"shards_found", version.node_by_index.size()},
                                   {"k", version.footer.data_shard_count},
                                   {"reason", why}});
      }
    });
  }

  meta::ObjectVersion ToVersion(const FoundVersion& found, meta::VersionKind kind) const {
    const storage::ShardFooter& f = found.footer;
    meta::ObjectVersion version;
    version.version_id = f.version_id;
    version.bucket = f.bucket;
    version.key = f.key;
    version.size_bytes = f.object_size_bytes;
    version.etag = f.etag;
    version.content_type = "binary/octet-stream";  // S3's default when none was given
    if (!f.metadata_json.empty()) {
      const json metadata = json::parse(f.metadata_json, nullptr, /*allow_exceptions=*/false);
      if (metadata.is_object()) {
        version.content_type = metadata.value("content_type", version.content_type);
        if (metadata.contains("user_metadata") && metadata["user_metadata"].is_object()) {
          version.user_metadata = metadata["user_metadata"].get<std::map<std::string, std::string>>();
        }
        if (metadata.contains("headers") && metadata["headers"].is_object()) {
          version.headers = metadata["headers"].get<std::map<std::string, std::string>>();
        }
      }
    }
    version.created_unix_ms = f.created_unix_ms;
    version.data_shard_count = f.data_shard_count;
    version.parity_shard_count = f.parity_shard_count;
    version.block_size_bytes = f.block_size_bytes;
    version.kind = kind;
    for (int i = 0; i < f.data_shard_count + f.parity_shard_count; ++i) {
      auto it = found.node_by_index.find(i);
      if (it != found.node_by_index.end()) {
        version.shards.push_back({i, it->second, meta::ShardState::kOk});
      } else {
        version.shards.push_back({i, "", meta::ShardState::kMissing});  // repair rebuilds it
      }
    }
    return version;
  }

  // --- 3 and 4. Buckets and versions into the store ----------------------------

  // The newest metadata backup (gateway/meta_backup.h) that k shards can
  // still rebuild, restored before anything else: it knows what shards
  // cannot tell. Only into a catalogue that has no buckets of users yet.
  Task<Status> RestoreBackup() {
    std::vector<FoundVersion> backups;
    for (const auto& [version_id, shards] : found_) {
      if (shards.front().footer.bucket != kMetaBackupBucket) continue;
      FoundVersion version = Agree(shards);
      if (version.recoverable() && version.footer.part_number == 0) backups.push_back(std::move(version));
    }
    if (backups.empty()) {
      Update([](Progress& p) { p.backup_note = "no readable metadata backup was found on the nodes"; });
      co_return Status::Ok();
    }
    std::sort(backups.begin(), backups.end(), [](const FoundVersion& a, const FoundVersion& b) {
      return a.footer.created_unix_ms > b.footer.created_unix_ms;
    });
    const std::string meta_bucket(kMetaBackupBucket);
    auto present = co_await Present(backups.front().footer.version_id);
    if (!present) co_return present.error();
    if (*present) {
      Update([](Progress& p) { p.backup_note = "the newest backup is in the catalogue already"; });
      co_return Status::Ok();
    }
    Status bucket = co_await EnsureBucket(meta_bucket, backups.front().footer.created_unix_ms, false,
                                          std::string(kMetaBackupOwner));
    if (!bucket) co_return bucket;
    for (const FoundVersion& backup : backups) {
      meta::ObjectVersion version = ToVersion(backup, meta::VersionKind::kObject);
      Status committed = co_await CommitVersionRow(version);
      if (!committed && committed.error().code != Errc::kAlreadyExists) co_return committed;
      const std::filesystem::path file = ctx_.settings.data_dir / "meta-restore.tmp";
      std::error_code ec;
      std::filesystem::remove(file, ec);
      Status read = co_await ReadObjectToFile(ctx_, version, file);
      Status imported = read;
      if (read) imported = co_await net::RunBlocking(ctx_.blocking_pool, [&] { return ctx_.store.ImportFrom(file); });
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file.string() + suffix, ec);
      if (imported) {
        HF_LOG_INFO("recovery: restored metadata backup {} taken at {}", version.key, version.created_unix_ms);
        Update([&](Progress& p) {
          p.backup_restored = version.key;
          p.backup_created_unix_ms = version.created_unix_ms;
        });
        co_await RefreshFromStore();
        co_return Status::Ok();
      }
      HF_LOG_WARN("recovery: metadata backup {} could not be restored: {}", version.key, imported.error().message);
    }
    Update([](Progress& p) { p.backup_note = "no metadata backup could be read back and restored"; });
    co_return Status::Ok();
  }

  // The restored catalogue brings drains and nodes of its own.
  Task<void> RefreshFromStore() {
    auto drains = co_await net::RunBlocking(ctx_.blocking_pool, [&] { return ctx_.store.ListDrains(); });
    if (drains) ctx_.cluster.SetDrains(std::move(*drains));
  }

  Task<Status> Rebuild() {
    Status restored = co_await RestoreBackup();
    if (!restored) co_return restored;
    // Plain objects by creation time, multipart parts by upload.
    std::vector<FoundVersion> objects;
    std::map<std::string, std::map<int, FoundVersion>> uploads;  // upload id -> part number -> newest part
    for (const auto& [version_id, shards] : found_) {
      FoundVersion version = Agree(shards);
      const storage::ShardFooter& f = version.footer;
      if (f.part_number > 0) {
        auto& slot = uploads[f.upload_id][f.part_number];
        if (slot.node_by_index.empty() || slot.footer.created_unix_ms < f.created_unix_ms) slot = version;
      } else {
        objects.push_back(std::move(version));
      }
    }
    Update([&](Progress& p) { p.versions_found = objects.size() + uploads.size(); });
    std::sort(objects.begin(), objects.end(), [](const FoundVersion& a, const FoundVersion& b) {
      return std::tie(a.footer.created_unix_ms, a.footer.version_id) <
             std::tie(b.footer.created_unix_ms, b.footer.version_id);
    });

    // Keys found with more than one version: their bucket keeps them all.
    std::map<std::pair<std::string, std::string>, int> versions_per_key;
    std::erase_if(objects, [](const FoundVersion& v) { return v.footer.bucket == kMetaBackupBucket; });
    for (const FoundVersion& v : objects) ++versions_per_key[{v.footer.bucket, v.footer.key}];
    for (const auto& [upload_id, parts] : uploads) {
      const storage::ShardFooter& f = parts.begin()->second.footer;
      ++versions_per_key[{f.bucket, f.key}];
    }
    std::set<std::string> versioned;
    std::map<std::string, int64_t> first_created;
    for (const auto& [bucket_key, count] : versions_per_key) {
      if (count > 1) versioned.insert(bucket_key.first);
      first_created.emplace(bucket_key.first, 0);
    }
    for (const FoundVersion& v : objects) {
      int64_t& first = first_created[v.footer.bucket];
      if (first == 0 || v.footer.created_unix_ms < first) first = v.footer.created_unix_ms;
    }
    for (const auto& [bucket, created] : first_created) {
      Status ensured = co_await EnsureBucket(bucket, created, versioned.contains(bucket), owner_);
      if (!ensured) co_return ensured;
    }

    for (const FoundVersion& version : objects) {
      if (!version.recoverable()) {
        ReportUnrecoverable(version, "fewer than k shards found");
        continue;
      }
      Status committed = co_await CommitObject(version);
      if (!committed) co_return committed;
    }
    for (const auto& [upload_id, parts] : uploads) {
      Status committed = co_await CommitMultipart(upload_id, parts);
      if (!committed) co_return committed;
    }
    bool restored_backup = false;
    Update([&](Progress& p) { restored_backup = !p.backup_restored.empty(); });
    if (restored_backup) co_return co_await CheckRestoredVersions();
    co_return Status::Ok();
  }

  // --- 5. Versions the restored backup knows whose shards were found nowhere --
  // Deleted after the backup was taken (GC removed their shards), or lost.
  // Either way they cannot be read as recorded: their shards on the nodes
  // that were scanned are recorded missing, so status counts them and reads
  // fail at once with a clear error instead of on a node's 404, and each one
  // left with fewer than k shards is reported by name. The rows stay:
  // dropping catalogue entries is not recovery's call, and a node not
  // scanned may still hold their shards (run recover again once it is up).
  Task<Status> CheckRestoredVersions() {
    std::set<std::string> not_scanned;
    Update([&](Progress& p) { not_scanned.insert(p.nodes_not_scanned.begin(), p.nodes_not_scanned.end()); });
    std::string after;
    while (true) {
      auto ids = co_await net::RunBlocking(ctx_.blocking_pool,
                                           [&] { return ctx_.store.ShardedVersionIds(after, 1000); });
      if (!ids) co_return ids.error();
      if (ids->empty()) break;
      for (const std::string& id : *ids) {
        if (found_.contains(id)) continue;
        auto version = co_await net::RunBlocking(ctx_.blocking_pool, [&] { return ctx_.store.GetVersion(id); });
        if (!version) continue;  // deleted meanwhile
        if (version->bucket == kMetaBackupBucket) continue;
        std::vector<meta::ShardMove> moves;
        int still_ok = 0;
        for (const meta::ShardLocation& shard : version->shards) {
          if (shard.state != meta::ShardState::kOk) continue;
          if (not_scanned.contains(shard.node_id)) {
            ++still_ok;
            continue;
          }
          moves.push_back({version->version_id, shard.shard_index, shard.node_id, shard.node_id,
                           meta::ShardState::kMissing});
        }
        if (!moves.empty()) {
          auto applied = co_await net::RunBlocking(ctx_.blocking_pool, [&] { return ctx_.store.MoveShards(moves); });
          if (!applied) co_return applied.error();
        }
        if (still_ok < version->data_shard_count) {
          Update([&](Progress& p) {
            ++p.backup_versions_without_shards;
            ++p.unrecoverable_count;
            if (p.unrecoverable.size() < kMaxReported) {
              p.unrecoverable.push_back({{"bucket", version->bucket},
                                         {"key", version->key},
                                         {"version_id", version->version_id},
                                         {"shards_found", 0},
                                         {"k", version->data_shard_count},
                                         {"reason", "in the restored backup, but no shard of it was found "
                                                    "(deleted after the backup, or lost)"}});
            }
          });
        }
      }
      after = ids->back();
    }
    co_return Status::Ok();
  }

  Task<Status> EnsureBucket(std::string name, int64_t created_unix_ms, bool versioned, std::string owner) {
    auto existing = co_await net::RunBlocking(ctx_.blocking_pool, [&] { return ctx_.store.GetBucket(name); });
    if (existing) co_return Status::Ok();
    if (existing.error().code != Errc::kNotFound) co_return existing.error();
    meta::Bucket bucket;
    bucket.name = name;
    bucket.owner_id = owner;
    bucket.region = ctx_.settings.region;
    bucket.created_unix_ms = created_unix_ms > 0 ? created_unix_ms : ctx_.clock.NowUnixMs();
    Status created = co_await net::RunBlocking(ctx_.blocking_pool, [&] { return ctx_.store.CreateBucket(bucket); });
    if (!created) co_return created;
    if (versioned) {
      Status set = co_await net::RunBlocking(ctx_.blocking_pool, [&] {
        return ctx_.store.SetBucketVersioning(name, meta::Versioning::kEnabled);
      });
      if (!set) co_return set;
    }
    Update([&](Progress& p) { p.buckets_created.push_back(name); });
    co_return Status::Ok();
  }

  // True if the version is in the store already.
  Task<Result<bool>> Present(std::string version_id) {
    auto existing = co_await net::RunBlocking(ctx_.blocking_pool,
                                              [&] { return ctx_.store.GetVersion(version_id); });
    if (existing) co_return true;
    if (existing.error().code == Errc::kNotFound) co_return false;
    co_return existing.error();
  }

  // In a bucket that keeps one version per key, an older version found
  // beside a newer current one was replaced before the catalogue was lost:
  // its shards were waiting for GC. Committing it would replace the newer.
  Task<Result<bool>> Superseded(meta::ObjectVersion version) {
    auto bucket = co_await net::RunBlocking(ctx_.blocking_pool,
                                            [&] { return ctx_.store.GetBucket(version.bucket); });
    if (!bucket) co_return bucket.error();
    if (bucket->versioning != meta::Versioning::kNeverEnabled) co_return false;
    auto current = co_await net::RunBlocking(ctx_.blocking_pool, [&] {
      return ctx_.store.GetObject(version.bucket, version.key);
    });
    if (!current) {
      if (current.error().code == Errc::kNotFound) co_return false;
      co_return current.error();
    }
    co_return current->created_unix_ms > version.created_unix_ms;
  }

  Task<Status> CommitVersionRow(meta::ObjectVersion version) {
    meta::PendingWrite pending{version.version_id, version.bucket, version.key, version.created_unix_ms,
                               version.shards};
    Status begun = co_await net::RunBlocking(ctx_.blocking_pool, [&] { return ctx_.store.BeginWrite(pending); });
    if (!begun) co_return begun;
    auto committed = co_await net::RunBlocking(ctx_.blocking_pool, [&] { return ctx_.store.CommitObject(version); });
    if (!committed) co_return committed.error();
    co_return Status::Ok();
  }

  // A version the restored backup knows: where its shards are now may
  // differ from the backup's record (repair or a drain moved some since).
  // The shards found win; one found nowhere is recorded missing.
  Task<Status> ReconcileLocations(FoundVersion found) {
    auto version = co_await net::RunBlocking(ctx_.blocking_pool,
                                             [&] { return ctx_.store.GetVersion(found.footer.version_id); });
    if (!version) co_return version.error();
    std::vector<meta::ShardMove> moves;
    for (const meta::ShardLocation& shard : version->shards) {
      auto it = found.node_by_index.find(shard.shard_index);
      if (it == found.node_by_index.end()) {
        if (shard.state == meta::ShardState::kOk) {
          moves.push_back({version->version_id, shard.shard_index, shard.node_id, shard.node_id,
                           meta::ShardState::kMissing});
        }
      } else if (it->second != shard.node_id || shard.state != meta::ShardState::kOk) {
        moves.push_back({version->version_id, shard.shard_index, shard.node_id, it->second,
                         meta::ShardState::kOk});
      }
    }
    if (moves.empty()) co_return Status::Ok();
    auto applied = co_await net::RunBlocking(ctx_.blocking_pool, [&] { return ctx_.store.MoveShards(moves); });
    if (!applied) co_return applied.error();
    co_return Status::Ok();
  }

  Task<Status> CommitObject(FoundVersion found) {
    auto present = co_await Present(found.footer.version_id);
    if (!present) co_return present.error();
    if (*present) {
      Update([](Progress& p) { ++p.versions_present; });
      if (found.recoverable()) {
        Status reconciled = co_await ReconcileLocations(found);
        if (!reconciled) co_return reconciled;
      }
      co_return Status::Ok();
    }
    meta::ObjectVersion version = ToVersion(found, meta::VersionKind::kObject);
    auto superseded = co_await Superseded(version);
    if (!superseded) co_return superseded.error();
    if (*superseded) {
      Update([](Progress& p) { ++p.versions_superseded; });
      co_return Status::Ok();
    }
    Status committed = co_await CommitVersionRow(version);
    if (!committed) co_return committed;
    Update([&](Progress& p) {
      ++p.versions_recovered;
      p.bytes_recovered += version.size_bytes;
    });
    co_return Status::Ok();
  }

  Task<Status> CommitMultipart(std::string upload_id, std::map<int, FoundVersion> parts) {
    const storage::ShardFooter first = parts.begin()->second.footer;
    FoundVersion as_object;  // for reporting
    as_object.footer = first;
    as_object.footer.version_id = upload_id;
    for (const auto& [number, part] : parts) {
      if (!part.recoverable()) {
        ReportUnrecoverable(as_object, "part " + std::to_string(number) + " has fewer than k shards");
        co_return Status::Ok();
      }
    }
    auto present = co_await Present(upload_id);
    if (!present) co_return present.error();
    if (*present) {
      Update([](Progress& p) { ++p.versions_present; });
      co_return Status::Ok();
    }
    meta::MultipartUpload upload;
    upload.upload_id = upload_id;
    upload.bucket = first.bucket;
    upload.key = first.key;
    upload.content_type = "binary/octet-stream";
    upload.initiated_unix_ms = first.created_unix_ms;
    Status created = co_await net::RunBlocking(ctx_.blocking_pool,
                                               [&] { return ctx_.store.CreateMultipartUpload(upload); });
    if (!created && created.error().code != Errc::kAlreadyExists) co_return created;
    std::vector<std::pair<int, std::string>> numbers;
    std::vector<std::string> etags;
    uint64_t size = 0;
    int64_t last_created = 0;
    for (const auto& [number, found] : parts) {
      meta::ObjectVersion part = ToVersion(found, meta::VersionKind::kPart);
      auto part_present = co_await Present(part.version_id);
      if (!part_present) co_return part_present.error();
      if (!*part_present) {
        meta::PendingWrite pending{part.version_id, part.bucket, part.key, part.created_unix_ms, part.shards};
        Status begun = co_await net::RunBlocking(ctx_.blocking_pool, [&] { return ctx_.store.BeginWrite(pending); });
        if (!begun) co_return begun;
        const int part_number = number;
        Status committed = co_await net::RunBlocking(ctx_.blocking_pool, [&] {
          return ctx_.store.CommitPart(upload_id, part_number, part);
        });
        if (!committed) co_return committed;
      }
      numbers.emplace_back(number, part.version_id);
      etags.push_back(part.etag);
      size += part.size_bytes;
      last_created = std::max(last_created, part.created_unix_ms);
    }
    auto etag = s3::MultipartEtag(etags);
    if (!etag) co_return etag.error();
    meta::ObjectVersion version;
    version.version_id = upload_id;
    version.bucket = first.bucket;
    version.key = first.key;
    version.kind = meta::VersionKind::kMultipart;
    version.size_bytes = size;
    version.etag = *etag;
    version.content_type = upload.content_type;
    version.created_unix_ms = last_created;
    auto completed = co_await net::RunBlocking(ctx_.blocking_pool, [&] {
      return ctx_.store.CompleteMultipartUpload(version, numbers);
    });
    if (!completed) co_return completed.error();
    Update([&](Progress& p) {
      ++p.versions_recovered;
      ++p.multipart_objects_recovered;
      p.bytes_recovered += size;
    });
    co_return Status::Ok();
  }

  GatewayContext& ctx_;
  Job& job_;
  const std::string owner_;
  std::map<std::string, std::vector<FoundShard>> found_;  // by version id
};

Task<void> RunRecovery(GatewayContext& ctx, Job& job, std::string owner) {
  Recovery recovery(ctx, job, std::move(owner));
  co_await recovery.Run();
}

}  // namespace

Task<void> HandleRecover(GatewayContext& ctx, const net::Request& http, net::ResponseWriter& out) {
  Job& job = JobFor(ctx);
  if (http.method == "GET") {
    co_await SendAdminJson(out, 200, ProgressJson(job).dump());
    co_return;
  }
  if (http.method != "POST") {
    co_await SendAdminJson(out, 405, AdminErrorJson(http.method + " is not allowed on " + http.path + "; use POST or GET"));
    co_return;
  }
  std::vector<std::pair<std::string, std::string>> query;
  net::ParseQuery(http.query, &query);
  std::string owner;
  for (const auto& [name, value] : query) {
    if (name == "owner") owner = value;
  }
  if (owner.empty()) {
    co_await SendAdminJson(out, 400, AdminErrorJson("name the user who owns the recovered buckets with ?owner=USER "
                                          "(shards do not record bucket owners)"));
    co_return;
  }
  bool busy = false;
  {
    std::lock_guard lock(job.mutex);
    busy = job.progress.state == "running";
    if (!busy) {
      job.progress = Progress{};
      job.progress.state = "running";
      job.progress.owner = owner;
      job.progress.started_unix_ms = ctx.clock.NowUnixMs();
    }
  }
  if (busy) {
    co_await SendAdminJson(out, 409, AdminErrorJson("a recovery is running already"));
    co_return;
  }
  HF_LOG_INFO("catalogue recovery started (owner of recovered buckets: {})", owner);
  auto executor = co_await boost::asio::this_coro::executor;
  boost::asio::co_spawn(executor, RunRecovery(ctx, job, owner), boost::asio::detached);
  co_await SendAdminJson(out, 202, ProgressJson(job).dump());
}

}  // namespace holdfast::gateway
