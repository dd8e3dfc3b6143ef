#include "node/node_service.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <vector>

#include "common/clock.h"
#include "common/digest.h"
#include "common/log.h"
#include "node/deletion_auth.h"
#include "node/node_api.h"
#include "node/scrubber.h"
#include "node/shard_client.h"
#include "storage/endian.h"
#include "storage/shard_stream.h"

namespace holdfast::node {
namespace {

using net::Task;

// JSON is built outside coroutines: GCC 12 miscompiles brace-initialised
// temporaries holding string literals inside a co_await expression.
std::string ErrorJson(std::string_view message) { return nlohmann::json{{"error", message}}.dump(); }

std::string StatusJson(storage::ShardStore& store) {
  storage::StoreUsage usage = store.Usage();
  return nlohmann::json{{"shard_count", usage.shard_count},
                        {"used_bytes", usage.used_bytes},
                        {"capacity_bytes", usage.capacity_bytes},
                        {"available_bytes", usage.available_bytes},
                        {"read_only", store.read_only()}}
      .dump();
}

std::string CommittedJson(uint64_t blocks) { return nlohmann::json{{"blocks", blocks}}.dump(); }

Task<void> SendJson(net::ResponseWriter& out, int status, std::string body) {
  net::Headers headers;
  headers.Set("Content-Type", "application/json");
  (void)co_await out.Send(status, headers, body);
}

Task<void> SendError(net::ResponseWriter& out, int status, std::string_view message) {
  std::string body = ErrorJson(message);
  co_await SendJson(out, status, std::move(body));
}

int StatusFor(const Error& error) {
  switch (error.code) {
    case Errc::kNotFound: return 404;
    case Errc::kInvalidArgument: return 400;
    case Errc::kPermission: return 403;
    case Errc::kCorrupt: return 422;
    case Errc::kIo: return 507;
    default: return 500;
  }
}

// "0123...ef.3" -> the version id part, for checking footers against ids.
std::string_view VersionOf(std::string_view shard_id) {
  return shard_id.substr(0, shard_id.find('.'));
}

uint64_t ParseUint(const std::vector<std::pair<std::string, std::string>>& query,
                   std::string_view name, uint64_t fallback) {
  for (const auto& [k, v] : query) {
    if (k != name) continue;
    uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
    if (ec == std::errc() && ptr == v.data() + v.size()) return value;
  }
  return fallback;
}

class NodeService {
 public:
  NodeService(storage::ShardStore& store, std::string secret, boost::asio::thread_pool& pool,
              Scrubber* scrubber, std::string node_id, const DeletionKeyPin& deletion_pin)
      : store_(store),
        secret_(std::move(secret)),
        pool_(pool),
        scrubber_(scrubber),
        node_id_(std::move(node_id)),
        deletion_pin_(deletion_pin) {}

  Task<void> Handle(net::Request& request, net::BodyReader& body, net::ResponseWriter& out) {
    auto auth = request.headers.Get("Authorization");
    if (!auth || !ConstantTimeEquals(*auth, AuthorizationValue(secret_))) {
      co_await SendError(out, 401, "missing or wrong cluster secret");
      co_return;
    }
    std::string_view path = request.path;
    if (path == "/v1/status" && request.method == "GET") {
      co_await HandleStatus(out);
      co_return;
    }
    if (path == kShardListPath && request.method == "GET") {
      co_await HandleList(request, out);
      co_return;
    }
    if (!path.starts_with(kShardsPath)) {
      co_await SendError(out, 404, "no such endpoint");
      co_return;
    }
    std::string_view rest = path.substr(kShardsPath.size());
    bool footer_only = false;
    bool verify = false;
    bool copy = false;
    if (rest.ends_with("/copy")) {
      rest.remove_suffix(std::string_view("/copy").size());
      copy = true;
    } else if (rest.ends_with("/footer")) {
      rest.remove_suffix(std::string_view("/footer").size());
      footer_only = true;
    } else if (rest.ends_with("/verify")) {
      rest.remove_suffix(std::string_view("/verify").size());
      verify = true;
    }
    std::string shard_id(rest);
    if (!storage::IsValidShardId(shard_id)) {
      co_await SendError(out, 400, "invalid shard id");
      co_return;
    }
    if (copy) {
      if (request.method == "POST") {
        co_await HandleCopy(shard_id, body, out);
      } else {
        co_await SendError(out, 405, "method not allowed");
      }
      co_return;
    }
    if (verify) {
      if (request.method == "GET") {
        co_await HandleVerify(shard_id, out);
      } else {
        co_await SendError(out, 405, "method not allowed");
      }
      co_return;
    }
    if (request.method == "PUT" && !footer_only) {
      co_await HandlePut(shard_id, body, out);
    } else if (request.method == "GET") {
      co_await HandleGet(shard_id, request, footer_only, out);
    } else if (request.method == "DELETE" && !footer_only) {
      co_await HandleDelete(shard_id, request, out);
    } else {
      co_await SendError(out, 405, "method not allowed");
    }
  }

 private:
  // One page of committed shards in id order, each with its footer as the
  // store validated it; for catalogue recovery. Walks one shard directory
  // (ids sharing their first two hex digits) after another, so a page costs
  // a directory listing or two, not a walk of the whole store.
  Task<void> HandleList(const net::Request& request, net::ResponseWriter& out) {
    std::vector<std::pair<std::string, std::string>> query;
    net::ParseQuery(request.query, &query);
    std::string after;
    for (const auto& [k, v] : query) {
      if (k == "after") after = v;
    }
    const uint64_t limit = std::clamp<uint64_t>(ParseUint(query, "limit", 1000), 1, 10000);
    auto page = co_await net::RunBlocking(pool_, [&]() -> Result<std::string> {
      std::string shards;
      size_t count = 0, skipped = 0;
      std::string last;
      static constexpr char kHex[] = "0123456789abcdef";
      const int first_dir = after.size() >= 2 ? std::stoi(after.substr(0, 2), nullptr, 16) : 0;
      for (int dir = first_dir; dir < 256 && count < limit; ++dir) {
        const std::string prefix{kHex[dir >> 4], kHex[dir & 15]};
        auto ids = store_.List(prefix);
        if (!ids) return ids.error();
        for (const std::string& id : *ids) {
          if (id <= after) continue;
          if (count >= limit) break;
          last = id;
          auto reader = store_.OpenShard(id);
          if (!reader) {  // corrupt or removed meanwhile: not a source for recovery
            ++skipped;
            continue;
          }
          shards += (count == 0 ? "" : ",") + storage::EncodeFooterJson((*reader)->footer());
          ++count;
        }
      }
      const bool more = count >= limit;
      return "{\"shards\":[" + shards + "],\"skipped\":" + std::to_string(skipped) +
             ",\"next_after\":" + (more ? "\"" + last + "\"" : std::string("null")) + "}";
    });
    if (!page) {
      co_await SendError(out, StatusFor(page.error()), page.error().message);
      co_return;
    }
    co_await SendJson(out, 200, std::move(*page));
  }

  Task<void> HandleStatus(net::ResponseWriter& out) {
    std::string body = StatusJson(store_);
    co_await SendJson(out, 200, std::move(body));
  }

  // Receives a framed shard stream; acknowledges only once it is durable.
  // A body that ends before its commit frame discards everything written.
  // Frames are read with exact reads rather than through FrameParser, so a
  // block's payload goes from the connection straight into the one block
  // buffer the writer writes to the file from: no copy into a frame first.
  Task<void> HandlePut(const std::string& shard_id, net::BodyReader& body,
                       net::ResponseWriter& out) {
    std::unique_ptr<storage::ShardWriter> writer;
    storage::ShardFooter expected;
    std::unique_ptr<uint8_t[]> block;  // reused for every block frame
    while (true) {
      uint8_t head_bytes[storage::kFrameHeaderBytes];
      auto got = co_await body.ReadFull(head_bytes);
      if (!got) co_return;  // the sender is gone; the writer's temp file goes with it
      if (*got < sizeof head_bytes) break;
      auto head = storage::DecodeFrameHeader(head_bytes);
      if (!head) {
        co_await SendError(out, 400, head.error().message);
        co_return;
      }
      if (head->type == storage::FrameType::kBlock) {
        uint8_t prefix[storage::kBlockPrefixBytes];
        got = co_await body.ReadFull(prefix);
        if (!got) co_return;
        if (*got < sizeof prefix) break;
        const uint64_t block_index = storage::LoadLe64(prefix);
        const uint64_t checksum = storage::LoadLe64(prefix + 8);
        const uint32_t block_bytes = head->payload_bytes - storage::kBlockPrefixBytes;
        if (!writer || block_index != writer->blocks_written()) {
          co_await SendError(out, 400, "block frame out of order or before the header");
          co_return;
        }
        if (block_bytes != expected.block_size_bytes) {
          co_await SendError(out, 400, "block frame of " + std::to_string(block_bytes) +
                                           " bytes; the shard's blocks are " +
                                           std::to_string(expected.block_size_bytes));
          co_return;
        }
        if (!block) block = std::make_unique_for_overwrite<uint8_t[]>(block_bytes);
        const std::span<uint8_t> payload(block.get(), block_bytes);
        got = co_await body.ReadFull(payload);
        if (!got) co_return;
        if (*got < payload.size()) break;
        // AppendBlock checks the checksum before anything is written.
        Status appended = writer->AppendBlock(payload, checksum);
        if (!appended) {
          co_await SendError(out, StatusFor(appended.error()), appended.error().message);
          co_return;
        }
        continue;
      }
      if (head->type != storage::FrameType::kHeader && head->type != storage::FrameType::kCommit) {
        co_await SendError(out, 400, "unexpected frame type in a shard upload");
        co_return;
      }
      std::string json(head->payload_bytes, '\0');
      got = co_await body.ReadFull(std::span<uint8_t>(reinterpret_cast<uint8_t*>(json.data()), json.size()));
      if (!got) co_return;
      if (*got < json.size()) break;
      if (head->type == storage::FrameType::kCommit) {
        co_await Commit(shard_id, writer.get(), expected, json, out);
        co_return;
      }
      if (writer) {
        co_await SendError(out, 400, "second header frame");
        co_return;
      }
      auto header = storage::DecodeFooterJson(json);
      if (!header || header->version_id != VersionOf(shard_id) ||
          std::to_string(header->shard_index) != shard_id.substr(shard_id.find('.') + 1)) {
        co_await SendError(out, 400, "header frame does not match the shard id");
        co_return;
      }
      expected = *header;
      auto created = store_.Create(shard_id, expected.block_size_bytes);
      if (!created) {
        co_await SendError(out, StatusFor(created.error()), created.error().message);
        co_return;
      }
      writer = std::move(*created);
    }
    co_await SendError(out, 400, "shard stream ended without a commit frame; nothing was stored");
  }

  // Copies a shard from another node (drain, rebalance): its footer and
  // every block come from the node named in the body, {"from": "host:port"},
  // each block verified on arrival, and are written and committed as a PUT
  // does. The bytes go node to node; the gateway only asks, so a move costs
  // one transfer instead of two (and no gateway hop across providers).
  // Answers 201 {"blocks": N} once durable. A source that fails leaves
  // nothing here: 502 if it could not be reached or broke off, 422 if a block
  // or its footer was damaged, 404 if it has no such shard.
  Task<void> HandleCopy(const std::string& shard_id, net::BodyReader& body, net::ResponseWriter& out) {
    std::string text(4096, '\0');
    auto got = co_await body.ReadFull(std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size()));
    if (!got) co_return;
    text.resize(*got);
    const nlohmann::json request = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!request.is_object() || !request.contains("from") || !request["from"].is_string()) {
      co_await SendError(out, 400, "a copy needs {\"from\": \"host:port\"} naming the source node");
      co_return;
    }
    const std::string from = request["from"].get<std::string>();
    net::ConnectionPool peers(std::chrono::milliseconds(2000));  // outlives the download below
    auto copied = co_await CopyFrom(shard_id, from, &peers);
    if (!copied) {
      const Error& error = copied.error();
      const int status = error.code == Errc::kUnavailable ? 502 : StatusFor(error);
      co_await SendError(out, status, error.message);
      co_return;
    }
    std::string answer = CommittedJson(*copied);
    co_await SendJson(out, 201, std::move(answer));
  }

  // The copy itself; returns the blocks written. Errors name the source.
  Task<Result<uint64_t>> CopyFrom(std::string shard_id, std::string from, net::ConnectionPool* peers) {
    const std::string authorization = AuthorizationValue(secret_);
    auto footer = co_await FetchShardFooter(peers, from, authorization, shard_id);
    if (!footer) co_return MakeError(footer.error().code, "source node " + from + ": " + footer.error().message);
    if (footer->version_id != VersionOf(shard_id) ||
        std::to_string(footer->shard_index) != shard_id.substr(shard_id.find('.') + 1)) {
      co_return MakeError(Errc::kCorrupt, "source node " + from + " sent the footer of another shard");
    }
    auto writer = store_.Create(shard_id, footer->block_size_bytes);
    if (!writer) co_return writer.error();
    auto download = co_await OpenShardDownload(peers, from, authorization, shard_id, 0, footer->block_count,
                                               footer->block_size_bytes);
    if (!download) co_return MakeError(download.error().code, "source node " + from + ": " + download.error().message);
    auto block = std::make_unique_for_overwrite<uint8_t[]>(footer->block_size_bytes);
    const std::span<uint8_t> payload(block.get(), footer->block_size_bytes);
    for (uint64_t index = 0; index < footer->block_count; ++index) {
      Status read = co_await (*download)->NextBlock(payload);
      if (!read) {
        co_return MakeError(read.error().code, "source node " + from + ", block " + std::to_string(index) +
                                                   ": " + read.error().message);
      }
      Status appended = (*writer)->AppendBlock(payload, (*download)->last_checksum());
      if (!appended) co_return appended.error();
    }
    storage::ShardWriter* const durable = writer->get();
    const storage::ShardFooter committed_footer = *footer;
    Status committed = co_await net::RunBlocking(pool_, [&] { return durable->Commit(committed_footer); });
    if (!committed) {
      HF_LOG_ERROR("commit of copied shard {} failed: {}", shard_id, committed.error().message);
      co_return committed.error();
    }
    co_return footer->block_count;
  }

  Task<void> Commit(const std::string& shard_id, storage::ShardWriter* writer,
                    const storage::ShardFooter& expected, const std::string& payload,
                    net::ResponseWriter& out) {
    auto footer = storage::DecodeFooterJson(payload);
    if (!writer || !footer || footer->version_id != expected.version_id ||
        footer->shard_index != expected.shard_index) {
      co_await SendError(out, 400, "commit frame does not match the header");
      co_return;
    }
    // fsync can take milliseconds: keep it off the I/O thread.
    Status committed = co_await net::RunBlocking(pool_, [&] { return writer->Commit(*footer); });
    if (!committed) {
      HF_LOG_ERROR("commit of shard {} failed: {}", shard_id, committed.error().message);
      co_await SendError(out, StatusFor(committed.error()), committed.error().message);
      co_return;
    }
    std::string body = CommittedJson(writer->blocks_written());
    co_await SendJson(out, 201, std::move(body));
  }

  // Reads every block of the shard from disk and checks its checksum here,
  // sending none of the bytes: how a drain verifies a copy it just wrote.
  // Answers the footer; 422 if a block fails (the shard is then suspect).
  Task<void> HandleVerify(const std::string& shard_id, net::ResponseWriter& out) {
    auto verified = co_await net::RunBlocking(pool_, [&]() -> Result<storage::ShardFooter> {
      auto reader = store_.OpenShard(shard_id);
      if (!reader) return reader.error();
      const storage::ShardFooter footer = (*reader)->footer();
      std::vector<uint8_t> block(footer.block_size_bytes);
      for (uint64_t i = 0; i < footer.block_count; ++i) {
        auto read = (*reader)->ReadBlock(i, block);
        if (!read) return read.error();
      }
      return footer;
    });
    if (!verified) {
      if (verified.error().code == Errc::kCorrupt) SuspectShard(shard_id);
      co_await SendError(out, StatusFor(verified.error()), verified.error().message);
      co_return;
    }
    if (verified->version_id != VersionOf(shard_id)) {
      co_await SendError(out, 422, "shard footer names another object version");
      co_return;
    }
    co_await SendJson(out, 200, storage::EncodeFooterJson(*verified));
  }

  Task<void> HandleGet(const std::string& shard_id, const net::Request& request, bool footer_only,
                       net::ResponseWriter& out) {
    auto reader = store_.OpenShard(shard_id);
    if (!reader) {
      if (reader.error().code == Errc::kCorrupt) SuspectShard(shard_id);
      co_await SendError(out, StatusFor(reader.error()), reader.error().message);
      co_return;
    }
    const storage::ShardFooter& footer = (*reader)->footer();
    if (footer.version_id != VersionOf(shard_id)) {
      co_await SendError(out, 422, "shard footer names another object version");
      co_return;
    }
    if (footer_only) {
      net::Headers headers;
      headers.Set("Content-Type", "application/json");
      (void)co_await out.Send(200, headers, storage::EncodeFooterJson(footer));
      co_return;
    }
    std::vector<std::pair<std::string, std::string>> query;
    net::ParseQuery(request.query, &query);
    uint64_t first = ParseUint(query, "first_block", 0);
    uint64_t count = ParseUint(query, "block_count", footer.block_count);
    if (first > footer.block_count || count > footer.block_count - first) {
      co_await SendError(out, 416, "block range outside the shard");
      co_return;
    }
    co_await StreamBlocks(shard_id, **reader, first, count, out);
  }

  // The scrubber verifies the whole shard and takes it out of service if it
  // is corrupt, so later reads do not stumble over it again.
  void SuspectShard(const std::string& shard_id) {
    if (scrubber_ != nullptr) scrubber_->Suspect(shard_id);
  }

  // Sends each block verified, or an error frame for a block that fails
  // verification, so the reader can take that block from another shard.
  // A block is read from disk right behind room for its frame prefix, so
  // frame and payload leave in one write, from the buffer the read filled.
  Task<void> StreamBlocks(std::string shard_id, storage::ShardReader& reader, uint64_t first,
                          uint64_t count, net::ResponseWriter& out) {
    net::Headers headers;
    headers.Set("Content-Type", "application/octet-stream");
    if (!co_await out.WriteHead(200, headers, std::nullopt)) co_return;
    constexpr size_t kPrefixBytes = storage::kFrameHeaderBytes + storage::kBlockPrefixBytes;
    constexpr size_t kPrefixRoom = 64;  // keeps the payload 64-byte aligned
    const uint32_t block_bytes = reader.footer().block_size_bytes;
    auto buffer = std::make_unique_for_overwrite<uint8_t[]>(kPrefixRoom + block_bytes);
    const std::span<uint8_t> block(buffer.get() + kPrefixRoom, block_bytes);
    const std::span<const uint8_t> frame(buffer.get() + kPrefixRoom - kPrefixBytes,
                                         kPrefixBytes + block_bytes);
    std::string prefix;
    for (uint64_t index = first; index < first + count; ++index) {
      prefix.clear();
      auto checksum = reader.ReadBlock(index, block);
      if (checksum) {
        storage::AppendBlockFramePrefix(index, *checksum, block_bytes, &prefix);
        std::memcpy(buffer.get() + kPrefixRoom - kPrefixBytes, prefix.data(), kPrefixBytes);
        if (!co_await out.WriteBody(frame)) co_return;
      } else {
        HF_LOG_WARN("block {} of shard {} failed verification: {}", index, shard_id,
                    checksum.error().message);
        SuspectShard(shard_id);
        storage::AppendErrorFrame(index, checksum.error().message, &prefix);
        if (!co_await out.WriteBody(AsBytes(prefix))) co_return;
      }
    }
    (void)co_await out.Finish();
  }

  Task<void> HandleDelete(const std::string& shard_id, const net::Request& request, net::ResponseWriter& out) {
    const std::string authorisation(request.headers.Get(kDeletionHeader).value_or(""));
    Status authorised = deletion_pin_.Check(node_id_, shard_id, authorisation, SystemClock().NowUnixMs());
    if (!authorised) {
      HF_LOG_WARN("refused to delete shard {}: {}", shard_id, authorised.error().message);
      co_await SendError(out, StatusFor(authorised.error()), authorised.error().message);
      co_return;
    }
    Status removed = co_await net::RunBlocking(pool_, [&] { return store_.Remove(shard_id); });
    if (!removed) {
      co_await SendError(out, StatusFor(removed.error()), removed.error().message);
      co_return;
    }
    net::Headers no_headers;  // not a temporary inside co_await (GCC 12)
    (void)co_await out.Send(204, no_headers, "");
  }

  storage::ShardStore& store_;
  const std::string secret_;
  boost::asio::thread_pool& pool_;
  Scrubber* const scrubber_;
  const std::string node_id_;
  const DeletionKeyPin& deletion_pin_;
};

}  // namespace

net::Handler MakeNodeHandler(storage::ShardStore& store, std::string cluster_secret,
                             boost::asio::thread_pool& blocking_pool, Scrubber* scrubber, std::string node_id,
                             const DeletionKeyPin& deletion_pin) {
  auto service = std::make_shared<NodeService>(store, std::move(cluster_secret), blocking_pool, scrubber,
                                               std::move(node_id), deletion_pin);
  return [service](net::Request& request, net::BodyReader& body,
                   net::ResponseWriter& out) -> Task<void> {
    co_await service->Handle(request, body, out);
  };
}

}  // namespace holdfast::node
