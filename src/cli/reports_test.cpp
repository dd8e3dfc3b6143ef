// The operators' reports: units, and tolerance of what the gateway leaves out.
#include "cli/reports.h"

#include <gtest/gtest.h>

namespace holdfast::cli {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(HumanUnits, BytesRatesAndDurations) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(512), "512 B");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(256.0 * (1 << 20)), "256.0 MiB");
  EXPECT_EQ(HumanBytes(3.0 * (1ull << 40)), "3.0 TiB");
  EXPECT_EQ(HumanRate(10 << 20), "10.0 MiB/s");
  EXPECT_EQ(HumanDuration(0.25), "0.2 s");
  EXPECT_EQ(HumanDuration(42), "42 s");
  EXPECT_EQ(HumanDuration(75), "1 min 15 s");
  EXPECT_EQ(HumanDuration(7300), "2 h 1 min");
  EXPECT_EQ(HumanDuration(200000), "2 d 7 h");
}

const char* kStatus = R"({
  "nodes": [
    {"id": "a1", "provider": "provider-a", "site": "provider-a-dc1", "state": "up", "read_only": false,
     "used_bytes": 1048576, "capacity_bytes": 4194304, "shard_count": 23,
     "scrub": {"rate_limit_bytes_per_second": 16777216, "bytes_verified": 2097152, "shards_verified": 9,
               "corrupt_found": 1, "read_errors": 0, "passes_completed": 2,
               "last_pass_completed_unix_ms": 1000000, "brand_new": 7}},
    {"id": "b1", "provider": "provider-b", "site": "provider-b-dc1", "state": "down", "read_only": false,
     "used_bytes": 0, "capacity_bytes": 0, "shard_count": 0}
  ],
  "loss_grace_ms": 3000,
  "under_protected_versions": 4,
  "versions": 10,
  "versions_by_spare_shards": {"-1": 1, "0": 3, "4": 6},
  "policy": {"provider_losses": 1, "server_losses": 1},
  "repair": {"shards_rebuilt": 5, "bytes_rebuilt": 5242880, "failures": 0, "shards_marked_lost": 9,
             "shards_reconciled": 0, "unplaceable_shards": 2, "unreadable_versions": 1, "passes": 3,
             "rate_bytes_per_second": 0, "measured_rate_bytes_per_second": 41943040,
             "rate_limit_bytes_per_second": 268435456},
  "gc": {"queued_shards": 6},
  "drain": {"drains": [{"scope": "provider", "name": "provider-b", "state": "draining", "nodes": ["b1"],
                        "objects_left": 3, "shards_left": 7, "bytes_left": 3145728, "pending_shards": 0,
                        "ready_to_retire": false}],
            "shards_moved": 2, "bytes_moved": 2097152, "rate_bytes_per_second": 1048576, "eta_seconds": 3,
            "blocked": [{"bucket": "photos", "key": "cat.jpg", "version_id": "ab", "shard_index": 4,
                         "node_id": "b1", "reason": "no node can take it"}]}
})";

TEST(StatusReport, ShowsNodesByProviderMarginAndQueues) {
  const std::string text = RenderStatusReport(nlohmann::json::parse(kStatus), "127.0.0.1:9000", 1060000);
  EXPECT_TRUE(Contains(text, "2 nodes at 2 providers, 1 up")) << text;
  EXPECT_TRUE(Contains(text, "provider-a  (1 node: 1 up)")) << text;
  EXPECT_TRUE(Contains(text, "provider-b  (1 node: 1 down)")) << text;
  EXPECT_TRUE(Contains(text, "25.0%")) << text;  // a1's fill
  EXPECT_TRUE(Contains(text, "scrub: 2.0 MiB verified, 9 shards clean, 1 corrupt, 0 read errors, 2 passes (last 1 min 0 s ago)"))
      << text;
  EXPECT_TRUE(Contains(text, "brand_new=7")) << text;
  EXPECT_TRUE(Contains(text, "(10 versions; 4 under-protected)")) << text;
  EXPECT_TRUE(Contains(text, "unreadable now")) << text;
  EXPECT_TRUE(Contains(text, "40.0 MiB/s measured")) << text;
  EXPECT_TRUE(Contains(text, "provider-b")) << text;
  EXPECT_TRUE(Contains(text, "3.0 MiB")) << text;  // bytes left
  EXPECT_TRUE(Contains(text, "moved 2.0 MiB (2 shards) at 1.0 MiB/s, about 3.0 s to go")) << text;
  EXPECT_TRUE(Contains(text, "photos/cat.jpg (shard 4 on b1): no node can take it")) << text;
  EXPECT_TRUE(Contains(text, "6 shard copies queued")) << text;
  // Margin rows come most spare first.
  EXPECT_LT(text.find("can lose 4 more shards"), text.find("one more lost shard"));
}

TEST(StatusReport, ToleratesMissingFields) {
  const std::string text = RenderStatusReport(nlohmann::json::parse(R"({"nodes": [{"id": "x"}]})"), "gw", 0);
  EXPECT_TRUE(Contains(text, "1 node at 1 provider, 0 up")) << text;
  EXPECT_TRUE(Contains(text, "not available")) << text;
  const std::string empty = RenderStatusReport(nlohmann::json::object(), "gw", 0);
  EXPECT_TRUE(Contains(empty, "Holdfast cluster at gw")) << empty;
}

TEST(DrillReport, ListsUnreadableAndSumsRepair) {
  const auto drill = nlohmann::json::parse(R"({
    "scenario": {"lose": ["provider:provider-a", "node:b1"],
                 "lost_nodes": [{"id": "a1", "provider": "provider-a", "reason": "named"},
                                {"id": "b1", "provider": "provider-b", "reason": "named"},
                                {"id": "c3", "provider": "provider-c", "reason": "down"}],
                 "repairer_provider": null},
    "versions_affected": 4,
    "unreadable": {"versions": 3, "bytes": 3145728, "list_truncated": true,
                   "list": [{"bucket": "b", "key": "k1", "version_id": "v1", "size_bytes": 1048576,
                             "remaining_shards": 4, "data_shard_count": 5}]},
    "degraded": {"versions": 1, "bytes": 4096, "by_spare_shards": {"0": 1}},
    "repair": {"shards_to_rebuild": 2, "shards_waiting_for_nodes": 3, "waiting_bytes": 12288,
               "read_bytes": 4096, "write_bytes": 8192,
               "read_bytes_by_provider": {"provider-c": 4096}, "write_bytes_by_provider": {"provider-b": 8192},
               "cross_provider_read_bytes": 4096, "cross_provider_write_bytes": 8192,
               "rate_bytes_per_second": 268435456, "rate_source": "rate_limit", "estimated_seconds": 0.5}
  })");
  const std::string text = RenderDrillReport(drill);
  EXPECT_TRUE(Contains(text, "losing provider:provider-a, node:b1")) << text;
  EXPECT_TRUE(Contains(text, "also down now, so lost too: provider-c: c3")) << text;
  EXPECT_TRUE(Contains(text, "Unreadable: 3 object versions (3.0 MiB)")) << text;
  EXPECT_TRUE(Contains(text, "b/k1")) << text;
  EXPECT_TRUE(Contains(text, "4 of 5 needed")) << text;
  EXPECT_TRUE(Contains(text, "and 2 more")) << text;
  EXPECT_TRUE(Contains(text, "Degraded but readable: 1 object version")) << text;
  EXPECT_TRUE(Contains(text, "reading 4.0 KiB (provider-c 4.0 KiB)")) << text;
  EXPECT_TRUE(Contains(text, "3 shards (12.0 KiB) have no node")) << text;
  EXPECT_TRUE(Contains(text, "no repair measured yet")) << text;
}

}  // namespace
}  // namespace holdfast::cli
