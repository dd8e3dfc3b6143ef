// Checksums against the catalogued check values ("123456789") and known
// digests, streamed in pieces; then the checks the gateway makes.
#include <gtest/gtest.h>

#include "common/digest.h"
#include "s3/s3_ops.h"

namespace holdfast::s3 {
namespace {

std::string OneShot(ChecksumAlgorithm algorithm, std::string_view data) {
  Checksum checksum(algorithm);
  checksum.Update(AsBytes(data));
  return checksum.FinishBase64();
}

TEST(Checksum, CheckValues) {
  // CRC-32/ISO-HDLC cbf43926, CRC-32/ISCSI e3069283, CRC-64/NVME
  // ae8b14860a799888, as big-endian bytes in base64.
  EXPECT_EQ(OneShot(ChecksumAlgorithm::kCrc32, "123456789"), "y/Q5Jg==");
  EXPECT_EQ(OneShot(ChecksumAlgorithm::kCrc32c, "123456789"), "4waSgw==");
  EXPECT_EQ(OneShot(ChecksumAlgorithm::kCrc64Nvme, "123456789"), "rosUhgp5mIg=");
  EXPECT_EQ(OneShot(ChecksumAlgorithm::kSha1, "abc"), "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
  EXPECT_EQ(OneShot(ChecksumAlgorithm::kSha256, "abc"),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
  EXPECT_EQ(OneShot(ChecksumAlgorithm::kCrc32, ""), "AAAAAA==");
  EXPECT_EQ(OneShot(ChecksumAlgorithm::kCrc32c, ""), "AAAAAA==");
  EXPECT_EQ(OneShot(ChecksumAlgorithm::kCrc64Nvme, ""), "AAAAAAAAAAA=");
}

TEST(Checksum, StreamingEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 40; ++i) {
    for (int byte = 0; byte < 256; ++byte) data.push_back(static_cast<char>(byte));
  }
  // Computed independently (zlib.crc32, and a bitwise CRC-64/NVME).
  EXPECT_EQ(OneShot(ChecksumAlgorithm::kCrc32, data), "u847nQ==");
  EXPECT_EQ(OneShot(ChecksumAlgorithm::kCrc64Nvme, data), "4XY+hejrRZk=");
  for (ChecksumAlgorithm algorithm :
       {ChecksumAlgorithm::kCrc32, ChecksumAlgorithm::kCrc32c, ChecksumAlgorithm::kCrc64Nvme,
        ChecksumAlgorithm::kSha1, ChecksumAlgorithm::kSha256}) {
    for (size_t step : {1, 3, 8, 1000, 4097}) {
      Checksum checksum(algorithm);
      for (size_t at = 0; at < data.size(); at += step) {
        checksum.Update(AsBytes(std::string_view(data).substr(at, step)));
      }
      EXPECT_EQ(checksum.FinishBase64(), OneShot(algorithm, data)) << step;
    }
  }
}

TEST(Checksum, Names) {
  EXPECT_EQ(ChecksumFromHeaderName("x-amz-checksum-crc32"), ChecksumAlgorithm::kCrc32);
  EXPECT_EQ(ChecksumFromHeaderName("X-Amz-Checksum-CRC32C"), ChecksumAlgorithm::kCrc32c);
  EXPECT_EQ(ChecksumFromHeaderName("x-amz-checksum-crc64nvme"), ChecksumAlgorithm::kCrc64Nvme);
  EXPECT_EQ(ChecksumFromHeaderName("x-amz-checksum-sha1"), ChecksumAlgorithm::kSha1);
  EXPECT_EQ(ChecksumFromHeaderName("x-amz-checksum-sha256"), ChecksumAlgorithm::kSha256);
  EXPECT_EQ(ChecksumFromHeaderName("x-amz-checksum-md5"), std::nullopt);
  EXPECT_EQ(ChecksumFromHeaderName("x-amz-checksum-algorithm"), std::nullopt);
  EXPECT_EQ(ChecksumHeaderName(ChecksumAlgorithm::kSha256), "x-amz-checksum-sha256");
  EXPECT_EQ(ChecksumFromAlgorithmName("CRC64NVME"), ChecksumAlgorithm::kCrc64Nvme);
  EXPECT_EQ(ChecksumFromAlgorithmName("crc32"), ChecksumAlgorithm::kCrc32);
  EXPECT_EQ(ChecksumFromAlgorithmName("MD5"), std::nullopt);
}

TEST(CheckChecksum, MatchMismatchAndMalformed) {
  EXPECT_EQ(CheckChecksum(ChecksumAlgorithm::kCrc32, "y/Q5Jg==", "y/Q5Jg=="), std::nullopt);
  std::optional<S3Error> mismatch =
      CheckChecksum(ChecksumAlgorithm::kCrc32, "AAAAAA==", "y/Q5Jg==");
  ASSERT_TRUE(mismatch);
  EXPECT_EQ(mismatch->code, "BadDigest");
  EXPECT_EQ(mismatch->message, "The CRC32 you specified did not match the calculated checksum.");
  EXPECT_EQ(mismatch->http_status(), 400);
  for (std::string bad : {"", "y/Q5", "y/Q5Jg", "y/Q5Jg==AA", "!!!!!!==", "y/Q5Jh=="}) {
    std::optional<S3Error> error = CheckChecksum(ChecksumAlgorithm::kCrc32, bad, "y/Q5Jg==");
    ASSERT_TRUE(error) << bad;
    EXPECT_EQ(error->code, "InvalidRequest") << bad;
    EXPECT_EQ(error->message, "Value for x-amz-checksum-crc32 header is invalid.");
  }
  // A SHA-256 value is 32 bytes: a CRC32's 4 bytes will not do.
  EXPECT_EQ(CheckChecksum(ChecksumAlgorithm::kSha256, "y/Q5Jg==", "y/Q5Jg==")->code,
            "InvalidRequest");
}

}  // namespace
}  // namespace holdfast::s3
