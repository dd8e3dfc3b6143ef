#include "ledger/signing.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>

#include "common/digest.h"

namespace holdfast::ledger {
namespace {

namespace fs = std::filesystem;

std::string Bytes(const std::string& hex) {
  std::string out;
  EXPECT_TRUE(ParseHex(hex, &out));
  return out;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "holdfast-ledger-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// RFC 8032 section 7.1, TEST 1: OpenSSL's Ed25519 is the standard one.
TEST(Signing, MatchesRfc8032TestVector) {
  auto key = SigningKey::FromSeed(AsBytes(Bytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(HexOf(key->public_key()), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const Signature signature = key->Sign(std::string_view());
  EXPECT_EQ(HexOf(signature),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd2"
            "5bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(VerifySignature(key->public_key(), std::string_view(), signature));
  EXPECT_FALSE(VerifySignature(key->public_key(), std::string_view("x"), signature));
}

TEST(Signing, TreeHeadSigningInputIsTheDocumentedLayout) {
  TreeHead head;
  head.tree_size = 0x0102030405060708ull;
  head.timestamp_ms = 0x1122334455667788ll;
  head.root_hash[0] = 0xab;
  head.root_hash[31] = 0xcd;
  head.previous_head_hash[0] = 0xef;
  const std::string input = TreeHeadSigningInput(head);
  ASSERT_EQ(input.size(), 109u);
  EXPECT_EQ(input.substr(0, 29), std::string("holdfast-ledger-tree-head-v1") + '\0');
  EXPECT_EQ(HexLower(AsBytes(input.substr(29, 16))), "01020304050607081122334455667788");
  EXPECT_EQ(static_cast<uint8_t>(input[45]), 0xab);
  EXPECT_EQ(static_cast<uint8_t>(input[76]), 0xcd);
  EXPECT_EQ(static_cast<uint8_t>(input[77]), 0xef);
  EXPECT_EQ(TreeHeadHash(head), Sha256(AsBytes(input)));
}

TEST(Signing, TreeHeadsVerifyOnlyUnchanged) {
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key.ok());
  const Hash root = LeafHash(std::string("x"));
  const TreeHead head = SignTreeHead(*key, 5, 1700000000000, root, LeafHash(std::string("previous")));
  EXPECT_TRUE(VerifyTreeHead(key->public_key(), head));
  auto round_trip = TreeHeadFromJson(TreeHeadToJson(head));
  ASSERT_TRUE(round_trip.ok());
  EXPECT_TRUE(VerifyTreeHead(key->public_key(), *round_trip));

  TreeHead changed = head;
  changed.tree_size = 6;
  EXPECT_FALSE(VerifyTreeHead(key->public_key(), changed));
  changed = head;
  changed.timestamp_ms += 1;
  EXPECT_FALSE(VerifyTreeHead(key->public_key(), changed));
  changed = head;
  changed.root_hash[3] ^= 1;
  EXPECT_FALSE(VerifyTreeHead(key->public_key(), changed));
  changed = head;
  changed.previous_head_hash[0] ^= 1;
  EXPECT_FALSE(VerifyTreeHead(key->public_key(), changed));
  changed = head;
  changed.signature[10] ^= 1;
  EXPECT_FALSE(VerifyTreeHead(key->public_key(), changed));
  auto other = SigningKey::Generate();
  EXPECT_FALSE(VerifyTreeHead(other->public_key(), head));

  nlohmann::json bad = TreeHeadToJson(head);
  bad.erase("signature");
  EXPECT_FALSE(TreeHeadFromJson(bad).ok());
}

TEST(Signing, KeyFileIsCreatedPrivateAndReloaded) {
  TempDir dir;
  const fs::path path = dir.path() / "ledger.key";
  auto created = LoadOrCreateKeyFile(path);
  ASSERT_TRUE(created.ok()) << created.error().message;
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
  auto loaded = LoadOrCreateKeyFile(path);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->public_key(), created->public_key());
  EXPECT_EQ(KeyId(loaded->public_key()).size(), 16u);

  ::chmod(path.c_str(), 0644);
  auto readable = LoadOrCreateKeyFile(path);
  ASSERT_FALSE(readable.ok());
  EXPECT_EQ(readable.error().code, Errc::kPermission);

  std::ofstream(dir.path() / "broken.key") << "not a key\n";
  ::chmod((dir.path() / "broken.key").c_str(), 0600);
  auto broken = LoadOrCreateKeyFile(dir.path() / "broken.key");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code, Errc::kCorrupt);
}

}  // namespace
}  // namespace holdfast::ledger
