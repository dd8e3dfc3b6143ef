#include "gateway/http_range.h"

#include <gtest/gtest.h>

namespace holdfast::gateway {
namespace {

using Kind = ByteRange::Kind;

TEST(HttpRangeTest, ClosedRange) {
  ByteRange r = ParseRange("bytes=10-19", 100);
  EXPECT_EQ(r.kind, Kind::kPartial);
  EXPECT_EQ(r.first, 10u);
  EXPECT_EQ(r.length, 10u);
}

TEST(HttpRangeTest, LastBytePastEndIsClamped) {
  ByteRange r = ParseRange("bytes=90-500", 100);
  EXPECT_EQ(r.kind, Kind::kPartial);
  EXPECT_EQ(r.first, 90u);
  EXPECT_EQ(r.length, 10u);
}

TEST(HttpRangeTest, OpenRange) {
  ByteRange r = ParseRange("bytes=95-", 100);
  EXPECT_EQ(r.first, 95u);
  EXPECT_EQ(r.length, 5u);
}

TEST(HttpRangeTest, SuffixRange) {
  ByteRange r = ParseRange("bytes=-30", 100);
  EXPECT_EQ(r.first, 70u);
  EXPECT_EQ(r.length, 30u);
  ByteRange whole = ParseRange("bytes=-300", 100);
  EXPECT_EQ(whole.first, 0u);
  EXPECT_EQ(whole.length, 100u);
}

TEST(HttpRangeTest, UnsatisfiableRanges) {
  EXPECT_EQ(ParseRange("bytes=100-", 100).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=0-0", 0).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=-0", 100).kind, Kind::kUnsatisfiable);
}

TEST(HttpRangeTest, MalformedOrMultipleRangesServeWholeObject) {
  for (const char* header : {"bytes=a-b", "items=0-1", "bytes=5-2", "bytes=0-1,3-4", "bytes=", "bytes=-"}) {
    EXPECT_EQ(ParseRange(header, 100).kind, Kind::kWhole) << header;
  }
}

}  // namespace
}  // namespace holdfast::gateway
