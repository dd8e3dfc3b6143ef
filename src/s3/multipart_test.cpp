// Multipart rules: part numbers, sizes, upload ids, completing, and the
// multipart ETag.
#include <gtest/gtest.h>

#include "common/digest.h"
#include "s3/s3_ops.h"

namespace holdfast::s3 {
namespace {

constexpr uint64_t kMiB = 1 << 20;

std::string Code(const std::optional<S3Error>& error) { return error ? error->code : "OK"; }

TEST(Multipart, PartNumbers) {
  EXPECT_EQ(std::get<int>(ParsePartNumber("1")), 1);
  EXPECT_EQ(std::get<int>(ParsePartNumber("10000")), 10000);
  for (std::string bad : {"0", "10001", "-1", "+1", "1.0", "", " 1", "abc", "99999999999"}) {
    auto parsed = ParsePartNumber(bad);
    ASSERT_TRUE(std::holds_alternative<S3Error>(parsed)) << bad;
    EXPECT_EQ(std::get<S3Error>(parsed).code, "InvalidArgument");
    EXPECT_EQ(std::get<S3Error>(parsed).message,
              "Part number must be an integer between 1 and 10000, inclusive");
  }
}

TEST(Multipart, PartSizesAndUploadIds) {
  EXPECT_EQ(Code(CheckPartSize(0)), "OK");
  EXPECT_EQ(Code(CheckPartSize(kMaxPartSizeBytes)), "OK");
  EXPECT_EQ(Code(CheckPartSize(kMaxPartSizeBytes + 1)), "EntityTooLarge");
  EXPECT_EQ(Code(CheckUploadId(RandomHex(16))), "OK");
  for (std::string bad : {"", "0123456789abcdef0123456789ABCDEF", "0123456789abcdef0123456789abcde",
                          "../../etc/passwd", "0123456789abcdef0123456789abcdeg"}) {
    EXPECT_EQ(Code(CheckUploadId(bad)), "NoSuchUpload") << bad;
  }
  EXPECT_EQ(CheckUploadId("x")->http_status(), 404);
}

std::vector<UploadedPart> ThreeParts() {
  return {{1, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 5 * kMiB, 0},
          {2, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 5 * kMiB, 0},
          {3, "cccccccccccccccccccccccccccccccc", 1, 0}};
}

TEST(Multipart, CompleteParts) {
  std::vector<UploadedPart> uploaded = ThreeParts();
  std::vector<CompletedPart> all = {{1, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
                                    {2, "\"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\""},
                                    {3, "cccccccccccccccccccccccccccccccc"}};
  EXPECT_EQ(Code(CheckCompleteParts(all, uploaded)), "OK");
  // A subset is fine, as long as all but its last part are 5 MiB or more.
  EXPECT_EQ(Code(CheckCompleteParts({all[0], all[2]}, uploaded)), "OK");
  EXPECT_EQ(Code(CheckCompleteParts({all[2]}, uploaded)), "OK");
  EXPECT_EQ(Code(CheckCompleteParts({all[2], all[1]}, uploaded)), "EntityTooSmall");
  EXPECT_EQ(Code(CheckCompleteParts({{4, "cccccccccccccccccccccccccccccccc"}}, uploaded)),
            "InvalidPart");
  EXPECT_EQ(Code(CheckCompleteParts({{1, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}}, uploaded)),
            "InvalidPart");
  uploaded[0].size_bytes = 5 * kMiB - 1;
  std::optional<S3Error> small = CheckCompleteParts(all, uploaded);
  ASSERT_TRUE(small);
  EXPECT_EQ(small->code, "EntityTooSmall");
  EXPECT_EQ(small->message,
            "Your proposed upload is smaller than the minimum allowed object size.");
}

TEST(Multipart, Etag) {
  // Two parts: MD5 of the 32 raw digest bytes, then "-2".
  std::string md5_a = HexLower(Md5(AsBytes("a")));
  std::string md5_b = HexLower(Md5(AsBytes("b")));
  std::string raw;
  ASSERT_TRUE(ParseHex(md5_a + md5_b, &raw));
  Result<std::string> etag = MultipartEtag({md5_a, "\"" + md5_b + "\""});
  ASSERT_TRUE(etag.ok());
  EXPECT_EQ(*etag, HexLower(Md5(AsBytes(raw))) + "-2");
  // A known value: the empty string's MD5 as the only part.
  Result<std::string> one = MultipartEtag({"d41d8cd98f00b204e9800998ecf8427e"});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, "59adb24ef3cdbe0297f05b395827453f-1");
  EXPECT_FALSE(MultipartEtag({}).ok());
  EXPECT_FALSE(MultipartEtag({"abc"}).ok());
  EXPECT_FALSE(MultipartEtag({md5_a + "-2"}).ok());
}

}  // namespace
}  // namespace holdfast::s3
