// Units of the web interface: Argon2id passwords, the failed-attempt
// limiter, and tar headers (checked against what tar readers require).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "web/attempt_limiter.h"
#include "web/passwords.h"
#include "web/tar.h"

namespace holdfast::web {
namespace {

TEST(Passwords, HashVerifiesOnlyTheRightPassword) {
  auto hash = HashPassword("correct horse");
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(hash->starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << *hash;
  EXPECT_TRUE(VerifyPassword(*hash, "correct horse"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horsE"));
  EXPECT_FALSE(VerifyPassword(*hash, ""));
  // Salted: the same password hashes differently each time.
  EXPECT_NE(*hash, *HashPassword("correct horse"));
  EXPECT_FALSE(VerifyPassword("plain text", "plain text"));
  EXPECT_FALSE(VerifyPassword("", ""));
}

TEST(AttemptLimiter, RefusesAfterTheLimitUntilTheWindowPasses) {
  AttemptLimiter limiter(3, 1000);
  EXPECT_FALSE(limiter.RetryAfterMs("alice", 0));
  limiter.RecordFailure("alice", 0);
  limiter.RecordFailure("alice", 100);
  EXPECT_FALSE(limiter.RetryAfterMs("alice", 200));
  limiter.RecordFailure("alice", 200);
  ASSERT_TRUE(limiter.RetryAfterMs("alice", 300));
  EXPECT_EQ(*limiter.RetryAfterMs("alice", 300), 700);  // until the first failure is 1000 ms old
  EXPECT_FALSE(limiter.RetryAfterMs("bob", 300));       // per key
  EXPECT_FALSE(limiter.RetryAfterMs("alice", 1000));    // one failure aged out
  limiter.RecordFailure("alice", 1000);
  EXPECT_TRUE(limiter.RetryAfterMs("alice", 1001));
  limiter.Clear("alice");
  EXPECT_FALSE(limiter.RetryAfterMs("alice", 1001));
}

// Writes an archive with `tar_bin` listing it: the real reader is the test.
std::string ListWithTar(const std::string& archive) {
  auto dir = std::filesystem::temp_directory_path() / ("holdfast-tar-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto file = dir / "a.tar";
  std::ofstream(file, std::ios::binary) << archive;
  std::string command = "tar -tvf " + file.string() + " 2>&1";
  std::string output;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
    ::pclose(pipe);
  }
  std::filesystem::remove_all(dir);
  return output;
}

TEST(Tar, ShortAndLongNamesAreReadBackByTar) {
  std::string long_name = "folder/" + std::string(150, 'x') + ".bin";
  std::string archive;
  for (auto [name, size] : {std::pair<std::string, uint64_t>{"docs/a.txt", 5}, {long_name, 513}, {"empty", 0}}) {
    std::string header = TarFileHeader(name, size, 1700000000);
    EXPECT_EQ(header.size() % kTarBlock, 0u);
    archive += header;
    archive += std::string(size, 'z');
    archive += std::string(TarPadding(size), '\0');
  }
  archive += TarEnd();
  EXPECT_EQ(archive.size() % kTarBlock, 0u);
  std::string listing = ListWithTar(archive);
  EXPECT_NE(listing.find("docs/a.txt"), std::string::npos) << listing;
  EXPECT_NE(listing.find(long_name), std::string::npos) << listing;
  EXPECT_NE(listing.find(" 513 "), std::string::npos) << listing;
  EXPECT_EQ(listing.find("Error"), std::string::npos) << listing;
  EXPECT_EQ(listing.find("checksum"), std::string::npos) << listing;
}

TEST(Tar, PaddingFillsToTheBlock) {
  EXPECT_EQ(TarPadding(0), 0u);
  EXPECT_EQ(TarPadding(1), 511u);
  EXPECT_EQ(TarPadding(512), 0u);
  EXPECT_EQ(TarPadding(513), 511u);
}

}  // namespace
}  // namespace holdfast::web
