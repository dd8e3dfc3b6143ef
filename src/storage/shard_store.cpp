// The POSIX shard store: temp file -> fsync -> rename -> fsync directory.
//
// Layout under data_dir:
//   shards/<first two hex digits of the id>/<shard id>   committed shards
//   tmp/<shard id>.<random>.tmp                          writes in progress
//   quarantine/<shard id>                                failed a scrub
// Anything in tmp/ at Open() is a write that never committed and is deleted.
#include "storage/shard_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <system_error>
#include <thread>

#include "storage/endian.h"
#include "storage/posix_io.h"
#include "storage/shard_format.h"
#include "storage/shard_store_testing.h"

namespace holdfast::storage {
namespace {

namespace fs = std::filesystem;
using FsyncFn = std::function<int(int fd)>;

// Blocks up to this size are gathered in a buffer and written together, so a
// shard of 1 KiB blocks does not cost a syscall per block. Larger blocks go
// straight from the caller's buffer to writev(), never copied.
constexpr size_t kBufferedRecordMaxBytes = 64u << 10;
constexpr size_t kWriteBufferBytes = 256u << 10;

Error InvalidId(std::string_view shard_id) {
  return MakeError(Errc::kInvalidArgument, "invalid shard id " + format::QuoteId(shard_id));
}

// State shared by the store and the writers it hands out, so a writer stays
// safe to use (and to destroy) even if it outlives the store object.
struct StoreState {
  std::string data_dir;
  std::string shards_dir;
  std::string tmp_dir;
  std::string quarantine_dir;
  FsyncFn fsync_fn;
  std::atomic<bool> read_only{false};

  // Guards the counters and makes "stat old file + rename/unlink + update
  // counters" one step, so concurrent commits of one id count correctly.
  std::mutex mu;
  uint64_t shard_count = 0;
  uint64_t used_bytes = 0;
  std::mutex dir_mu;  // see PosixShardWriter::Publish

  std::string ShardDir(std::string_view shard_id) const {
    return shards_dir + "/" + std::string(shard_id.substr(0, 2));
  }
  std::string ShardPath(std::string_view shard_id) const {
    return ShardDir(shard_id) + "/" + std::string(shard_id);
  }
  std::string QuarantinePath(std::string_view shard_id) const {
    return quarantine_dir + "/" + std::string(shard_id);
  }

  Status CheckWritable() const {
    if (read_only.load(std::memory_order_acquire)) {
      return MakeError(Errc::kIo,
                       "shard store " + data_dir + " is read-only after an fsync failure");
    }
    return Status::Ok();
  }

  // After a failed fsync the kernel may have dropped the dirty pages, so a
  // retry could "succeed" over lost data: stop accepting writes instead.
  Status Sync(int fd, const std::string& path) {
    int rc;
    do {
      rc = fsync_fn(fd);
    } while (rc != 0 && errno == EINTR);
    if (rc == 0) return Status::Ok();
    int err = errno;
    read_only.store(true, std::memory_order_release);
    Error error = IoError("fsync of " + path + " failed", err);
    error.message += "; the store is now read-only";
    return error;
  }

  Status SyncDir(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return IoError("opening directory " + path, errno);
    return Sync(fd.get(), path);
  }
};

std::string RandomSuffix() {
  thread_local std::mt19937_64 generator(std::random_device{}() ^
                                         std::hash<std::thread::id>{}(std::this_thread::get_id()));
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(generator()));
  return text;
}

class PosixShardWriter final : public ShardWriter {
 public:
  PosixShardWriter(std::shared_ptr<StoreState> state, std::string shard_id, std::string tmp_path,
                   UniqueFd fd, uint32_t block_size_bytes)
      : state_(std::move(state)),
        shard_id_(std::move(shard_id)),
        tmp_path_(std::move(tmp_path)),
        fd_(std::move(fd)),
        block_size_bytes_(block_size_bytes) {
    if (block_size_bytes_ + format::kBlockChecksumBytes <= kBufferedRecordMaxBytes) {
      buffer_ = std::make_unique<uint8_t[]>(kWriteBufferBytes);
    }
  }

  ~PosixShardWriter() override {
    if (!committed_) {
      fd_ = UniqueFd();
      ::unlink(tmp_path_.c_str());
    }
  }

  Status AppendBlock(std::span<const uint8_t> payload, uint64_t checksum) override;
  Status Commit(const ShardFooter& footer) override;
  uint64_t blocks_written() const override { return blocks_written_; }

 private:
  Status CheckUsable() const;
  Status CheckFooter(const ShardFooter& footer) const;
  // Writes `iov` after any buffered bytes; a failure poisons the writer.
  Status Write(iovec* iov, int iov_count);
  Status Publish();

  std::shared_ptr<StoreState> state_;
  std::string shard_id_;
  std::string tmp_path_;
  UniqueFd fd_;
  uint32_t block_size_bytes_;
  uint64_t blocks_written_ = 0;
  uint64_t file_bytes_ = 0;            // including buffered bytes
  std::unique_ptr<uint8_t[]> buffer_;  // only for small blocks
  size_t buffered_bytes_ = 0;
  bool committed_ = false;
  std::optional<Error> failed_;
};

Status PosixShardWriter::CheckUsable() const {
  if (committed_) {
    return MakeError(Errc::kInvalidArgument, "shard " + shard_id_ + " is already committed");
  }
  if (failed_) return *failed_;
  return state_->CheckWritable();
}

Status PosixShardWriter::Write(iovec* iov, int iov_count) {
  iovec all[4];
  int count = 0;
  if (buffered_bytes_ > 0) all[count++] = {buffer_.get(), buffered_bytes_};
  for (int i = 0; i < iov_count; ++i) all[count++] = iov[i];
  if (int err = WriteFully(fd_.get(), all, count); err != 0) {
    failed_ = IoError("writing " + tmp_path_, err);
    return *failed_;
  }
  buffered_bytes_ = 0;
  return Status::Ok();
}

Status PosixShardWriter::AppendBlock(std::span<const uint8_t> payload, uint64_t checksum) {
  if (Status usable = CheckUsable(); !usable) return usable;
  if (payload.size() != block_size_bytes_) {
    return MakeError(Errc::kInvalidArgument,
                     "shard " + shard_id_ + ": block of " + std::to_string(payload.size()) +
                         " bytes, expected " + std::to_string(block_size_bytes_));
  }
  if (BlockChecksum(payload, blocks_written_) != checksum) {
    return MakeError(Errc::kCorrupt, "shard " + shard_id_ + ": block " +
                                         std::to_string(blocks_written_) +
                                         " does not match its checksum (damaged in transit)");
  }
  uint8_t checksum_le[format::kBlockChecksumBytes];
  StoreLe64(checksum, checksum_le);
  size_t record_bytes = payload.size() + sizeof checksum_le;
  if (buffer_) {
    if (buffered_bytes_ + record_bytes > kWriteBufferBytes) {
      if (Status written = Write(nullptr, 0); !written) return written;
    }
    std::memcpy(buffer_.get() + buffered_bytes_, payload.data(), payload.size());
    std::memcpy(buffer_.get() + buffered_bytes_ + payload.size(), checksum_le, sizeof checksum_le);
    buffered_bytes_ += record_bytes;
  } else {
    iovec iov[2] = {{const_cast<uint8_t*>(payload.data()), payload.size()},
                    {checksum_le, sizeof checksum_le}};
    if (Status written = Write(iov, 2); !written) return written;
  }
  file_bytes_ += record_bytes;
  ++blocks_written_;
  return Status::Ok();
}

Status PosixShardWriter::CheckFooter(const ShardFooter& footer) const {
  std::string problem;
  if (footer.format_version != format::kFormatVersion) {
    problem = "format_version " + std::to_string(footer.format_version) + " is not " +
              std::to_string(format::kFormatVersion);
  } else if (footer.block_count != blocks_written_) {
    problem = "footer says " + std::to_string(footer.block_count) + " blocks but " +
              std::to_string(blocks_written_) + " were written";
  } else if (footer.block_size_bytes != block_size_bytes_) {
    problem = "footer block size " + std::to_string(footer.block_size_bytes) +
              " differs from the writer's " + std::to_string(block_size_bytes_);
  } else if (footer.shard_index != format::ShardIndexOfId(shard_id_)) {
    problem = "footer shard_index " + std::to_string(footer.shard_index) + " differs from the id's";
  }
  if (problem.empty()) return Status::Ok();
  return MakeError(Errc::kInvalidArgument, "shard " + shard_id_ + ": " + problem);
}

Status PosixShardWriter::Commit(const ShardFooter& footer) {
  if (Status usable = CheckUsable(); !usable) return usable;
  if (Status valid = CheckFooter(footer); !valid) return valid;
  std::string footer_json = format::EncodeStoredFooter(footer, shard_id_);
  if (footer_json.size() > format::kMaxFooterBytes) {
    return MakeError(Errc::kInvalidArgument, "shard " + shard_id_ + ": footer of " +
                                                 std::to_string(footer_json.size()) +
                                                 " bytes is too large");
  }
  format::TailBytes tail = format::EncodeTail(footer_json);
  iovec iov[2] = {{footer_json.data(), footer_json.size()}, {tail.data(), tail.size()}};
  if (Status written = Write(iov, 2); !written) return written;
  file_bytes_ += footer_json.size() + tail.size();

  Status done = state_->Sync(fd_.get(), tmp_path_);
  if (done) done = fd_.Close(tmp_path_);
  if (done) done = Publish();
  if (!done) failed_ = done.error();
  return done;
}

// Moves the finished temp file into place and makes the rename durable.
Status PosixShardWriter::Publish() {
  std::string dir = state_->ShardDir(shard_id_);
  {
    // Held across mkdir and the parent's fsync, so a commit that finds the
    // directory already there waits until its entry is durable.
    std::lock_guard lock(state_->dir_mu);
    if (::mkdir(dir.c_str(), 0755) == 0) {
      if (Status synced = state_->SyncDir(state_->shards_dir); !synced) return synced;
    } else if (errno != EEXIST) {
      return IoError("creating " + dir, errno);
    }
  }
  // Another commit's fsync may have failed meanwhile: publish nothing then.
  if (Status writable = state_->CheckWritable(); !writable) return writable;
  std::string path = state_->ShardPath(shard_id_);
  {
    std::lock_guard lock(state_->mu);
    struct stat old_file;
    bool replaces = ::stat(path.c_str(), &old_file) == 0;
    if (::rename(tmp_path_.c_str(), path.c_str()) != 0) {
      return IoError("renaming " + tmp_path_ + " to " + path, errno);
    }
    committed_ = true;  // the temp file is gone; the destructor must not unlink
    if (replaces) {
      state_->used_bytes -= std::min<uint64_t>(state_->used_bytes, old_file.st_size);
    } else {
      ++state_->shard_count;
    }
    state_->used_bytes += file_bytes_;
  }
  // The shard is whole here again: a copy quarantined by a scrub is no
  // longer needed (nearly always absent; one failed lookup per commit).
  ::unlink(state_->QuarantinePath(shard_id_).c_str());
  return state_->SyncDir(dir);
}

class PosixShardReader final : public ShardReader {
 public:
  PosixShardReader(std::string shard_id, UniqueFd fd, ShardFooter footer)
      : shard_id_(std::move(shard_id)), fd_(std::move(fd)), footer_(std::move(footer)) {}

  const ShardFooter& footer() const override { return footer_; }
  int raw_fd() const { return fd_.get(); }

  Result<uint64_t> ReadBlock(uint64_t block_index, std::span<uint8_t> out) override {
    // Built only on failure: this is the GET hot path.
    auto block_name = [&] {
      return "shard " + shard_id_ + " block " + std::to_string(block_index);
    };
    if (block_index >= footer_.block_count) {
      return MakeError(Errc::kInvalidArgument, block_name() + " is past the last block (" +
                                                   std::to_string(footer_.block_count) +
                                                   " blocks)");
    }
    if (out.size() != footer_.block_size_bytes) {
      return MakeError(Errc::kInvalidArgument,
                       block_name() + ": buffer of " + std::to_string(out.size()) +
                           " bytes, block size is " + std::to_string(footer_.block_size_bytes));
    }
    uint8_t checksum_le[format::kBlockChecksumBytes];
    iovec iov[2] = {{out.data(), out.size()}, {checksum_le, sizeof checksum_le}};
    uint64_t record_bytes = out.size() + sizeof checksum_le;
    int64_t got = PreadFully(fd_.get(), iov, 2, block_index * record_bytes);
    if (got < 0) return IoError("reading " + block_name(), static_cast<int>(-got));
    if (static_cast<uint64_t>(got) != record_bytes) {
      return MakeError(Errc::kCorrupt, block_name() + " is truncated");
    }
    uint64_t stored = LoadLe64(checksum_le);
    uint64_t computed = BlockChecksum(out, block_index);
    if (stored != computed) {
      return MakeError(Errc::kCorrupt, block_name() + " failed checksum verification");
    }
    return stored;
  }

 private:
  std::string shard_id_;
  UniqueFd fd_;
  ShardFooter footer_;
};

// Reads and verifies the tail and footer of an open shard file.
Result<ShardFooter> ReadFooter(int fd, std::string_view shard_id) {
  auto corrupt = [&](const std::string& problem) {
    return MakeError(Errc::kCorrupt, "shard " + std::string(shard_id) + ": " + problem);
  };
  struct stat st;
  if (::fstat(fd, &st) != 0) return IoError("stat of shard " + std::string(shard_id), errno);
  if (!S_ISREG(st.st_mode)) return corrupt("not a regular file");
  uint64_t file_bytes = static_cast<uint64_t>(st.st_size);
  if (file_bytes < format::kTailBytes) {
    return corrupt("file of " + std::to_string(file_bytes) + " bytes is too short for the tail");
  }

  format::TailBytes tail_bytes;
  iovec tail_iov = {tail_bytes.data(), tail_bytes.size()};
  int64_t got = PreadFully(fd, &tail_iov, 1, file_bytes - format::kTailBytes);
  if (got < 0) return IoError("reading shard " + std::string(shard_id), static_cast<int>(-got));
  if (static_cast<size_t>(got) != tail_bytes.size()) return corrupt("file shrank while reading");
  auto tail = format::DecodeTail(tail_bytes);
  if (!tail) return corrupt(tail.error().message);
  if (tail->footer_bytes > format::kMaxFooterBytes ||
      tail->footer_bytes > file_bytes - format::kTailBytes) {
    return corrupt("footer length " + std::to_string(tail->footer_bytes) +
                   " does not fit the file");
  }

  std::string footer_json(tail->footer_bytes, '\0');
  iovec footer_iov = {footer_json.data(), footer_json.size()};
  uint64_t footer_offset = file_bytes - format::kTailBytes - tail->footer_bytes;
  got = PreadFully(fd, &footer_iov, 1, footer_offset);
  if (got < 0) return IoError("reading shard " + std::string(shard_id), static_cast<int>(-got));
  if (static_cast<size_t>(got) != footer_json.size()) return corrupt("file shrank while reading");
  if (format::FooterChecksum(footer_json) != tail->footer_checksum) {
    return corrupt("footer checksum mismatch");
  }
  auto footer = format::DecodeStoredFooter(footer_json, shard_id);
  if (!footer) return corrupt(footer.error().message);
  if (footer->block_size_bytes == 0 || footer->block_size_bytes > format::kMaxBlockSizeBytes) {
    return corrupt("block size " + std::to_string(footer->block_size_bytes) + " out of range");
  }
  auto expected_bytes =
      format::ShardFileBytes(footer->block_size_bytes, footer->block_count, tail->footer_bytes);
  if (!expected_bytes || *expected_bytes != file_bytes) {
    return corrupt("file is " + std::to_string(file_bytes) + " bytes but its footer describes " +
                   std::to_string(footer->block_count) + " blocks of " +
                   std::to_string(footer->block_size_bytes) + " bytes");
  }
  return footer;
}

bool IsShardDirName(std::string_view name) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
  return name.size() == 2 && hex(name[0]) && hex(name[1]);
}

// Calls `visit(id, entry)` for every committed shard file under shards/, or
// only under shards/<only_dir>/ if that is not empty.
template <typename Visit>
Status ForEachShard(const StoreState& state, Visit visit, std::string_view only_dir = "") {
  std::error_code ec;
  for (fs::directory_iterator dirs(state.shards_dir, ec), end; !ec && dirs != end;
       dirs.increment(ec)) {
    std::string dir_name = dirs->path().filename().string();
    if (!only_dir.empty() && dir_name != only_dir) continue;
    if (!IsShardDirName(dir_name) || !dirs->is_directory(ec)) continue;
    for (fs::directory_iterator files(dirs->path(), ec); !ec && files != end; files.increment(ec)) {
      std::string name = files->path().filename().string();
      // A shard sits in the directory named by its id's first two digits.
      if (IsValidShardId(name) && name.compare(0, 2, dir_name) == 0) visit(name, *files);
    }
  }
  if (ec) return IoError("listing " + state.shards_dir, ec.value());
  return Status::Ok();
}

class PosixShardStore final : public ShardStore {
 public:
  explicit PosixShardStore(std::shared_ptr<StoreState> state) : state_(std::move(state)) {}

  Result<std::unique_ptr<ShardWriter>> Create(std::string_view shard_id,
                                              uint32_t block_size_bytes) override {
    if (Status writable = state_->CheckWritable(); !writable) return writable.error();
    if (!IsValidShardId(shard_id)) return InvalidId(shard_id);
    if (block_size_bytes == 0 || block_size_bytes > format::kMaxBlockSizeBytes) {
      return MakeError(Errc::kInvalidArgument,
                       "block size " + std::to_string(block_size_bytes) + " is not in [1, " +
                           std::to_string(format::kMaxBlockSizeBytes) + "]");
    }
    for (int attempt = 0;; ++attempt) {
      std::string tmp_path =
          state_->tmp_dir + "/" + std::string(shard_id) + "." + RandomSuffix() + ".tmp";
      UniqueFd fd(::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
      if (fd.valid()) {
        return std::unique_ptr<ShardWriter>(std::make_unique<PosixShardWriter>(
            state_, std::string(shard_id), std::move(tmp_path), std::move(fd), block_size_bytes));
      }
      if (errno != EEXIST || attempt == 3) return IoError("creating " + tmp_path, errno);
    }
  }

  Result<std::unique_ptr<ShardReader>> OpenShard(std::string_view shard_id) override {
    if (!IsValidShardId(shard_id)) return InvalidId(shard_id);
    std::string path = state_->ShardPath(shard_id);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT) {
        return MakeError(Errc::kNotFound, "shard " + std::string(shard_id) + " not found");
      }
      return IoError("opening " + path, errno);
    }
    auto footer = ReadFooter(fd.get(), shard_id);
    if (!footer) return footer.error();
    return std::unique_ptr<ShardReader>(std::make_unique<PosixShardReader>(
        std::string(shard_id), std::move(fd), std::move(*footer)));
  }

  Status Remove(std::string_view shard_id) override {
    if (Status writable = state_->CheckWritable(); !writable) return writable;
    if (!IsValidShardId(shard_id)) return InvalidId(shard_id);
    std::string path = state_->ShardPath(shard_id);
    // GC removes a shard that was rebuilt elsewhere: its quarantined copy,
    // if a scrub left one, goes too.
    const bool unquarantined = ::unlink(state_->QuarantinePath(shard_id).c_str()) == 0;
    {
      std::lock_guard lock(state_->mu);
      struct stat st;
      if (::stat(path.c_str(), &st) != 0 || ::unlink(path.c_str()) != 0) {
        if (errno == ENOENT) {
          if (unquarantined) return Status::Ok();
          return MakeError(Errc::kNotFound, "shard " + std::string(shard_id) + " not found");
        }
        return IoError("removing " + path, errno);
      }
      --state_->shard_count;
      state_->used_bytes -= std::min<uint64_t>(state_->used_bytes, st.st_size);
    }
    return state_->SyncDir(state_->ShardDir(shard_id));
  }

  Result<std::vector<std::string>> List(std::string_view id_prefix) override {
    std::vector<std::string> ids;
    Status listed = ForEachShard(
        *state_,
        [&](const std::string& id, const fs::directory_entry&) {
          if (id.starts_with(id_prefix)) ids.push_back(id);
        },
        id_prefix.size() >= 2 ? id_prefix.substr(0, 2) : std::string_view());
    if (!listed) return listed.error();
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  Result<ScrubOutcome> Scrub(std::string_view shard_id, const ScrubPacer& pace) override;

  Result<std::vector<std::string>> ListQuarantined() override {
    std::vector<std::string> ids;
    std::error_code ec;
    for (fs::directory_iterator it(state_->quarantine_dir, ec), end; !ec && it != end;
         it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (IsValidShardId(name)) ids.push_back(std::move(name));
    }
    if (ec) return IoError("listing " + state_->quarantine_dir, ec.value());
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  StoreUsage Usage() override {
    StoreUsage usage;
    {
      std::lock_guard lock(state_->mu);
      usage.shard_count = state_->shard_count;
      usage.used_bytes = state_->used_bytes;
    }
    struct statvfs vfs;
    if (::statvfs(state_->data_dir.c_str(), &vfs) == 0) {
      usage.capacity_bytes = uint64_t{vfs.f_blocks} * vfs.f_frsize;
      usage.available_bytes = uint64_t{vfs.f_bavail} * vfs.f_frsize;
    }
    return usage;
  }

  bool read_only() const override { return state_->read_only.load(std::memory_order_acquire); }

 private:
  std::shared_ptr<StoreState> state_;
};

// Verifies an open shard file as a reader would, every block in turn.
// kCorrupt (or kIo for a block that cannot be read) on the first failure;
// nullopt if `pace` asked to stop.
std::optional<Status> VerifyShardFile(UniqueFd fd, std::string_view shard_id,
                                      const ScrubPacer& pace, uint64_t* bytes_read) {
  // Cached pages are dropped first, so the bytes verified are the ones on
  // the medium, and afterwards, so the scrub's reads do not push client
  // reads' pages out of the cache.
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
  struct DropCachedPagesAtExit {
    int fd;
    ~DropCachedPagesAtExit() { ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); }
  };
  // The tail and footer are a few hundred bytes: not worth pacing.
  auto footer = ReadFooter(fd.get(), shard_id);
  if (!footer) return Status(footer.error());
  PosixShardReader reader(std::string(shard_id), std::move(fd), *footer);
  DropCachedPagesAtExit drop{reader.raw_fd()};  // runs before the reader closes the file
  std::vector<uint8_t> block(footer->block_size_bytes);
  const uint64_t record_bytes = uint64_t{footer->block_size_bytes} + format::kBlockChecksumBytes;
  for (uint64_t index = 0; index < footer->block_count; ++index) {
    if (!pace(record_bytes)) return std::nullopt;
    auto checksum = reader.ReadBlock(index, block);
    if (!checksum) return Status(checksum.error());
    *bytes_read += record_bytes;
  }
  return Status::Ok();
}

Result<ScrubOutcome> PosixShardStore::Scrub(std::string_view shard_id, const ScrubPacer& pace) {
  if (!IsValidShardId(shard_id)) return InvalidId(shard_id);
  const std::string path = state_->ShardPath(shard_id);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      return MakeError(Errc::kNotFound, "shard " + std::string(shard_id) + " not found");
    }
    return IoError("opening " + path, errno);
  }
  struct stat opened;
  if (::fstat(fd.get(), &opened) != 0) return IoError("stat of " + path, errno);
  ScrubOutcome outcome;
  std::optional<Status> verified =
      VerifyShardFile(std::move(fd), shard_id, pace, &outcome.bytes_read);
  if (!verified) {
    outcome.verdict = ScrubVerdict::kStopped;
    return outcome;
  }
  if (verified->ok()) return outcome;  // kClean
  outcome.problem = verified->error().message;
  // Only the very file that failed goes: a shard rebuilt under the same id
  // while it was read (the rename happens under `mu`) is left alone.
  std::lock_guard lock(state_->mu);
  struct stat now;
  if (::stat(path.c_str(), &now) != 0 || now.st_ino != opened.st_ino ||
      now.st_dev != opened.st_dev) {
    outcome.verdict = ScrubVerdict::kGone;
    return outcome;
  }
  // Not fsynced: after a crash the file is back in shards/ and the next
  // scrub finds it again.
  if (::rename(path.c_str(), state_->QuarantinePath(shard_id).c_str()) != 0) {
    return IoError("moving " + path + " to quarantine", errno);
  }
  --state_->shard_count;
  state_->used_bytes -= std::min<uint64_t>(state_->used_bytes, now.st_size);
  outcome.verdict = ScrubVerdict::kQuarantined;
  return outcome;
}

// Deletes everything in tmp/: writes that were in progress when the node
// stopped. Nothing else can be writing yet, since the store is not open.
Status RemoveTempFiles(const std::string& tmp_dir) {
  std::error_code ec;
  for (fs::directory_iterator it(tmp_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (::unlink(it->path().c_str()) != 0 && errno != ENOENT) {
      return IoError("removing " + it->path().string(), errno);
    }
  }
  if (ec) return IoError("listing " + tmp_dir, ec.value());
  return Status::Ok();
}

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return IoError("creating " + path, errno);
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<ShardStore>> OpenShardStoreWithFsync(const fs::path& data_dir,
                                                            FsyncFn fsync_fn) {
  auto state = std::make_shared<StoreState>();
  state->data_dir = data_dir.string();
  state->shards_dir = state->data_dir + "/shards";
  state->tmp_dir = state->data_dir + "/tmp";
  state->quarantine_dir = state->data_dir + "/quarantine";
  state->fsync_fn = std::move(fsync_fn);

  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) return IoError("creating " + state->data_dir, ec.value());
  for (const std::string& dir : {state->shards_dir, state->tmp_dir, state->quarantine_dir}) {
    if (Status made = MakeDir(dir); !made) return made.error();
  }
  // Also makes durable any shards/xx/ whose creator crashed before its fsync.
  for (const std::string& dir : {state->data_dir, state->shards_dir}) {
    if (Status synced = state->SyncDir(dir); !synced) return synced.error();
  }
  if (Status cleaned = RemoveTempFiles(state->tmp_dir); !cleaned) return cleaned.error();

  Status scanned = ForEachShard(*state, [&](const std::string&, const fs::directory_entry& entry) {
    std::error_code size_ec;
    uint64_t size = entry.file_size(size_ec);
    if (size_ec) return;  // removed or not a file: not ours to count
    ++state->shard_count;
    state->used_bytes += size;
  });
  if (!scanned) return scanned.error();
  return std::unique_ptr<ShardStore>(std::make_unique<PosixShardStore>(std::move(state)));
}

Result<std::unique_ptr<ShardStore>> ShardStore::Open(const fs::path& data_dir) {
  return OpenShardStoreWithFsync(data_dir, [](int fd) { return ::fsync(fd); });
}

}  // namespace holdfast::storage
