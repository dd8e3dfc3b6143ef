#include "gateway/object_reader.h"

#include <algorithm>
#include <vector>

#include "common/log.h"
#include "gateway/repair_rebuild.h"

namespace holdfast::gateway {
namespace {

using net::Task;

class Reader final : public ObjectReader {
 public:
  Reader(GatewayContext& context, const meta::ObjectVersion& version, uint64_t first_byte,
         uint64_t length)
      : ctx_(context),
        version_(version),
        k_(version.data_shard_count),
        m_(version.parity_shard_count),
        block_size_(version.block_size_bytes),
        stripe_bytes_(uint64_t(version.block_size_bytes) * version.data_shard_count),
        next_byte_(first_byte),
        end_byte_(first_byte + length),
        buffer_(size_t(k_ + m_) * block_size_),
        streams_(k_ + m_),
        tried_(k_ + m_, false) {
    if (length > 0) {
      first_stripe_ = first_byte / stripe_bytes_;
      end_stripe_ = (end_byte_ - 1) / stripe_bytes_ + 1;
    }
  }

  // Opens streams on k shards for the whole range.
  Task<Status> Open() {
    if (end_byte_ == next_byte_) co_return Status::Ok();
    auto codec = ctx_.Codec(k_, m_);
    if (!codec) co_return codec.error();
    codec_ = *codec;
    co_return co_await EnsureStreams(first_stripe_);
  }

  Task<Result<std::span<const uint8_t>>> Next() override {
    if (next_byte_ >= end_byte_) co_return std::span<const uint8_t>();
    uint64_t stripe = next_byte_ / stripe_bytes_;
    Status read = co_await ReadStripe(stripe);
    if (!read) co_return read.error();
    uint64_t stripe_start = stripe * stripe_bytes_;
    uint64_t from = next_byte_ - stripe_start;
    uint64_t to = std::min(end_byte_ - stripe_start, stripe_bytes_);
    next_byte_ = stripe_start + to;
    co_return std::span<const uint8_t>(buffer_.data() + from, to - from);
  }

 private:
  int ActiveCount() const {
    return static_cast<int>(std::count_if(streams_.begin(), streams_.end(),
                                          [](const auto& s) { return s != nullptr; }));
  }

  // Shard indices worth trying, best first: healthy data shards (no
  // decoding), healthy parity, then shards recorded as missing that still
  // name a node. Those are often readable after all (the node answered 404
  // while its disk was being remounted, or a commit acknowledgement was
  // lost), and every block is verified, so trying them last can only turn
  // an unreadable object into a readable one.
  std::vector<int> Candidates() const {
    std::vector<int> out, last_resort;
    for (const auto& shard : version_.shards) {
      int i = shard.shard_index;
      if (tried_[i]) continue;
      if (shard.state == meta::ShardState::kOk) {
        out.push_back(i);
      } else if (!shard.node_id.empty()) {
        last_resort.push_back(i);
      }
    }
    out.insert(out.end(), last_resort.begin(), last_resort.end());
    return out;
  }

  // Opens streams from `stripe` on until k are active or no candidate is left.
  Task<Status> EnsureStreams(uint64_t stripe) {
    std::vector<std::string> failures;
    while (ActiveCount() < k_) {
      std::vector<int> candidates = Candidates();
      if (candidates.empty()) break;
      int need = k_ - ActiveCount();
      std::vector<Task<Status>> opens;
      for (int j = 0; j < need && j < static_cast<int>(candidates.size()); ++j) {
        tried_[candidates[j]] = true;
        opens.push_back(OpenStream(candidates[j], stripe, &failures));
      }
      co_await net::ParallelAll(std::move(opens));
    }
    if (ActiveCount() >= k_) co_return Status::Ok();
    std::string message = "object " + version_.bucket + "/" + version_.key +
                          " is unreadable right now: " + std::to_string(ActiveCount()) + " of the " +
                          std::to_string(k_) + " shards needed are reachable";
    for (const auto& f : failures) message += "; " + f;
    co_return MakeError(Errc::kUnavailable, message);
  }

  Task<Status> OpenStream(int shard_index, uint64_t stripe, std::vector<std::string>* failures) {
    const meta::ShardLocation& location = version_.shards[shard_index];
    auto endpoint = ctx_.ReachableEndpoint(location.node_id);
    if (!endpoint) {
      failures->push_back("shard " + std::to_string(shard_index) + ": node " + location.node_id + " is down");
      co_return Status::Ok();
    }
    auto stream = co_await ctx_.nodes.OpenDownload(*endpoint, ShardId(version_.version_id, shard_index),
                                                   stripe, end_stripe_ - stripe, block_size_);
    if (!stream) {
      failures->push_back("shard " + std::to_string(shard_index) + " on node " + location.node_id +
                          ": " + stream.error().message);
      co_await OnShardFailure(shard_index, stream.error());
      co_return Status::Ok();
    }
    streams_[shard_index] = std::move(*stream);
    co_return Status::Ok();
  }

  Task<void> OnShardFailure(int shard_index, const Error& error) {
    const meta::ShardLocation& location = version_.shards[shard_index];
    HF_LOG_WARN("degraded read of {}/{}: shard {} on node {}: {}", version_.bucket, version_.key,
                shard_index, location.node_id, error.message);
    // Report to repair: a corrupt or absent shard is recorded as missing (if
    // the catalogue still places it there), which queues it for rebuilding;
    // an unreachable node becomes suspect.
    co_await ReportShardFailure(ctx_, version_.version_id, shard_index, location.node_id, error);
  }

  Task<Status> ReadBlock(int shard_index, uint64_t stripe, std::vector<char>* present) {
    std::span<uint8_t> out(buffer_.data() + size_t(shard_index) * block_size_, block_size_);
    ShardDownload& stream = *streams_[shard_index];
    // A stream out of step is dropped like a failed one (never left active,
    // or ReadStripe would wait on it forever). No co_await inside ?: (GCC 12).
    Status read = MakeError(Errc::kInternal, "shard stream out of step");
    if (stream.next_block_index() == stripe) read = co_await stream.NextBlock(out);
    if (read) {
      (*present)[shard_index] = 1;
    } else {
      streams_[shard_index].reset();
      co_await OnShardFailure(shard_index, read.error());
    }
    co_return Status::Ok();
  }

  // Fills buffer_'s data blocks with stripe `stripe`, decoding if needed.
  Task<Status> ReadStripe(uint64_t stripe) {
    std::vector<char> present(k_ + m_, 0);
    while (true) {
      std::vector<Task<Status>> reads;
      for (int i = 0; i < k_ + m_; ++i) {
        if (streams_[i] && !present[i]) reads.push_back(ReadBlock(i, stripe, &present));
      }
      co_await net::ParallelAll(std::move(reads));
      if (std::count(present.begin(), present.end(), 1) >= k_) break;
      Status opened = co_await EnsureStreams(stripe);
      if (!opened) co_return opened;
    }
    co_return Decode(present);
  }

  Status Decode(const std::vector<char>& present) {
    bool all_data = std::all_of(present.begin(), present.begin() + k_, [](char p) { return p; });
    if (all_data) return Status::Ok();
    std::vector<uint8_t*> blocks(k_ + m_);
    std::vector<int> erased, wanted;  // wanted: the data blocks; parity is never sent
    for (int i = 0; i < k_ + m_; ++i) {
      blocks[i] = buffer_.data() + size_t(i) * block_size_;
      if (!present[i]) erased.push_back(i);
      if (!present[i] && i < k_) wanted.push_back(i);
    }
    return codec_->Reconstruct(block_size_, blocks, erased, wanted);
  }

  GatewayContext& ctx_;
  const meta::ObjectVersion version_;
  const int k_, m_;
  const uint32_t block_size_;
  const uint64_t stripe_bytes_;
  uint64_t next_byte_;
  const uint64_t end_byte_;
  uint64_t first_stripe_ = 0, end_stripe_ = 0;
  std::shared_ptr<const ec::Codec> codec_;
  std::vector<uint8_t> buffer_;  // k + m blocks of the current stripe
  std::vector<std::unique_ptr<ShardDownload>> streams_;  // by shard index
  std::vector<bool> tried_;
};

// A multipart version: its parts in order, each read by its own Reader over
// the slice of the range it holds. Only the first part is opened before the
// caller sends headers; a later part that cannot be read fails Next() (the
// caller then cuts the transfer short), as a shard failing mid-body does.
class MultipartReader final : public ObjectReader {
 public:
  MultipartReader(GatewayContext& context, meta::ObjectVersion version, uint64_t first_byte,
                  uint64_t length)
      : ctx_(context), version_(std::move(version)), next_byte_(first_byte), end_byte_(first_byte + length) {}

  Task<Status> Open() { co_return co_await OpenPartAt(next_byte_); }

  Task<Result<std::span<const uint8_t>>> Next() override {
    while (next_byte_ < end_byte_) {
      if (!current_) {
        Status opened = co_await OpenPartAt(next_byte_);
        if (!opened) co_return opened.error();
      }
      auto piece = co_await current_->Next();
      if (!piece) co_return piece.error();
      if (piece->empty()) {
        current_.reset();  // this part's slice is done
        continue;
      }
      next_byte_ += piece->size();
      co_return *piece;
    }
    co_return std::span<const uint8_t>();
  }

 private:
  // Opens a reader on the part holding `byte`, up to the end of the range.
  // The range is read front to back, so the search resumes where the last
  // part was found (a 10,000-part object is not rescanned for every part).
  Task<Status> OpenPartAt(uint64_t byte) {
    if (byte >= end_byte_) co_return Status::Ok();
    for (; next_part_ < version_.parts.size(); ++next_part_) {
      const meta::ObjectPart& part = version_.parts[next_part_];
      const uint64_t part_end = part.offset_bytes + part.data.size_bytes;
      if (byte < part.offset_bytes || byte >= part_end) continue;
      const uint64_t first = byte - part.offset_bytes;
      const uint64_t length = std::min(end_byte_, part_end) - byte;
      auto reader = std::make_unique<Reader>(ctx_, part.data, first, length);
      Status opened = co_await reader->Open();
      if (!opened) co_return opened;
      current_ = std::move(reader);
      co_return Status::Ok();
    }
    co_return MakeError(Errc::kCorrupt, "multipart version " + version_.version_id +
                                            " has no part holding byte " + std::to_string(byte));
  }

  GatewayContext& ctx_;
  const meta::ObjectVersion version_;  // the part Readers refer to its parts
  uint64_t next_byte_;
  const uint64_t end_byte_;
  size_t next_part_ = 0;  // parts before it end before next_byte_
  std::unique_ptr<Reader> current_;
};

}  // namespace

Task<Result<std::unique_ptr<ObjectReader>>> OpenObjectReader(GatewayContext& context,
                                                             const meta::ObjectVersion& version,
                                                             uint64_t first_byte, uint64_t length) {
  if (version.kind == meta::VersionKind::kMultipart) {
    auto reader = std::make_unique<MultipartReader>(context, version, first_byte, length);
    Status opened = co_await reader->Open();
    if (!opened) co_return opened.error();
    co_return std::unique_ptr<ObjectReader>(std::move(reader));
  }
  auto reader = std::make_unique<Reader>(context, version, first_byte, length);
  Status opened = co_await reader->Open();
  if (!opened) co_return opened.error();
  co_return std::unique_ptr<ObjectReader>(std::move(reader));
}

}  // namespace holdfast::gateway
