// A node deletes a shard only with the gateway's signed authorisation for
// that node and shard, unexpired, under the pinned key.
#include "node/deletion_auth.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "common/digest.h"
#include "ledger/signing.h"

namespace holdfast::node {
namespace {

namespace fs = std::filesystem;

std::string Hex(std::span<const uint8_t> bytes) { return HexLower(bytes); }

class DeletionAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "holdfast-pin-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Authorise(const ledger::SigningKey& key, const std::string& node, const std::string& shard,
                        int64_t expires) {
    return std::to_string(expires) + " " + Hex(key.Sign(DeletionMessage(node, shard, expires)));
  }

  fs::path dir_;
  ledger::SigningKey key_ = ledger::SigningKey::Generate().value();
  ledger::SigningKey other_ = ledger::SigningKey::Generate().value();
  const int64_t now_ = 1'800'000'000'000;
  const std::string shard_ = std::string(32, 'a') + ".1";
};

TEST_F(DeletionAuthTest, RefusesEverythingUntilAKeyIsPinned) {
  auto pin = DeletionKeyPin::Open(dir_, "").value();
  Status refused = pin->Check("n1", shard_, Authorise(key_, "n1", shard_, now_ + 1000), now_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::kPermission);
  EXPECT_NE(refused.error().message.find("not pinned"), std::string::npos);
}

TEST_F(DeletionAuthTest, AcceptsOnlyTheRightSignatureNodeShardAndTime) {
  auto pin = DeletionKeyPin::Open(dir_, "").value();
  pin->Offer(Hex(key_.public_key()));
  EXPECT_TRUE(pin->Check("n1", shard_, Authorise(key_, "n1", shard_, now_ + 1000), now_));
  EXPECT_FALSE(pin->Check("n1", shard_, "", now_));
  EXPECT_FALSE(pin->Check("n1", shard_, "garbage", now_));
  EXPECT_FALSE(pin->Check("n2", shard_, Authorise(key_, "n1", shard_, now_ + 1000), now_));  // another node
  const std::string other_shard = std::string(32, 'a') + ".2";
  EXPECT_FALSE(pin->Check("n1", other_shard, Authorise(key_, "n1", shard_, now_ + 1000), now_));
  EXPECT_FALSE(pin->Check("n1", shard_, Authorise(key_, "n1", shard_, now_ - 1), now_));  // expired
  EXPECT_FALSE(pin->Check("n1", shard_, Authorise(key_, "n1", shard_, now_ + 3'600'000), now_));  // too long
  EXPECT_FALSE(pin->Check("n1", shard_, Authorise(other_, "n1", shard_, now_ + 1000), now_));  // other key
}

TEST_F(DeletionAuthTest, PinSurvivesRestartAndIsNotReplacedByAnnouncements) {
  {
    auto pin = DeletionKeyPin::Open(dir_, "").value();
    pin->Offer(Hex(key_.public_key()));
  }
  auto reopened = DeletionKeyPin::Open(dir_, "").value();
  EXPECT_EQ(reopened->pinned_hex(), Hex(key_.public_key()));
  reopened->Offer(Hex(other_.public_key()));  // logged, ignored
  EXPECT_EQ(reopened->pinned_hex(), Hex(key_.public_key()));
  EXPECT_FALSE(reopened->Check("n1", shard_, Authorise(other_, "n1", shard_, now_ + 1000), now_));

  // The operator's explicit trust replaces it.
  auto trusted = DeletionKeyPin::Open(dir_, Hex(other_.public_key())).value();
  EXPECT_TRUE(trusted->Check("n1", shard_, Authorise(other_, "n1", shard_, now_ + 1000), now_));
  EXPECT_FALSE(DeletionKeyPin::Open(dir_, "not-hex").ok());
}

}  // namespace
}  // namespace holdfast::node
