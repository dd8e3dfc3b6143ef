#include "gateway/object_writer.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "common/log.h"
#include "storage/shard_stream.h"

namespace holdfast::gateway {
namespace {

using net::Task;
using Outcome = std::variant<WriteOutcome, WriteError>;

WriteError Fail(WriteFailure failure, std::string message) { return {failure, std::move(message)}; }

// One object's stripe buffer: k data blocks followed by m parity blocks, and
// the checksum of each block of the current stripe. The buffer starts on a
// cache line so the codec's 32-byte loads never straddle two lines.
struct Stripe {
  static constexpr std::align_val_t kAlignment{64};

  Stripe(int k, int m, uint32_t block_size)
      : k(k), m(m), block_size(block_size),
        bytes(new (kAlignment) uint8_t[size_t(k + m) * block_size]()),  // zeroed: padding
        checksums(k + m) {}
  uint8_t* block(int i) { return bytes.get() + size_t(i) * block_size; }
  std::span<uint8_t> data() { return {bytes.get(), size_t(k) * block_size}; }
  std::span<const uint8_t> block_span(int i) { return {block(i), block_size}; }

  void EncodeAndChecksum(const ec::Codec& codec, uint64_t block_index) {
    std::vector<const uint8_t*> data_ptrs(k);
    std::vector<uint8_t*> parity_ptrs(m);
    for (int i = 0; i < k; ++i) data_ptrs[i] = block(i);
    for (int i = 0; i < m; ++i) parity_ptrs[i] = block(k + i);
    // The codec's checksum is storage::BlockChecksum(block, block_index).
    codec.EncodeAndChecksum(block_size, data_ptrs, parity_ptrs, block_index, checksums);
  }

  struct AlignedDelete {
    void operator()(uint8_t* p) const { ::operator delete[](p, kAlignment); }
  };

  int k, m;
  uint32_t block_size;
  std::unique_ptr<uint8_t[], AlignedDelete> bytes;
  std::vector<uint64_t> checksums;
};

// Digests the client asked us to check, plus the MD5 that becomes the ETag.
struct BodyDigests {
  explicit BodyDigests(bool want_sha256) {
    if (want_sha256) sha256.emplace();
  }
  void Update(std::span<const uint8_t> bytes) {
    md5.Update(bytes);
    if (sha256) sha256->Update(bytes);
  }
  Md5Stream md5;
  std::optional<Sha256Stream> sha256;
};

class Writer {
 public:
  Writer(GatewayContext& context, const WriteRequest& request, net::BodyReader& body)
      : ctx_(context), request_(request), body_(body) {}

  Task<Outcome> Run() {
    auto planned = Plan();
    if (auto* error = std::get_if<WriteError>(&planned)) co_return *error;
    Status begun = co_await net::RunBlocking(ctx_.blocking_pool,
                                             [&] { return ctx_.store.BeginWrite(pending_); });
    if (!begun) co_return Fail(WriteFailure::kInternal, begun.error().message);

    std::optional<WriteError> failed;
    if (block_count_ <= 1) {
      failed = co_await WriteSingleStripe();
    } else {
      failed = co_await WriteStripes();
    }
    if (!failed) failed = CheckQuorum("after commit");
    if (failed) {
      co_await Abort();
      co_return *failed;
    }
    Status committed = co_await net::RunBlocking(ctx_.blocking_pool, [&]() -> Status {
      if (request_.part) {
        return ctx_.store.CommitPart(request_.part->upload_id, request_.part->part_number, version_);
      }
      auto outcome = ctx_.store.CommitObject(version_, request_.condition);
      if (!outcome) return outcome.error();
      // The versioning in force at the commit decides the S3 id, whatever
      // the bucket said when this write began.
      version_.null_version = outcome->null_version;
      versioning_ = outcome->versioning;
      return Status::Ok();
    });
    if (!committed) {
      co_await Abort();
      if (committed.error().code == Errc::kNotFound) {
        co_return Fail(request_.part ? WriteFailure::kUploadGone : WriteFailure::kBucketGone,
                       committed.error().message);
      }
      // An overwrite in an unversioned bucket removes the old version, which
      // a hold may protect (docs/holds.md).
      if (committed.error().code == Errc::kLocked) co_return Fail(WriteFailure::kLocked, committed.error().message);
      if (committed.error().code == Errc::kPreconditionFailed) {
        co_return Fail(WriteFailure::kPreconditionFailed, committed.error().message);
      }
      co_return Fail(WriteFailure::kInternal, committed.error().message);
    }
    co_return WriteOutcome{version_, versioning_, LiveCount()};
  }

 private:
  // Chooses the code and the nodes, and fills in the pending write.
  std::variant<std::monostate, WriteError> Plan() {
    std::vector<placement::NodeInfo> nodes = ctx_.cluster.PlacementNodes();
    auto layout = ChooseLayout(nodes, ctx_.PolicyFor(nodes), request_.content_length,
                               ctx_.settings.max_block_size_bytes);
    if (!layout) return Fail(WriteFailure::kTooFewNodes, layout.error().message);
    layout_ = *layout;
    auto codec = ctx_.Codec(layout_.data_shard_count, layout_.parity_shard_count);
    if (!codec) return Fail(WriteFailure::kInternal, codec.error().message);
    codec_ = *codec;

    std::string version_id = RandomHex(16);
    std::vector<std::optional<std::string>> chosen = placement::Place(version_id, layout_, nodes);
    uint64_t stripe_capacity = 0;
    block_size_ = ChooseBlockSize(request_.content_length, layout_.data_shard_count,
                                  ctx_.settings.max_block_size_bytes);
    stripe_capacity = uint64_t(block_size_) * layout_.data_shard_count;
    block_count_ = (request_.content_length + stripe_capacity - 1) / stripe_capacity;

    version_.version_id = version_id;
    version_.bucket = request_.bucket;
    version_.key = request_.key;
    version_.size_bytes = request_.content_length;
    version_.content_type = request_.content_type;
    version_.user_metadata = request_.user_metadata;
    version_.headers = request_.headers;
    if (!request_.part) version_.lock = request_.lock;
    version_.created_unix_ms = ctx_.clock.NowUnixMs();
    version_.data_shard_count = layout_.data_shard_count;
    version_.parity_shard_count = layout_.parity_shard_count;
    version_.block_size_bytes = block_size_;
    version_.kind = request_.part ? meta::VersionKind::kPart : meta::VersionKind::kObject;
    endpoints_.resize(layout_.total());
    for (int i = 0; i < layout_.total(); ++i) {
      meta::ShardLocation location{i, chosen[i].value_or(""), meta::ShardState::kMissing};
      if (chosen[i]) {
        if (auto endpoint = ctx_.ReachableEndpoint(*chosen[i])) {
          endpoints_[i] = *endpoint;
          location.state = meta::ShardState::kOk;
        }
      }
      version_.shards.push_back(location);
    }
    pending_ = {version_id, request_.bucket, request_.key, version_.created_unix_ms,
                version_.shards};
    if (!request_.part) {
      // In every footer, so that catalogue recovery (gateway/recover.h)
      // brings the object back with its metadata, not only its bytes.
      metadata_json_ = nlohmann::json{{"content_type", request_.content_type},
                                      {"user_metadata", request_.user_metadata},
                                      {"headers", request_.headers}}
                           .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    if (auto error = CheckQuorum("to start")) return *error;
    return std::monostate{};
  }

  int LiveCount() const {
    return static_cast<int>(std::count_if(version_.shards.begin(), version_.shards.end(),
                                          [](const auto& s) { return s.state == meta::ShardState::kOk; }));
  }

  std::optional<WriteError> CheckQuorum(std::string_view when) const {
    int live = LiveCount(), quorum = WriteQuorum(layout_);
    if (live >= quorum) return std::nullopt;
    return Fail(WriteFailure::kTooFewNodes,
                "too few storage nodes reachable " + std::string(when) + " storing the object safely: " +
                    std::to_string(live) + " of " + std::to_string(layout_.total()) +
                    " shards have a node, at least " + std::to_string(quorum) + " are needed (" +
                    placement::Describe(layout_) + ")");
  }

  void DropShard(int shard_index, const Error& error) {
    meta::ShardLocation& location = version_.shards[shard_index];
    if (location.state != meta::ShardState::kOk) return;
    HF_LOG_WARN("shard {} of {}/{} on node {} failed, continuing without it: {}", shard_index,
                request_.bucket, request_.key, location.node_id, error.message);
    ctx_.cluster.MarkSuspect(location.node_id);
    location.state = meta::ShardState::kMissing;
  }

  storage::ShardFooter FooterFor(int shard_index, bool complete) const {
    storage::ShardFooter footer;
    footer.bucket = request_.bucket;
    footer.key = request_.key;
    footer.version_id = version_.version_id;
    footer.data_shard_count = layout_.data_shard_count;
    footer.parity_shard_count = layout_.parity_shard_count;
    footer.shard_index = shard_index;
    footer.block_size_bytes = block_size_;
    footer.created_unix_ms = version_.created_unix_ms;
    footer.object_size_bytes = request_.content_length;
    footer.metadata_json = metadata_json_;
    if (request_.part) {
      footer.upload_id = request_.part->upload_id;
      footer.part_number = request_.part->part_number;
    }
    if (complete) {
      footer.etag = version_.etag;
      footer.block_count = block_count_;
    }
    return footer;
  }

  // Reads the next `bytes` of the body into `out`; nullopt when the client
  // delivered them all.
  Task<std::optional<WriteError>> ReadBody(std::span<uint8_t> out, BodyDigests& digests) {
    auto n = co_await body_.ReadFull(out);
    if (!n) co_return Fail(WriteFailure::kClientGone, n.error().message);
    if (*n != out.size()) {
      co_return Fail(WriteFailure::kClientGone,
                     "the request body ended after " + std::to_string(body_.bytes_read()) + " of " +
                         std::to_string(request_.content_length) + " bytes");
    }
    digests.Update(out);
    co_return std::nullopt;
  }

  // The body must end exactly at the declared length. Reading past it is
  // also what lets a verifying body (aws-chunked signatures, checksum
  // trailers) finish its checks before anything is committed.
  Task<std::optional<WriteError>> ExpectBodyEnd() {
    uint8_t extra = 0;
    auto n = co_await body_.Read(std::span<uint8_t>(&extra, 1));
    if (!n) co_return Fail(WriteFailure::kClientGone, n.error().message);
    if (*n != 0) co_return Fail(WriteFailure::kClientGone, "the request body is longer than declared");
    co_return std::nullopt;
  }

  std::optional<WriteError> FinishDigests(BodyDigests& digests) {
    Md5Digest md5 = digests.md5.Finish();
    version_.etag = HexLower(md5);
    if (request_.expected_md5 &&
        std::string_view(reinterpret_cast<const char*>(md5.data()), md5.size()) != *request_.expected_md5) {
      return Fail(WriteFailure::kMd5Mismatch, "The Content-MD5 you specified did not match what we received.");
    }
    if (digests.sha256 && HexLower(digests.sha256->Finish()) != *request_.expected_sha256_hex) {
      return Fail(WriteFailure::kSha256Mismatch,
                  "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
    return std::nullopt;
  }

  // Whole object in one stripe: read it all, then one request per shard.
  Task<std::optional<WriteError>> WriteSingleStripe() {
    Stripe stripe(layout_.data_shard_count, layout_.parity_shard_count, block_size_);
    BodyDigests digests(request_.expected_sha256_hex.has_value());
    auto data = stripe.data().first(request_.content_length);
    if (auto error = co_await ReadBody(data, digests)) co_return error;
    if (auto error = co_await ExpectBodyEnd()) co_return error;
    if (auto error = FinishDigests(digests)) co_return error;
    if (block_count_ == 1) stripe.EncodeAndChecksum(*codec_, 0);

    std::vector<Task<Status>> puts;
    std::vector<int> indices;
    for (int i = 0; i < layout_.total(); ++i) {
      if (version_.shards[i].state != meta::ShardState::kOk) continue;
      std::string framed;
      storage::AppendFrame(storage::FrameType::kHeader, storage::EncodeFooterJson(FooterFor(i, false)), &framed);
      if (block_count_ == 1) {
        storage::AppendBlockFramePrefix(0, stripe.checksums[i], block_size_, &framed);
        framed.append(reinterpret_cast<const char*>(stripe.block(i)), block_size_);
      }
      storage::AppendFrame(storage::FrameType::kCommit, storage::EncodeFooterJson(FooterFor(i, true)), &framed);
      puts.push_back(ctx_.nodes.PutWhole(endpoints_[i], ShardId(version_.version_id, i), std::move(framed)));
      indices.push_back(i);
    }
    std::vector<Status> results = co_await net::ParallelAll(std::move(puts));
    for (size_t j = 0; j < results.size(); ++j) {
      if (!results[j]) DropShard(indices[j], results[j].error());
    }
    co_return std::nullopt;
  }

  // Larger objects: one long-lived streaming request per shard.
  Task<std::optional<WriteError>> WriteStripes() {
    std::vector<std::unique_ptr<ShardUpload>> uploads(layout_.total());
    co_await OpenUploads(uploads);
    if (auto error = CheckQuorum("while opening shard streams")) co_return error;

    Stripe stripe(layout_.data_shard_count, layout_.parity_shard_count, block_size_);
    BodyDigests digests(request_.expected_sha256_hex.has_value());
    uint64_t stripe_bytes = uint64_t(block_size_) * layout_.data_shard_count;
    for (uint64_t s = 0; s < block_count_; ++s) {
      uint64_t take = std::min(stripe_bytes, request_.content_length - s * stripe_bytes);
      if (take < stripe_bytes) std::memset(stripe.bytes.get() + take, 0, stripe_bytes - take);
      if (auto error = co_await ReadBody(stripe.data().first(take), digests)) co_return error;
      stripe.EncodeAndChecksum(*codec_, s);
      std::vector<Task<Status>> sends;
      std::vector<int> indices;
      for (int i = 0; i < layout_.total(); ++i) {
        if (!uploads[i] || version_.shards[i].state != meta::ShardState::kOk) continue;
        sends.push_back(uploads[i]->SendBlock(s, stripe.checksums[i], stripe.block_span(i)));
        indices.push_back(i);
      }
      std::vector<Status> results = co_await net::ParallelAll(std::move(sends));
      for (size_t j = 0; j < results.size(); ++j) {
        if (!results[j]) {
          DropShard(indices[j], results[j].error());
          uploads[indices[j]]->Abort();
        }
      }
      if (auto error = CheckQuorum("during the upload")) co_return error;
    }
    if (auto error = co_await ExpectBodyEnd()) co_return error;
    if (auto error = FinishDigests(digests)) co_return error;

    std::vector<Task<Status>> commits;
    std::vector<int> indices;
    for (int i = 0; i < layout_.total(); ++i) {
      if (!uploads[i] || version_.shards[i].state != meta::ShardState::kOk) continue;
      commits.push_back(uploads[i]->Commit(FooterFor(i, true)));
      indices.push_back(i);
    }
    std::vector<Status> results = co_await net::ParallelAll(std::move(commits));
    for (size_t j = 0; j < results.size(); ++j) {
      if (!results[j]) DropShard(indices[j], results[j].error());
    }
    co_return std::nullopt;
  }

  Task<void> OpenUploads(std::vector<std::unique_ptr<ShardUpload>>& uploads) {
    std::vector<Task<Status>> opens;
    std::vector<int> indices;
    for (int i = 0; i < layout_.total(); ++i) {
      if (version_.shards[i].state != meta::ShardState::kOk) continue;
      opens.push_back(OpenOne(i, &uploads[i]));
      indices.push_back(i);
    }
    std::vector<Status> results = co_await net::ParallelAll(std::move(opens));
    for (size_t j = 0; j < results.size(); ++j) {
      if (!results[j]) DropShard(indices[j], results[j].error());
    }
  }

  Task<Status> OpenOne(int shard_index, std::unique_ptr<ShardUpload>* slot) {
    auto upload = co_await ctx_.nodes.OpenUpload(endpoints_[shard_index],
                                                 ShardId(version_.version_id, shard_index),
                                                 FooterFor(shard_index, false));
    if (!upload) co_return upload.error();
    *slot = std::move(*upload);
    co_return Status::Ok();
  }

  // Nothing becomes visible; every shard that may have reached a node is
  // queued for deletion through the pending write.
  Task<void> Abort() {
    Status aborted = co_await net::RunBlocking(
        ctx_.blocking_pool, [&] { return ctx_.store.AbortWrite(version_.version_id); });
    if (!aborted) {
      HF_LOG_ERROR("could not abort write {}: {} (the pending-write sweeper will retry)",
                   version_.version_id, aborted.error().message);
    }
  }

  GatewayContext& ctx_;
  const WriteRequest& request_;
  net::BodyReader& body_;
  placement::Layout layout_;
  std::shared_ptr<const ec::Codec> codec_;
  uint32_t block_size_ = 0;
  uint64_t block_count_ = 0;
  std::string metadata_json_;  // the footers' "metadata" (not for parts)
  meta::ObjectVersion version_;
  meta::Versioning versioning_ = meta::Versioning::kNeverEnabled;  // at the commit
  meta::PendingWrite pending_;
  std::vector<std::string> endpoints_;
};

}  // namespace

uint64_t EstimatedDiskBytes(uint64_t object_size_bytes, const placement::Layout& layout,
                            uint32_t max_block_size_bytes) {
  constexpr uint64_t kAllocationUnit = 4096;
  constexpr uint64_t kFooterBytes = 512;  // footer JSON + tail, generously
  const int k = layout.data_shard_count;
  uint64_t block = ChooseBlockSize(object_size_bytes, k, max_block_size_bytes);
  uint64_t stripes = (object_size_bytes + block * k - 1) / (block * k);
  uint64_t file = stripes * (block + sizeof(uint64_t)) + kFooterBytes;
  return (file + kAllocationUnit - 1) / kAllocationUnit * kAllocationUnit * layout.total();
}

Result<placement::Layout> ChooseLayout(const std::vector<placement::NodeInfo>& nodes,
                                       const placement::DurabilityPolicy& policy,
                                       uint64_t object_size_bytes, uint32_t max_block_size_bytes) {
  auto wide = placement::DeriveLayout(nodes, policy);
  if (!wide || wide->data_shard_count == 1) return wide;
  auto copies = placement::DeriveLayout(nodes, policy, /*max_data_shards=*/1);
  if (!copies) return wide;
  // Ties go to the copies: fewer files, fewer fsyncs, one node per read.
  return EstimatedDiskBytes(object_size_bytes, *copies, max_block_size_bytes) <=
                 EstimatedDiskBytes(object_size_bytes, *wide, max_block_size_bytes)
             ? copies
             : wide;
}

uint32_t ChooseBlockSize(uint64_t object_size_bytes, int data_shard_count,
                         uint32_t max_block_size_bytes) {
  uint64_t share = (object_size_bytes + data_shard_count - 1) / data_shard_count;
  uint64_t rounded = std::max<uint64_t>(64, (share + 63) / 64 * 64);
  return static_cast<uint32_t>(std::min<uint64_t>(rounded, max_block_size_bytes));
}

int WriteQuorum(const placement::Layout& layout) {
  return layout.parity_shard_count >= 1 ? layout.data_shard_count + 1 : layout.data_shard_count;
}

Task<Outcome> WriteObject(GatewayContext& context, const WriteRequest& request,
                          net::BodyReader& body) {
  Writer writer(context, request, body);
  co_return co_await writer.Run();
}

}  // namespace holdfast::gateway
