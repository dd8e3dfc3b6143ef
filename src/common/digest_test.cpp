#include "common/digest.h"

#include <gtest/gtest.h>

namespace holdfast {
namespace {

TEST(DigestTest, Md5OfEmptyInputMatchesRfc1321) {
  EXPECT_EQ(HexLower(Md5({})), "d41d8cd98f00b204e9800998ecf8427e");
}

TEST(DigestTest, StreamingMd5EqualsOneShot) {
  Md5Stream s;
  s.Update(AsBytes("The quick brown fox "));
  s.Update(AsBytes("jumps over the lazy dog"));
  EXPECT_EQ(HexLower(s.Finish()), "9e107d9d372bb6826bd81d3542a419d6");
}

TEST(DigestTest, Sha256OfAbcMatchesFips180) {
  EXPECT_EQ(HexLower(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestTest, HmacSha256MatchesRfc4231Case2) {
  EXPECT_EQ(HexLower(HmacSha256(AsBytes("Jefe"), AsBytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(DigestTest, HexAndBase64RoundTrip) {
  std::string raw;
  ASSERT_TRUE(ParseHex("00ff10", &raw));
  EXPECT_EQ(HexLower(AsBytes(raw)), "00ff10");
  EXPECT_FALSE(ParseHex("0g", &raw));
  EXPECT_EQ(Base64Encode(AsBytes("hello")), "aGVsbG8=");
  std::string decoded;
  ASSERT_TRUE(Base64Decode("aGVsbG8=", &decoded));
  EXPECT_EQ(decoded, "hello");
  EXPECT_FALSE(Base64Decode("a", &decoded));
}

TEST(DigestTest, ConstantTimeEqualsComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secret2"));
  EXPECT_EQ(RandomHex(16).size(), 32u);
  EXPECT_NE(RandomHex(16), RandomHex(16));
}

}  // namespace
}  // namespace holdfast
