#include "gateway/repair_rebuild.h"

#include <gtest/gtest.h>

namespace holdfast::gateway {
namespace {

meta::ObjectVersion Version() {
  meta::ObjectVersion v;
  v.version_id = "0123456789abcdef0123456789abcdef";
  v.size_bytes = 3 * 1000 + 1;  // 5 data shards x 640-byte blocks: 1 stripe
  v.data_shard_count = 5;
  v.parity_shard_count = 4;
  v.block_size_bytes = 640;
  return v;
}

storage::ShardFooter FooterOf(const meta::ObjectVersion& v, int index) {
  storage::ShardFooter f;
  f.version_id = v.version_id;
  f.shard_index = index;
  f.data_shard_count = v.data_shard_count;
  f.parity_shard_count = v.parity_shard_count;
  f.block_size_bytes = v.block_size_bytes;
  f.object_size_bytes = v.size_bytes;
  f.block_count = 1;
  return f;
}

TEST(FooterFitsVersionTest, AcceptsTheFooterTheWriterWrote) {
  EXPECT_TRUE(FooterFitsVersion(FooterOf(Version(), 3), Version(), 3));
}

TEST(FooterFitsVersionTest, RefusesAnotherShapeIndexSizeOrLength) {
  meta::ObjectVersion v = Version();
  EXPECT_FALSE(FooterFitsVersion(FooterOf(v, 3), v, 4));
  storage::ShardFooter short_shard = FooterOf(v, 3);
  short_shard.block_count = 0;  // self-consistent but shorter than the object
  EXPECT_FALSE(FooterFitsVersion(short_shard, v, 3));
  storage::ShardFooter other_size = FooterOf(v, 3);
  other_size.object_size_bytes = 10;
  EXPECT_FALSE(FooterFitsVersion(other_size, v, 3));
  storage::ShardFooter other_code = FooterOf(v, 3);
  other_code.parity_shard_count = 2;
  EXPECT_FALSE(FooterFitsVersion(other_code, v, 3));
}

}  // namespace
}  // namespace holdfast::gateway
