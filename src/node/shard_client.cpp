#include "node/shard_client.h"

#include <vector>

#include "common/digest.h"
#include "node/node_api.h"
#include "storage/endian.h"
#include "storage/shard_stream.h"

namespace holdfast::node {
namespace {

using net::Task;

constexpr std::chrono::milliseconds kRequestTimeout{30000};

std::string ShardTarget(std::string shard_id) {
  return std::string(kShardsPath) + shard_id;
}

// Reads the framed stream (storage/shard_stream.h) itself rather than
// through FrameParser: a block's payload is read from the connection
// straight into the caller's buffer and checked there. Repair takes in k
// shards per shard it writes, so the two copies this saves per received
// byte (into a frame, then out of it) were a good part of its CPU.
class StreamingDownload final : public ShardDownload {
 public:
  StreamingDownload(std::unique_ptr<net::ClientConnection> connection, net::ConnectionPool* pool,
                    std::string endpoint, uint64_t first_block, uint64_t block_count,
                    uint32_t block_size)
      : connection_(std::move(connection)),
        pool_(pool),
        endpoint_(std::move(endpoint)),
        next_index_(first_block),
        end_index_(first_block + block_count),
        block_size_(block_size) {}

  Task<Status> NextBlock(std::span<uint8_t> out) override {
    if (broken_) co_return MakeError(Errc::kUnavailable, "shard stream already failed");
    if (next_index_ >= end_index_) co_return MakeError(Errc::kInvalidArgument, "read past range");
    Status accepted = co_await ReadFrame(out);
    if (next_index_ == end_index_ && !broken_) co_await ReturnConnection();
    co_return accepted;
  }

  uint64_t next_block_index() const override { return next_index_; }
  uint64_t last_checksum() const override { return last_checksum_; }

 private:
  // Fills `into` completely from the response body.
  Task<Status> ReadExactly(std::span<uint8_t> into) {
    while (!into.empty()) {
      auto n = co_await connection_->ReadBody(into);
      if (!n) co_return Break(Errc::kUnavailable, n.error().message);
      if (*n == 0) co_return Break(Errc::kUnavailable, "shard stream ended early");
      into = into.subspan(*n);
    }
    co_return Status::Ok();
  }

  Task<Status> ReadFrame(std::span<uint8_t> out) {
    uint8_t head[storage::kFrameHeaderBytes + storage::kBlockPrefixBytes];
    Status read = co_await ReadExactly(std::span<uint8_t>(head, storage::kFrameHeaderBytes));
    if (!read) co_return read;
    const auto type = static_cast<storage::FrameType>(head[0]);
    const uint32_t payload_bytes = storage::LoadLe32(head + 1);
    if (type == storage::FrameType::kError) co_return co_await ReadErrorFrame(payload_bytes);
    if (type != storage::FrameType::kBlock || out.size() != block_size_ ||
        payload_bytes != storage::kBlockPrefixBytes + block_size_) {
      co_return Break(Errc::kCorrupt, "unexpected frame in shard stream");
    }
    read = co_await ReadExactly(std::span<uint8_t>(head + storage::kFrameHeaderBytes, storage::kBlockPrefixBytes));
    if (read) read = co_await ReadExactly(out);
    if (!read) co_return read;
    const uint64_t block_index = storage::LoadLe64(head + storage::kFrameHeaderBytes);
    const uint64_t checksum = storage::LoadLe64(head + storage::kFrameHeaderBytes + 8);
    if (block_index != next_index_) co_return Break(Errc::kCorrupt, "block out of order");
    ++next_index_;
    // The node verified the block from disk; verify again what arrived here.
    if (storage::BlockChecksum(out, block_index) != checksum) {
      co_return MakeError(Errc::kCorrupt, "block checksum mismatch after transfer");
    }
    last_checksum_ = checksum;
    co_return Status::Ok();
  }

  // The node could not serve this block verified: the stream goes on with
  // the next one, and the reader takes this block from another shard.
  Task<Status> ReadErrorFrame(uint32_t payload_bytes) {
    constexpr uint32_t kIndexBytes = 8;
    constexpr uint32_t kMaxErrorFrameBytes = 64u << 10;
    if (payload_bytes < kIndexBytes || payload_bytes > kMaxErrorFrameBytes) {
      co_return Break(Errc::kCorrupt, "malformed error frame in shard stream");
    }
    std::vector<uint8_t> payload(payload_bytes);
    Status read = co_await ReadExactly(payload);
    if (!read) co_return read;
    if (storage::LoadLe64(payload.data()) != next_index_) co_return Break(Errc::kCorrupt, "block out of order");
    ++next_index_;
    co_return MakeError(Errc::kCorrupt,
                        "node: " + std::string(payload.begin() + kIndexBytes, payload.end()));
  }

  // After the last block: read the end of the body so the keep-alive
  // connection can carry the next request (a small GET then costs no connect).
  Task<void> ReturnConnection() {
    std::vector<uint8_t> rest(64);
    auto n = co_await connection_->ReadBody(rest);
    if (n && *n == 0) pool_->Release(endpoint_, std::move(connection_));
    broken_ = true;  // no further reads on this stream
  }

  Status Break(Errc code, std::string message) {
    broken_ = true;
    if (connection_) connection_->Close();
    return MakeError(code, std::move(message));
  }

  std::unique_ptr<net::ClientConnection> connection_;
  net::ConnectionPool* pool_;
  std::string endpoint_;
  uint64_t next_index_;
  uint64_t end_index_;
  uint32_t block_size_;
  uint64_t last_checksum_ = 0;
  bool broken_ = false;
};

}  // namespace

std::string NodeErrorMessage(int status, std::string_view body) {
  std::string message = "node answered HTTP " + std::to_string(status);
  if (!body.empty()) message += ": " + std::string(body.substr(0, 300));
  return message;
}

Errc ErrcForNodeStatus(int status) {
  switch (status) {
    case 404: return Errc::kNotFound;
    case 422: return Errc::kCorrupt;
    case 416: return Errc::kCorrupt;  // the shard is shorter than the catalogue says
    case 400: return Errc::kInvalidArgument;
    default: return Errc::kUnavailable;
  }
}

Task<std::string> ReadSmallBody(net::ClientConnection& connection) {
  std::string body;
  std::vector<uint8_t> buffer(4096);
  while (body.size() < 64 * 1024) {
    auto n = co_await connection.ReadBody(buffer);
    if (!n || *n == 0) break;
    body.append(reinterpret_cast<const char*>(buffer.data()), *n);
  }
  co_return body;
}

Task<Result<std::unique_ptr<ShardDownload>>> OpenShardDownload(
    net::ConnectionPool* pool, std::string endpoint, std::string authorization, std::string shard_id,
    uint64_t first_block, uint64_t block_count, uint32_t block_size_bytes) {
  std::string target = ShardTarget(shard_id) + "?first_block=" + std::to_string(first_block) +
                       "&block_count=" + std::to_string(block_count);
  net::Headers headers;
  headers.Set("Authorization", authorization);
  // One retry when a pooled keep-alive connection turns out to be closed.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto connection = co_await pool->Acquire(endpoint);
    if (!connection) co_return connection.error();
    bool reused = (*connection)->reused();
    Status written = co_await (*connection)->WriteRequestHead("GET", target, headers, 0);
    if (written) written = co_await (*connection)->FinishRequest();
    if (!written) {
      if (reused) continue;
      co_return written.error();
    }
    // (No co_await inside ?: here: GCC 12 destroys such temporaries twice.)
    auto head = co_await (*connection)->ReadResponseHead();
    if (!head) {
      if (reused) continue;
      co_return head.error();
    }
    if (head->status != 200) {
      std::string body = co_await ReadSmallBody(**connection);
      co_return MakeError(ErrcForNodeStatus(head->status), NodeErrorMessage(head->status, body));
    }
    co_return std::unique_ptr<ShardDownload>(std::make_unique<StreamingDownload>(
        std::move(*connection), pool, endpoint, first_block, block_count, block_size_bytes));
  }
  co_return MakeError(Errc::kUnavailable, "node connection failed twice");
}

Task<Result<storage::ShardFooter>> FetchShardFooter(net::ConnectionPool* pool, std::string endpoint,
                                                   std::string authorization, std::string shard_id) {
  net::Headers headers;
  headers.Set("Authorization", authorization);
  auto response = co_await net::Fetch(pool, endpoint, "GET",
                                      ShardTarget(shard_id) + "/footer", headers, "",
                                      kRequestTimeout);
  if (!response) co_return response.error();
  if (response->status != 200) {
    co_return MakeError(ErrcForNodeStatus(response->status),
                        NodeErrorMessage(response->status, response->body));
  }
  auto footer = storage::DecodeFooterJson(response->body);
  if (!footer) co_return MakeError(Errc::kCorrupt, "node sent a bad footer: " + footer.error().message);
  co_return *footer;
}

}  // namespace holdfast::node
