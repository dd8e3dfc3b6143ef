// The web interface's part of the MetaStore contract (docs/web.md): a name
// is taken by any user, account or bucket; sessions expire; links are
// revoked only by their owner; usage counts current versions; deleting an
// account's data removes its account, sessions and links.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "meta/meta_store.h"
#include "meta/test_util.h"

namespace holdfast::meta {
namespace {

using namespace holdfast::meta::test_util;  // NOLINT: test helpers

WebAccount Account(const std::string& name) { return WebAccount{name, "$argon2id$hash", WebRole::kUser, 5}; }

class WebStoreTest : public StoreTest {};

TEST_F(WebStoreTest, SignUpCreatesAccountAndHomeBucketAndRefusesTakenNames) {
  ASSERT_OK(store_->SignUp(Account("carol"), Bucket{"carol", "carol", "eu", 5}));
  auto account = store_->GetWebAccount("carol");
  ASSERT_OK(account);
  EXPECT_EQ(account->password_hash, "$argon2id$hash");
  EXPECT_EQ(account->role, WebRole::kUser);
  auto bucket = store_->GetBucket("carol");
  ASSERT_OK(bucket);
  EXPECT_EQ(bucket->owner_id, "carol");

  // Taken: an account, a bucket owner (alice owns "b"), a key holder, a bucket's name.
  EXPECT_ERRC(store_->SignUp(Account("carol"), Bucket{"carol2", "carol", "eu", 5}), Errc::kAlreadyExists);
  EXPECT_ERRC(store_->SignUp(Account("alice"), Bucket{"alice", "alice", "eu", 5}), Errc::kAlreadyExists);
  ASSERT_OK(store_->PutAccessKey(AccessKey{"AKDAVE", "s", "dave", 7}));
  EXPECT_ERRC(store_->SignUp(Account("dave"), Bucket{"dave", "dave", "eu", 5}), Errc::kAlreadyExists);
  EXPECT_ERRC(store_->SignUp(Account("b"), Bucket{"b", "b", "eu", 5}), Errc::kAlreadyExists);
  // Nothing of a refused sign-up stays behind.
  EXPECT_ERRC(store_->GetWebAccount("b"), Errc::kNotFound);
  EXPECT_ERRC(store_->GetWebAccount("dave"), Errc::kNotFound);
}

TEST_F(WebStoreTest, PutWebAccountReplacesPasswordAndRole) {
  ASSERT_OK(store_->PutWebAccount(Account("alice")));
  WebAccount op = Account("alice");
  op.password_hash = "$argon2id$other";
  op.role = WebRole::kOperator;
  ASSERT_OK(store_->PutWebAccount(op));
  auto account = store_->GetWebAccount("alice");
  ASSERT_OK(account);
  EXPECT_EQ(account->role, WebRole::kOperator);
  EXPECT_EQ(account->password_hash, "$argon2id$other");
}

TEST_F(WebStoreTest, SessionsExpireAndAreDeleted) {
  ASSERT_OK(store_->CreateWebSession(WebSession{"h1", "alice", "csrf1", 100, 1000}));
  ASSERT_OK(store_->CreateWebSession(WebSession{"h2", "alice", "csrf2", 100, 500}));
  auto session = store_->GetWebSession("h1", 999);
  ASSERT_OK(session);
  EXPECT_EQ(session->csrf_token, "csrf1");
  EXPECT_ERRC(store_->GetWebSession("h1", 1000), Errc::kNotFound);
  EXPECT_ERRC(store_->GetWebSession("nope", 0), Errc::kNotFound);
  // Deleting one session also sweeps the expired ones.
  ASSERT_OK(store_->CreateWebSession(WebSession{"h3", "alice", "csrf3", 100, 2000}));
  ASSERT_OK(store_->DeleteWebSession("h3", 600));
  EXPECT_ERRC(store_->GetWebSession("h3", 0), Errc::kNotFound);
  EXPECT_ERRC(store_->GetWebSession("h2", 0), Errc::kNotFound);
  // A new session sweeps the expired ones too, signed out or not.
  ASSERT_OK(store_->CreateWebSession(WebSession{"h4", "alice", "csrf4", 100, 1500}));
  ASSERT_OK(store_->CreateWebSession(WebSession{"h5", "alice", "csrf5", 1600, 9000}));
  EXPECT_ERRC(store_->GetWebSession("h4", 0), Errc::kNotFound);
  ASSERT_OK(store_->GetWebSession("h5", 1600));
}

TEST_F(WebStoreTest, ShareLinksAreListedAndRevokedOnlyByTheirOwner) {
  ShareLink link{"L1", "alice", "b", "k", 10, 0, "", 0, 0};
  ASSERT_OK(store_->CreateShareLink(link));
  ShareLink later = link;
  later.link_id = "L2";
  later.created_unix_ms = 20;
  later.expires_unix_ms = 99;
  later.password_hash = "$argon2id$pw";
  ASSERT_OK(store_->CreateShareLink(later));
  EXPECT_ERRC(store_->CreateShareLink(later), Errc::kAlreadyExists);
  auto links = store_->ListShareLinks("alice", 10);
  ASSERT_OK(links);
  ASSERT_EQ(links->size(), 2u);
  EXPECT_EQ((*links)[0].link_id, "L2");  // newest first
  EXPECT_EQ((*links)[0].expires_unix_ms, 99);
  EXPECT_EQ((*links)[0].password_hash, "$argon2id$pw");
  EXPECT_TRUE(store_->ListShareLinks("bob", 10)->empty());

  EXPECT_ERRC(store_->RevokeShareLink("bob", "L1", 30), Errc::kNotFound);
  EXPECT_ERRC(store_->RevokeShareLink("alice", "nope", 30), Errc::kNotFound);
  ASSERT_OK(store_->RevokeShareLink("alice", "L1", 30));
  ASSERT_OK(store_->RevokeShareLink("alice", "L1", 40));  // the first time stays
  ASSERT_OK(store_->CountShareLinkDownload("L1"));
  auto revoked = store_->GetShareLink("L1");
  ASSERT_OK(revoked);
  EXPECT_EQ(revoked->revoked_unix_ms, 30);
  EXPECT_EQ(revoked->downloads, 1);
}

TEST_F(WebStoreTest, AccessKeysAreListedAndDeletedPerUser) {
  ASSERT_OK(store_->PutAccessKey(AccessKey{"AK2", "s2", "alice", 20}));
  ASSERT_OK(store_->PutAccessKey(AccessKey{"AK1", "s1", "alice", 10}));
  ASSERT_OK(store_->PutAccessKey(AccessKey{"AKB", "sb", "bob", 10}));
  auto keys = store_->ListAccessKeys("alice");
  ASSERT_OK(keys);
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].access_key_id, "AK1");
  EXPECT_EQ((*keys)[0].created_unix_ms, 10);
  EXPECT_ERRC(store_->DeleteAccessKey("alice", "AKB"), Errc::kNotFound);
  ASSERT_OK(store_->DeleteAccessKey("alice", "AK1"));
  EXPECT_ERRC(store_->GetAccessKey("AK1"), Errc::kNotFound);
  ASSERT_OK(store_->GetAccessKey("AKB"));
}

TEST_F(WebStoreTest, UsageCountsCurrentVersionsOfTheUsersBuckets) {
  ASSERT_OK(store_->CreateBucket(Bucket{"b2", "alice", "eu", 1}));
  ASSERT_OK(store_->CreateBucket(Bucket{"c", "bob", "eu", 1}));
  Commit(MakeVersion("b", "k1", 1));   // 1001 bytes
  Commit(MakeVersion("b", "k1", 2));   // replaces it: 1002
  Commit(MakeVersion("b", "k2", 3));   // 1003
  Commit(MakeVersion("c", "k", 4));    // bob's
  ObjectVersion folder = MakeVersion("b", "folder/", 5);
  folder.size_bytes = 0;
  Commit(folder);                      // a folder marker: not a file
  auto usage = store_->UsageOfUser("alice");
  ASSERT_OK(usage);
  ASSERT_EQ(usage->size(), 2u);
  EXPECT_EQ((*usage)[0].bucket, "b");
  EXPECT_EQ((*usage)[0].objects, 2);
  EXPECT_EQ((*usage)[0].bytes, 2005u);
  EXPECT_EQ((*usage)[1].bucket, "b2");
  EXPECT_EQ((*usage)[1].objects, 0);
}

TEST_F(WebStoreTest, DeletingAnAccountsDataRemovesItsWebRecords) {
  ASSERT_OK(store_->PutWebAccount(Account("alice")));
  ASSERT_OK(store_->CreateWebSession(WebSession{"h", "alice", "c", 1, 1'800'000'000'000}));
  ASSERT_OK(store_->CreateShareLink(ShareLink{"L", "alice", "b", "k", 1, 0, "", 0, 0}));
  ASSERT_OK(store_->DeleteUserData("alice", clock_.NowUnixMs()));
  EXPECT_ERRC(store_->GetWebAccount("alice"), Errc::kNotFound);
  EXPECT_ERRC(store_->GetWebSession("h", 0), Errc::kNotFound);
  EXPECT_ERRC(store_->GetShareLink("L"), Errc::kNotFound);
}

}  // namespace
}  // namespace holdfast::meta
