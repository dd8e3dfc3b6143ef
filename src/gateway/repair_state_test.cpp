// Repair's shared counters: the measured rate the loss drill predicts with.
#include "gateway/repair_state.h"

#include <gtest/gtest.h>

namespace holdfast::gateway {
namespace {

TEST(RepairStats, MeasuresTheLatestStretchOfContinuousRepair) {
  RepairStats stats;
  EXPECT_EQ(stats.Snapshot(0).measured_rate_bytes_per_second, 0);
  // The first rebuild's bytes were written before the stretch began.
  stats.AddRebuilt(1, 1000, 10'000);
  stats.AddRebuilt(1, 1000, 10'500);
  EXPECT_EQ(stats.Snapshot(10'500).measured_rate_bytes_per_second, 0);  // under a second yet
  stats.AddRebuilt(1, 1000, 12'000);
  EXPECT_DOUBLE_EQ(stats.Snapshot(12'000).measured_rate_bytes_per_second, 1000.0);  // 2000 B in 2 s
  // Kept while repair is idle (the 5 s rate drops to 0).
  const RepairCounters idle = stats.Snapshot(100'000);
  EXPECT_DOUBLE_EQ(idle.measured_rate_bytes_per_second, 1000.0);
  EXPECT_EQ(idle.rate_bytes_per_second, 0);
  // A new stretch replaces it once it has lasted a second.
  stats.AddRebuilt(1, 5000, 200'000);
  EXPECT_DOUBLE_EQ(stats.Snapshot(200'000).measured_rate_bytes_per_second, 1000.0);
  stats.AddRebuilt(1, 8000, 202'000);
  EXPECT_DOUBLE_EQ(stats.Snapshot(202'000).measured_rate_bytes_per_second, 4000.0);
  EXPECT_EQ(stats.Snapshot(202'000).bytes_rebuilt, 16000u);
}

}  // namespace
}  // namespace holdfast::gateway
