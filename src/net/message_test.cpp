#include "net/message.h"

#include <gtest/gtest.h>

namespace holdfast::net {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(HeadersTest, GetIsCaseInsensitiveAndReturnsFirstMatch) {
  Headers headers;
  headers.Add("Content-Type", "text/plain");
  headers.Add("x-amz-meta-a", "1");
  headers.Add("X-AMZ-META-A", "2");
  EXPECT_EQ(headers.Get("content-type"), "text/plain");
  EXPECT_EQ(headers.Get("CONTENT-TYPE"), "text/plain");
  EXPECT_EQ(headers.Get("X-Amz-Meta-A"), "1");
  EXPECT_TRUE(headers.Has("x-amz-meta-a"));
  EXPECT_FALSE(headers.Has("Content-Length"));
  EXPECT_EQ(headers.Get("Content-Typ"), std::nullopt);
  EXPECT_EQ(headers.all().size(), 3u);  // duplicates kept, in order
  EXPECT_EQ(headers.all()[2].second, "2");
}

TEST(HeadersTest, SetReplacesAllOfThatName) {
  Headers headers;
  headers.Add("ETag", "a");
  headers.Add("Other", "x");
  headers.Add("etag", "b");
  headers.Set("ETAG", "c");
  EXPECT_EQ(headers.Get("etag"), "c");
  ASSERT_EQ(headers.all().size(), 2u);
  EXPECT_EQ(headers.all()[0].first, "Other");
  headers.Set("New", "n");
  EXPECT_EQ(headers.Get("new"), "n");
}

TEST(PercentTest, DecodesEscapesAndKeepsPlus) {
  std::string out;
  ASSERT_TRUE(PercentDecode("a%20b%2Fc%2fd+e", &out));
  EXPECT_EQ(out, "a b/c/d+e");
  ASSERT_TRUE(PercentDecode("", &out));
  EXPECT_EQ(out, "");
  ASSERT_TRUE(PercentDecode("%00%FF", &out));
  EXPECT_EQ(out, std::string("\0\xff", 2));
}

TEST(PercentTest, RejectsMalformedEscapes) {
  std::string out = "untouched";
  EXPECT_FALSE(PercentDecode("%", &out));
  EXPECT_FALSE(PercentDecode("abc%2", &out));
  EXPECT_FALSE(PercentDecode("%zz", &out));
  EXPECT_FALSE(PercentDecode("%2g", &out));
  EXPECT_FALSE(PercentDecode("%%41", &out));
  EXPECT_EQ(out, "untouched");
}

TEST(PercentTest, EncodesAllButUnreserved) {
  EXPECT_EQ(PercentEncode("AZaz09-_.~", false), "AZaz09-_.~");
  EXPECT_EQ(PercentEncode("a b/c+d", false), "a%20b%2Fc%2Bd");
  EXPECT_EQ(PercentEncode("a b/c+d", true), "a%20b/c%2Bd");
  EXPECT_EQ(PercentEncode("\xc3\xa9", false), "%C3%A9");
}

TEST(PercentTest, RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (bool keep_slash : {false, true}) {
    std::string decoded;
    ASSERT_TRUE(PercentDecode(PercentEncode(all, keep_slash), &decoded));
    EXPECT_EQ(decoded, all);
  }
}

TEST(ParseQueryTest, SplitsNamesAndValues) {
  Pairs pairs;
  ASSERT_TRUE(ParseQuery("a=1&b=&c", &pairs));
  EXPECT_EQ(pairs, (Pairs{{"a", "1"}, {"b", ""}, {"c", ""}}));
  ASSERT_TRUE(ParseQuery("", &pairs));
  EXPECT_TRUE(pairs.empty());
  ASSERT_TRUE(ParseQuery("x=1&&y=2&", &pairs));
  EXPECT_EQ(pairs, (Pairs{{"x", "1"}, {"y", "2"}}));
  ASSERT_TRUE(ParseQuery("k=a=b", &pairs));  // only the first '=' splits
  EXPECT_EQ(pairs, (Pairs{{"k", "a=b"}}));
}

TEST(ParseQueryTest, DecodesAndKeepsPlusLiteral) {
  Pairs pairs;
  ASSERT_TRUE(ParseQuery("prefix=a%2Fb%20c&max%2Dkeys=1+2&list-type=2", &pairs));
  EXPECT_EQ(pairs, (Pairs{{"prefix", "a/b c"}, {"max-keys", "1+2"}, {"list-type", "2"}}));
  ASSERT_TRUE(ParseQuery("%26=%3D", &pairs));
  EXPECT_EQ(pairs, (Pairs{{"&", "="}}));
}

TEST(ParseQueryTest, RejectsMalformedEscapes) {
  Pairs pairs;
  EXPECT_FALSE(ParseQuery("a=%2", &pairs));
  EXPECT_FALSE(ParseQuery("%g1=x", &pairs));
}

}  // namespace
}  // namespace holdfast::net
