// Prometheus text made from the status document.
#include "gateway/metrics.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>

namespace holdfast::gateway {
namespace {

constexpr const char* kStatus = R"({
  "nodes": [
    {"id": "a1", "provider": "provider-a", "site": "provider-a-dc1", "endpoint": "127.0.0.1:1",
     "state": "up", "read_only": false, "used_bytes": 1000, "capacity_bytes": 5000,
     "shard_count": 7, "scrub": {"bytes_verified": 12, "corrupt_found": 1, "last_pass_completed_unix_ms": 1500,
               "new_counter": 3, "note": "x"}},
    {"id": "b\"1", "provider": "provider-b", "site": "provider-b-dc1", "endpoint": "127.0.0.1:2",
     "state": "lost", "read_only": true, "used_bytes": 0, "capacity_bytes": 5000, "shard_count": 0}
  ],
  "loss_grace_ms": 2500,
  "under_protected_versions": 3,
  "versions": 10,
  "versions_by_spare_shards": {"0": 3, "4": 7},
  "repair": {"shards_rebuilt": 5, "bytes_rebuilt": 1048576, "failures": 0, "shards_marked_lost": 9,
             "shards_reconciled": 0, "unplaceable_shards": 2, "unreadable_versions": 0, "passes": 4,
             "rate_bytes_per_second": 1.5, "rate_limit_bytes_per_second": 268435456,
             "measured_rate_bytes_per_second": 0},
  "gc": {"queued_shards": 6},
  "scrub": {"bytes_verified": 12, "reports_received": 2, "oldest_pass_completed_unix_ms": 0},
  "drain": null
})";

// "name{labels}" -> value, and how often each "# TYPE name" line appears.
struct Parsed {
  std::map<std::string, std::string> samples;
  std::map<std::string, int> type_lines;
  std::map<std::string, std::string> types;
};

Parsed Parse(const std::string& text) {
  Parsed out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("# TYPE ")) {
      std::istringstream words(line.substr(7));
      std::string name, type;
      words >> name >> type;
      ++out.type_lines[name];
      out.types[name] = type;
      continue;
    }
    if (line.starts_with("#") || line.empty()) continue;
    const size_t space = line.rfind(' ');
    out.samples[line.substr(0, space)] = line.substr(space + 1);
  }
  return out;
}

TEST(Metrics, ExposeTheStatusNumbers) {
  auto text = MetricsFromStatusJson(kStatus);
  ASSERT_TRUE(text.ok()) << text.error().message;
  const Parsed m = Parse(*text);
  const std::string a1 = R"(node="a1",provider="provider-a",site="provider-a-dc1")";
  EXPECT_EQ(m.samples.at("holdfast_metadata_up"), "1");
  EXPECT_EQ(m.samples.at("holdfast_node_up{" + a1 + "}"), "1");
  EXPECT_EQ(m.samples.at("holdfast_node_state{" + a1 + R"(,state="up"})"), "1");
  EXPECT_EQ(m.samples.at("holdfast_node_state{" + a1 + R"(,state="lost"})"), "0");
  EXPECT_EQ(m.samples.at("holdfast_node_used_bytes{" + a1 + "}"), "1000");
  EXPECT_EQ(m.samples.at("holdfast_node_capacity_bytes{" + a1 + "}"), "5000");
  EXPECT_EQ(m.samples.at("holdfast_node_shards{" + a1 + "}"), "7");
  EXPECT_EQ(m.samples.at("holdfast_node_read_only{" + a1 + "}"), "0");
  EXPECT_EQ(m.samples.at("holdfast_loss_grace_seconds"), "2.5");
  EXPECT_EQ(m.samples.at("holdfast_under_protected_versions"), "3");
  EXPECT_EQ(m.samples.at("holdfast_versions"), "10");
  EXPECT_EQ(m.samples.at(R"(holdfast_versions_by_spare_shards{spare_shards="0"})"), "3");
  EXPECT_EQ(m.samples.at(R"(holdfast_versions_by_spare_shards{spare_shards="4"})"), "7");
  EXPECT_EQ(m.samples.at("holdfast_repair_shards_rebuilt_total"), "5");
  EXPECT_EQ(m.samples.at("holdfast_repair_bytes_rebuilt_total"), "1048576");
  EXPECT_EQ(m.samples.at("holdfast_repair_rate_bytes_per_second"), "1.5");
  EXPECT_EQ(m.samples.at("holdfast_repair_unplaceable_shards"), "2");
  EXPECT_EQ(m.samples.at("holdfast_gc_queued_shards"), "6");
  EXPECT_EQ(m.types.at("holdfast_repair_shards_rebuilt_total"), "counter");
  EXPECT_EQ(m.types.at("holdfast_node_used_bytes"), "gauge");
}

TEST(Metrics, EachFamilyIsDeclaredOnceBeforeItsSamples) {
  auto text = MetricsFromStatusJson(kStatus);
  ASSERT_TRUE(text.ok());
  const Parsed m = Parse(*text);
  for (const auto& [name, count] : m.type_lines) EXPECT_EQ(count, 1) << name;
  // Samples of one family are contiguous, right after its TYPE line.
  const size_t type = text->find("# TYPE holdfast_node_up gauge\n");
  const size_t first = text->find("holdfast_node_up{");
  const size_t last = text->rfind("holdfast_node_up{");
  ASSERT_NE(type, std::string::npos);
  EXPECT_LT(type, first);
  EXPECT_EQ(text->find("# ", first), text->find("# HELP holdfast_node_state"));
  EXPECT_LT(last, text->find("# HELP holdfast_node_state"));
}

TEST(Metrics, EscapesLabelValues) {
  auto text = MetricsFromStatusJson(kStatus);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find(R"(holdfast_node_up{node="b\"1",provider="provider-b")"), std::string::npos);
  EXPECT_NE(text->find(R"(holdfast_node_state{node="b\"1",provider="provider-b",site="provider-b-dc1",state="lost"} 1)"),
            std::string::npos);
}

TEST(Metrics, ScrubFieldsBecomeSeries) {
  auto text = MetricsFromStatusJson(kStatus);
  ASSERT_TRUE(text.ok());
  const Parsed m = Parse(*text);
  const std::string a1 = R"({node="a1",provider="provider-a",site="provider-a-dc1"})";
  EXPECT_EQ(m.samples.at("holdfast_node_scrub_bytes_verified_total" + a1), "12");
  EXPECT_EQ(m.types.at("holdfast_node_scrub_bytes_verified_total"), "counter");
  EXPECT_EQ(m.samples.at("holdfast_node_scrub_corrupt_found_total" + a1), "1");
  EXPECT_EQ(m.samples.at("holdfast_node_scrub_last_pass_completed_timestamp_seconds" + a1), "1.5");
  // A field this table does not know yet is still scraped, untyped.
  EXPECT_EQ(m.samples.at("holdfast_node_scrub_new_counter" + a1), "3");
  EXPECT_EQ(m.types.at("holdfast_node_scrub_new_counter"), "untyped");
  EXPECT_FALSE(m.types.contains("holdfast_node_scrub_note"));  // not a number
  // The node without a scrub object has no scrub series.
  EXPECT_FALSE(m.samples.contains(
      R"(holdfast_node_scrub_bytes_verified_total{node="b\"1",provider="provider-b",site="provider-b-dc1"})"));
  EXPECT_EQ(m.samples.at("holdfast_scrub_reports_received_total"), "2");
  EXPECT_EQ(m.samples.at("holdfast_scrub_oldest_pass_completed_timestamp_seconds"), "0.0");
}

TEST(Metrics, MissingOrNullFieldsMakeNoSeries) {
  auto text = MetricsFromStatusJson(
      R"({"nodes": [], "under_protected_versions": null, "error": "database is locked"})");
  ASSERT_TRUE(text.ok());
  const Parsed m = Parse(*text);
  EXPECT_EQ(m.samples.at("holdfast_metadata_up"), "0");
  EXPECT_FALSE(m.samples.contains("holdfast_under_protected_versions"));
  EXPECT_FALSE(m.samples.contains("holdfast_repair_passes_total"));
}

TEST(Metrics, RefusesWhatIsNotAStatusDocument) {
  EXPECT_FALSE(MetricsFromStatusJson("not json").ok());
  EXPECT_FALSE(MetricsFromStatusJson("[1, 2]").ok());
  EXPECT_FALSE(MetricsFromStatusJson(R"({"nodes": [{"id": 5}]})").ok());  // wrong type: no crash
}

}  // namespace
}  // namespace holdfast::gateway
