// The node's shard PUT, GET and node-to-node copy over real in-process HTTP
// servers: frames split at any byte, corrupt or malformed uploads refused
// with nothing stored, verified blocks streamed back, copies that fail at
// their source leaving nothing behind.
#include "node/node_service.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/thread_pool.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "net/test_util.h"
#include "node/deletion_auth.h"
#include "node/node_api.h"
#include "storage/shard_stream.h"

namespace holdfast::node {
namespace {

namespace fs = std::filesystem;
using net::Task;

constexpr std::string_view kSecret = "test-secret";
constexpr std::string_view kVersion = "0123456789abcdef0123456789abcdef";
const std::string kShardId = std::string(kVersion) + ".3";

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

storage::ShardFooter Footer(uint32_t block_size_bytes, uint64_t block_count) {
  storage::ShardFooter footer;
  footer.bucket = "b";
  footer.key = "k";
  footer.version_id = std::string(kVersion);
  footer.object_size_bytes = block_size_bytes * block_count * 5;
  footer.etag = "e";
  footer.data_shard_count = 5;
  footer.parity_shard_count = 4;
  footer.shard_index = 3;
  footer.block_size_bytes = block_size_bytes;
  footer.block_count = block_count;
  return footer;
}

std::vector<std::string> RandomBlocks(uint32_t block_size_bytes, int count) {
  std::mt19937 random(block_size_bytes);
  std::vector<std::string> blocks(count, std::string(block_size_bytes, '\0'));
  for (std::string& block : blocks) {
    for (char& c : block) c = static_cast<char>(random());
  }
  return blocks;
}

// header, blocks (checksummed), commit: what the gateway sends.
std::string UploadBody(const std::vector<std::string>& blocks, uint32_t block_size_bytes,
                       bool with_commit = true) {
  const storage::ShardFooter footer = Footer(block_size_bytes, blocks.size());
  std::string body;
  storage::AppendFrame(storage::FrameType::kHeader, storage::EncodeFooterJson(footer), &body);
  for (size_t i = 0; i < blocks.size(); ++i) {
    storage::AppendBlockFramePrefix(i, storage::BlockChecksum(Bytes(blocks[i]), i),
                                    static_cast<uint32_t>(blocks[i].size()), &body);
    body += blocks[i];
  }
  if (with_commit) {
    storage::AppendFrame(storage::FrameType::kCommit, storage::EncodeFooterJson(footer), &body);
  }
  return body;
}

struct Answer {
  int status = 0;
  std::string body;
};

class NodeServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hf_node_service_test.XXXXXX";
    ASSERT_NE(nullptr, ::mkdtemp(pattern));
    root_ = pattern;
    StartNode(root_, "n1", &store_, &pin_, &server_);
  }
  void StartNode(const fs::path& dir, const std::string& node_id, std::unique_ptr<storage::ShardStore>* store,
                 std::unique_ptr<DeletionKeyPin>* pin, std::unique_ptr<net::HttpServer>* server) {
    auto opened = storage::ShardStore::Open(dir / "data");
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    *store = std::move(*opened);
    auto pinned = DeletionKeyPin::Open(dir, "");
    ASSERT_TRUE(pinned.ok()) << pinned.error().message;
    *pin = std::move(*pinned);
    auto started = net::HttpServer::Start(
        io_, net::ServerOptions{},
        MakeNodeHandler(**store, std::string(kSecret), blocking_, nullptr, node_id, **pin));
    ASSERT_TRUE(started.ok()) << started.error().message;
    *server = std::move(*started);
  }
  // A second node, for copies between nodes.
  void StartPeer() {
    fs::create_directories(root_ / "peer");
    StartNode(root_ / "peer", "n2", &peer_store_, &peer_pin_, &peer_server_);
  }
  std::string PeerEndpoint() const { return "127.0.0.1:" + std::to_string(peer_server_->port()); }
  void TearDown() override {
    server_.reset();
    peer_server_.reset();
    io_.Stop();
    io_.Join();
    blocking_.join();
    store_.reset();
    peer_store_.reset();
    fs::remove_all(root_);
  }

  // Sends `body` as a chunked request body in pieces of the given sizes
  // (cycled), as a gateway's writes may split it anywhere.
  Answer Request(std::string method, std::string target, std::string body,
                 std::vector<size_t> piece_sizes = {}, net::HttpServer* to = nullptr) {
    Answer answer;
    if (to == nullptr) to = server_.get();
    net::RunOn(io_.context(0), [&]() -> Task<void> {
      const std::string endpoint = "127.0.0.1:" + std::to_string(to->port());
      auto connection = co_await net::Connect(endpoint, std::chrono::milliseconds(2000));
      CO_ASSERT_OK(connection);
      net::Headers headers;
      headers.Set("Authorization", AuthorizationValue(kSecret));
      std::optional<uint64_t> length;
      if (method == "POST") length = body.size();
      if (method != "PUT" && method != "POST") length = 0;
      CO_ASSERT_OK(co_await (*connection)->WriteRequestHead(method, target, headers, length));
      if (method == "PUT" || method == "POST") {
        size_t offset = 0;
        for (size_t piece = 0; offset < body.size(); ++piece) {
          size_t size = piece_sizes.empty() ? body.size() : piece_sizes[piece % piece_sizes.size()];
          size = std::min(size, body.size() - offset);
          // The node may answer (and stop reading) before the end.
          Status sent = co_await (*connection)->WriteBody(Bytes(body).subspan(offset, size));
          if (!sent) break;
          offset += size;
        }
        (void)co_await (*connection)->FinishRequest();
      }
      auto head = co_await (*connection)->ReadResponseHead();
      CO_ASSERT_OK(head);
      answer.status = head->status;
      std::vector<uint8_t> buffer(64 * 1024);
      while (true) {
        auto n = co_await (*connection)->ReadBody(buffer);
        CO_ASSERT_OK(n);
        if (*n == 0) break;
        answer.body.append(reinterpret_cast<const char*>(buffer.data()), *n);
      }
    });
    return answer;
  }

  Answer Put(std::string body, std::vector<size_t> piece_sizes = {}) {
    return Request("PUT", std::string(kShardsPath) + kShardId, std::move(body), std::move(piece_sizes));
  }

  void ExpectStored(const std::vector<std::string>& blocks) {
    auto reader = store_->OpenShard(kShardId);
    ASSERT_TRUE(reader.ok()) << reader.error().message;
    ASSERT_EQ(blocks.size(), (*reader)->footer().block_count);
    std::vector<uint8_t> block((*reader)->footer().block_size_bytes);
    for (size_t i = 0; i < blocks.size(); ++i) {
      ASSERT_TRUE((*reader)->ReadBlock(i, block).ok());
      EXPECT_EQ(blocks[i], std::string(block.begin(), block.end())) << "block " << i;
    }
  }

  void ExpectNothingStored() {
    auto reader = store_->OpenShard(kShardId);
    ASSERT_FALSE(reader.ok());
    EXPECT_EQ(Errc::kNotFound, reader.error().code);
    // The handler answers first and drops its writer (and temp file) after.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!fs::is_empty(root_ / "data" / "tmp") && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_TRUE(fs::is_empty(root_ / "data" / "tmp"));
  }

  Answer Copy(const std::string& body) {
    return Request("POST", std::string(kShardsPath) + kShardId + "/copy", body);
  }

  fs::path root_;
  net::IoPool io_{1};
  boost::asio::thread_pool blocking_{1};
  std::unique_ptr<storage::ShardStore> store_;
  std::unique_ptr<DeletionKeyPin> pin_;
  std::unique_ptr<net::HttpServer> server_;
  std::unique_ptr<storage::ShardStore> peer_store_;
  std::unique_ptr<DeletionKeyPin> peer_pin_;
  std::unique_ptr<net::HttpServer> peer_server_;
};

TEST_F(NodeServiceTest, StoresLargeBlocksSplitAtAnyByte) {
  const auto blocks = RandomBlocks(100'000, 3);  // written straight from the block buffer
  Answer answer = Put(UploadBody(blocks, 100'000), {1, 3, 7, 4096, 65537, 100'021});
  ASSERT_EQ(201, answer.status) << answer.body;
  EXPECT_NE(std::string::npos, answer.body.find("\"blocks\":3"));
  ExpectStored(blocks);
}

TEST_F(NodeServiceTest, StoresSmallBlocks) {
  const auto blocks = RandomBlocks(1000, 40);  // gathered in the writer's buffer
  Answer answer = Put(UploadBody(blocks, 1000), {13, 999, 5});
  ASSERT_EQ(201, answer.status) << answer.body;
  ExpectStored(blocks);
}

TEST_F(NodeServiceTest, RefusesACorruptBlockAndStoresNothing) {
  const auto blocks = RandomBlocks(100'000, 3);
  std::string body = UploadBody(blocks, 100'000);
  // A byte of block 1's payload, damaged in transit.
  const size_t block1 = body.find(blocks[1]);
  ASSERT_NE(std::string::npos, block1);
  body[block1 + 500] ^= 0x20;
  Answer answer = Put(body, {65536});
  EXPECT_EQ(422, answer.status) << answer.body;
  EXPECT_NE(std::string::npos, answer.body.find("does not match its checksum"));
  ExpectNothingStored();
}

TEST_F(NodeServiceTest, StreamWithoutCommitStoresNothing) {
  const auto blocks = RandomBlocks(100'000, 2);
  Answer answer = Put(UploadBody(blocks, 100'000, /*with_commit=*/false));
  EXPECT_EQ(400, answer.status);
  EXPECT_NE(std::string::npos, answer.body.find("without a commit frame"));
  ExpectNothingStored();

  // Cut inside a block's payload: the same.
  std::string cut = UploadBody(blocks, 100'000);
  cut.resize(cut.find(blocks[1]) + 10);
  answer = Put(cut);
  EXPECT_EQ(400, answer.status);
  ExpectNothingStored();
}

TEST_F(NodeServiceTest, RefusesMalformedFrames) {
  const auto blocks = RandomBlocks(1000, 2);
  // A block frame of another size than the header announced.
  std::string body;
  storage::AppendFrame(storage::FrameType::kHeader, storage::EncodeFooterJson(Footer(1000, 1)), &body);
  storage::AppendBlockFramePrefix(0, storage::BlockChecksum(Bytes(blocks[0].substr(1)), 0), 999, &body);
  body += blocks[0].substr(1);
  Answer answer = Put(body);
  EXPECT_EQ(400, answer.status);
  EXPECT_NE(std::string::npos, answer.body.find("the shard's blocks are 1000"));

  // A block before the header, and an unknown frame type.
  body.clear();
  storage::AppendBlockFramePrefix(0, storage::BlockChecksum(Bytes(blocks[0]), 0), 1000, &body);
  body += blocks[0];
  EXPECT_EQ(400, Put(body).status);
  EXPECT_EQ(400, Put(std::string("\x09\x00\x00\x00\x00", 5)).status);
  // A block out of order.
  body = UploadBody(blocks, 1000);
  const size_t second = body.find(blocks[1]) - storage::kBlockPrefixBytes;
  body[second] = 5;  // block index 5 where 1 belongs
  answer = Put(body);
  EXPECT_EQ(400, answer.status);
  EXPECT_NE(std::string::npos, answer.body.find("out of order"));
  ExpectNothingStored();
}

TEST_F(NodeServiceTest, GetStreamsVerifiedBlocks) {
  const auto blocks = RandomBlocks(100'000, 4);
  ASSERT_EQ(201, Put(UploadBody(blocks, 100'000)).status);
  Answer answer = Request("GET", std::string(kShardsPath) + kShardId + "?first_block=1&block_count=2", "");
  ASSERT_EQ(200, answer.status) << answer.body;
  storage::FrameParser parser;
  parser.Feed(Bytes(answer.body));
  for (uint64_t index = 1; index <= 2; ++index) {
    auto frame = parser.Next();
    ASSERT_TRUE(frame.ok() && frame->has_value());
    const storage::Frame& f = **frame;
    ASSERT_EQ(storage::FrameType::kBlock, f.type);
    EXPECT_EQ(index, f.block_index);
    EXPECT_EQ(blocks[index], std::string(f.block().begin(), f.block().end()));
    EXPECT_EQ(storage::BlockChecksum(f.block(), index), f.checksum);
  }
  auto end = parser.Next();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
  EXPECT_EQ(0u, parser.buffered_bytes());
}

TEST_F(NodeServiceTest, CopiesAShardFromAnotherNode) {
  StartPeer();
  const auto blocks = RandomBlocks(100'000, 4);
  ASSERT_EQ(201, Request("PUT", std::string(kShardsPath) + kShardId, UploadBody(blocks, 100'000), {},
                         peer_server_.get()).status);
  Answer answer = Copy("{\"from\": \"" + PeerEndpoint() + "\"}");
  ASSERT_EQ(201, answer.status) << answer.body;
  EXPECT_EQ("{\"blocks\":4}", answer.body);
  ExpectStored(blocks);
  auto reader = store_->OpenShard(kShardId);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(storage::EncodeFooterJson(Footer(100'000, 4)), storage::EncodeFooterJson((*reader)->footer()));
}

TEST_F(NodeServiceTest, CopyFromANodeWithoutTheShardStoresNothing) {
  StartPeer();
  Answer answer = Copy("{\"from\": \"" + PeerEndpoint() + "\"}");
  EXPECT_EQ(404, answer.status) << answer.body;
  EXPECT_NE(answer.body.find("source node"), std::string::npos) << answer.body;
  ExpectNothingStored();
}

TEST_F(NodeServiceTest, CopyOfADamagedShardStoresNothing) {
  StartPeer();
  const auto blocks = RandomBlocks(100'000, 4);
  ASSERT_EQ(201, Request("PUT", std::string(kShardsPath) + kShardId, UploadBody(blocks, 100'000), {},
                         peer_server_.get()).status);
  // Damage one byte in the middle of the peer's shard file (inside a block).
  fs::path file;
  for (const auto& entry : fs::recursive_directory_iterator(root_ / "peer" / "data")) {
    if (entry.is_regular_file() && entry.path().filename().string().find(kShardId) != std::string::npos) {
      file = entry.path();
    }
  }
  ASSERT_FALSE(file.empty());
  std::fstream stream(file, std::ios::in | std::ios::out | std::ios::binary);
  stream.seekg(static_cast<std::streamoff>(fs::file_size(file) / 2));
  char byte = 0;
  stream.read(&byte, 1);
  stream.seekp(static_cast<std::streamoff>(fs::file_size(file) / 2));
  byte = static_cast<char>(byte ^ 0x5a);
  stream.write(&byte, 1);
  stream.close();
  Answer answer = Copy("{\"from\": \"" + PeerEndpoint() + "\"}");
  EXPECT_EQ(422, answer.status) << answer.body;
  EXPECT_NE(answer.body.find("block"), std::string::npos) << answer.body;
  ExpectNothingStored();
}

TEST_F(NodeServiceTest, CopyFromAnUnreachableNodeStoresNothing) {
  StartPeer();
  const std::string gone = PeerEndpoint();
  peer_server_.reset();  // nothing listens there any more
  Answer answer = Copy("{\"from\": \"" + gone + "\"}");
  EXPECT_EQ(502, answer.status) << answer.body;
  ExpectNothingStored();
}

TEST_F(NodeServiceTest, CopyNeedsASourceNode) {
  for (const std::string body : {"", "{}", "{\"from\": 3}", "not json"}) {
    Answer answer = Copy(body);
    EXPECT_EQ(400, answer.status) << body;
    EXPECT_NE(answer.body.find("source node"), std::string::npos) << answer.body;
  }
  EXPECT_EQ(405, Request("GET", std::string(kShardsPath) + kShardId + "/copy", "").status);
  ExpectNothingStored();
}

}  // namespace
}  // namespace holdfast::node
