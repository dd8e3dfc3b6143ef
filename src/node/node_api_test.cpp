#include "node/node_api.h"

#include <gtest/gtest.h>

namespace holdfast::node {
namespace {

Heartbeat SampleBeat() {
  Heartbeat beat;
  beat.id = "a1";
  beat.provider = "provider-a";
  beat.site = "provider-a-dc1";
  beat.endpoint = "127.0.0.1:4000";
  beat.shard_count = 7;
  beat.scrub.rate_limit_bytes_per_second = 16 << 20;
  beat.scrub.bytes_verified = 123456789012;
  beat.scrub.shards_verified = 40;
  beat.scrub.corrupt_found = 2;
  beat.scrub.read_errors = 1;
  beat.scrub.passes_completed = 3;
  beat.scrub.last_pass_completed_unix_ms = 1700000000123;
  beat.corrupt_shards = {"0123456789abcdef0123456789abcdef.3",
                         "fedcba9876543210fedcba9876543210.0"};
  return beat;
}

TEST(HeartbeatJson, RoundTripsScrubCountersAndReports) {
  auto decoded = DecodeHeartbeat(EncodeHeartbeat(SampleBeat()));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  const Heartbeat expected = SampleBeat();
  EXPECT_EQ(expected.scrub.bytes_verified, decoded->scrub.bytes_verified);
  EXPECT_EQ(expected.scrub.shards_verified, decoded->scrub.shards_verified);
  EXPECT_EQ(expected.scrub.corrupt_found, decoded->scrub.corrupt_found);
  EXPECT_EQ(expected.scrub.read_errors, decoded->scrub.read_errors);
  EXPECT_EQ(expected.scrub.passes_completed, decoded->scrub.passes_completed);
  EXPECT_EQ(expected.scrub.last_pass_completed_unix_ms, decoded->scrub.last_pass_completed_unix_ms);
  EXPECT_EQ(expected.scrub.rate_limit_bytes_per_second, decoded->scrub.rate_limit_bytes_per_second);
  EXPECT_EQ(expected.corrupt_shards, decoded->corrupt_shards);
}

TEST(HeartbeatJson, HeartbeatsWithoutScrubFieldsStillDecode) {
  auto decoded = DecodeHeartbeat(
      R"({"id":"a1","provider":"p","site":"s","endpoint":"127.0.0.1:1","shard_count":3})");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(0u, decoded->scrub.passes_completed);
  EXPECT_TRUE(decoded->corrupt_shards.empty());
}

TEST(HeartbeatJson, RejectsBadCorruptShardReports) {
  Heartbeat beat = SampleBeat();
  beat.corrupt_shards = {"../../etc/passwd"};
  auto bad_id = DecodeHeartbeat(EncodeHeartbeat(beat));
  ASSERT_FALSE(bad_id.ok());
  EXPECT_EQ(Errc::kInvalidArgument, bad_id.error().code);

  beat.corrupt_shards.assign(kMaxCorruptShardsPerHeartbeat + 1,
                             "0123456789abcdef0123456789abcdef.3");
  auto too_many = DecodeHeartbeat(EncodeHeartbeat(beat));
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(std::string::npos, too_many.error().message.find("corrupt shards"));
}

TEST(HeartbeatReplyJson, RoundTripsAndAcceptsOldGateways) {
  HeartbeatReply reply;
  reply.acknowledged_corrupt_shards = {"0123456789abcdef0123456789abcdef.3"};
  auto decoded = DecodeHeartbeatReply(EncodeHeartbeatReply(reply));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(reply.acknowledged_corrupt_shards, decoded->acknowledged_corrupt_shards);

  auto old = DecodeHeartbeatReply(R"({"ok":true})");
  ASSERT_TRUE(old.ok());
  EXPECT_TRUE(old->acknowledged_corrupt_shards.empty());
  EXPECT_FALSE(DecodeHeartbeatReply("not json").ok());
}

}  // namespace
}  // namespace holdfast::node
