// Operator holds and deletion notices in the MetaStore contract: a hold on a
// version, bucket, user or provider makes the removal guard refuse (naming
// the hold) until it is released; a provider hold sticks to the data after
// its shards move away and stops the provider's retirement; deleting a
// user's data is all or nothing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "meta/meta_store.h"
#include "meta/test_util.h"

namespace holdfast::meta {
namespace {

using namespace holdfast::meta::test_util;  // NOLINT: test helpers

class HoldsTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    for (int i = 0; i < 3; ++i) {
      NodeRecord node;
      node.id = "n" + std::to_string(i);
      node.provider = i == 0 ? "hetzner" : "ovh";
      node.site = "s" + std::to_string(i);
      node.endpoint = "127.0.0.1:1";
      ASSERT_OK(store_->UpsertNode(node));
    }
    ASSERT_OK(store_->CreateBucket(Bucket{"other", "bob", "eu", 1}));
    ASSERT_OK(store_->PutAccessKey(AccessKey{"AKALICE", "secret", "alice"}));
  }

  Hold MakeHold(const std::string& id, HoldScope scope, const std::string& target) {
    Hold hold;
    hold.hold_id = id;
    hold.scope = scope;
    hold.target = target;
    hold.case_reference = "CASE-7";
    hold.requested_by = "court";
    hold.reason = "litigation";
    hold.placed_unix_ms = clock_.NowUnixMs();
    return hold;
  }

  Result<DeleteOutcome> DeleteNull(const std::string& bucket, const std::string& key) {
    return store_->DeleteObjectVersion(bucket, key, "null", LockBypass::kGovernance);
  }

  int64_t GcCount() { return store_->CountGcQueue().value(); }
};

TEST_F(HoldsTest, BucketHoldRefusesDeletionUntilReleased) {
  Commit(MakeVersion("b", "k", 1));
  ASSERT_OK(store_->PlaceHold(MakeHold("h1", HoldScope::kBucket, "b")));
  auto refused = DeleteNull("b", "k");
  EXPECT_ERRC(refused, Errc::kLocked);
  EXPECT_NE(refused.error().message.find("hold h1 (bucket b, case CASE-7)"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(GcCount(), 0);
  // Overwriting the null version would destroy it too.
  ObjectVersion overwrite = MakeVersion("b", "k", 2);
  ASSERT_OK(store_->BeginWrite(PendingFor(overwrite, 1)));
  EXPECT_ERRC(store_->CommitObject(overwrite), Errc::kLocked);
  ASSERT_OK(store_->AbortWrite(overwrite.version_id));
  // Bob's bucket is not covered.
  Commit(MakeVersion("other", "k", 3));
  ASSERT_OK(DeleteNull("other", "k"));

  auto released = store_->ReleaseHold("h1", "court", "case closed", clock_.NowUnixMs());
  ASSERT_OK(released);
  EXPECT_FALSE(released->active());
  EXPECT_EQ(released->release_reason, "case closed");
  EXPECT_ERRC(store_->ReleaseHold("h1", "court", "again", clock_.NowUnixMs()), Errc::kConflict);
  ASSERT_OK(DeleteNull("b", "k"));
}

TEST_F(HoldsTest, VersionAndUserHolds) {
  Commit(MakeVersion("b", "k", 1));
  Commit(MakeVersion("b", "j", 2));
  Hold on_version = MakeHold("hv", HoldScope::kVersion, "");
  on_version.bucket = "b";
  on_version.key = "k";
  on_version.s3_version_id = "null";
  auto placed = store_->PlaceHold(on_version);
  ASSERT_OK(placed);
  EXPECT_EQ(placed->target, VersionId(1));
  EXPECT_ERRC(DeleteNull("b", "k"), Errc::kLocked);
  ASSERT_OK(DeleteNull("b", "j"));  // only that version is held

  Commit(MakeVersion("b", "j", 3));
  ASSERT_OK(store_->PlaceHold(MakeHold("hu", HoldScope::kUser, "alice")));
  auto refused = DeleteNull("b", "j");
  EXPECT_ERRC(refused, Errc::kLocked);
  EXPECT_NE(refused.error().message.find("user alice"), std::string::npos) << refused.error().message;
  EXPECT_ERRC(store_->DeleteUserData("alice", clock_.NowUnixMs()), Errc::kLocked);
  auto holds = store_->ListHolds(false);
  ASSERT_OK(holds);
  EXPECT_EQ(holds->size(), 2u);

  EXPECT_ERRC(store_->PlaceHold(MakeHold("hu", HoldScope::kUser, "alice")), Errc::kAlreadyExists);
  EXPECT_ERRC(store_->PlaceHold(MakeHold("hx", HoldScope::kUser, "nobody")), Errc::kNotFound);
  EXPECT_ERRC(store_->PlaceHold(MakeHold("hy", HoldScope::kBucket, "nope")), Errc::kNotFound);
  EXPECT_ERRC(store_->PlaceHold(MakeHold("hz", HoldScope::kProvider, "aws")), Errc::kNotFound);
}

TEST_F(HoldsTest, ProviderHoldFollowsTheDataAndBlocksRetirement) {
  Commit(MakeVersion("b", "k", 1));  // shard 0 on n0 (hetzner)
  ObjectVersion elsewhere = MakeVersion("b", "j", 2);
  elsewhere.shards = {Shard(0, "n1"), Shard(1, "n2"), Shard(2, "n2")};
  Commit(elsewhere);
  auto placed = store_->PlaceHold(MakeHold("hp", HoldScope::kProvider, "hetzner"));
  ASSERT_OK(placed);
  EXPECT_EQ(placed->covered_versions, 1);
  ASSERT_OK(DeleteNull("b", "j"));  // no shard on hetzner

  // A drain moves shard 0 off hetzner, to a new node: the version stays held.
  NodeRecord n3;
  n3.id = "n3";
  n3.provider = "ovh";
  n3.site = "s3";
  n3.endpoint = "127.0.0.1:1";
  ASSERT_OK(store_->UpsertNode(n3));
  auto moved = store_->MoveShards({ShardMove{VersionId(1), 0, "n0", "n3", ShardState::kOk}});
  ASSERT_OK(moved);
  EXPECT_EQ(*moved, 1);
  EXPECT_ERRC(DeleteNull("b", "k"), Errc::kLocked);
  // The copy left on n0 stays while the order holds: GC may not delete
  // anything of a held version, and never the copy the catalogue records.
  EXPECT_ERRC(store_->CheckShardCopyDeletable(VersionId(1), 0, "n0"), Errc::kLocked);
  EXPECT_ERRC(store_->CheckShardCopyDeletable(VersionId(1), 0, "n3"), Errc::kConflict);

  ASSERT_OK(store_->StartDrain(DrainScope::kProvider, "hetzner", 1));
  auto retire = store_->RetireDrain(DrainScope::kProvider, "hetzner", {"n0"}, 2);
  EXPECT_ERRC(retire, Errc::kLocked);
  EXPECT_NE(retire.error().message.find("preservation order on provider hetzner"), std::string::npos);
  ASSERT_OK(store_->StartDrain(DrainScope::kNode, "n0", 1));
  EXPECT_ERRC(store_->RetireDrain(DrainScope::kNode, "n0", {"n0"}, 2), Errc::kLocked);

  ASSERT_OK(store_->ReleaseHold("hp", "court", "order lifted", 3));
  ASSERT_OK(store_->CheckShardCopyDeletable(VersionId(1), 0, "n0"));
  auto retired = store_->RetireDrain(DrainScope::kProvider, "hetzner", {"n0"}, 4);
  ASSERT_OK(retired);
  EXPECT_TRUE(retired->empty());
  ASSERT_OK(DeleteNull("b", "k"));
}

TEST_F(HoldsTest, DeleteUserDataIsAllOrNothing) {
  Commit(MakeVersion("b", "k", 1));
  Commit(MakeVersion("b", "j", 2));
  Hold on_version = MakeHold("hv", HoldScope::kVersion, "");
  on_version.bucket = "b";
  on_version.key = "j";
  on_version.s3_version_id = "null";
  ASSERT_OK(store_->PlaceHold(on_version));
  ASSERT_OK(store_->AddUserWebhook("alice", "http://127.0.0.1:9/hook"));
  auto refused = store_->DeleteUserData("alice", clock_.NowUnixMs());
  EXPECT_ERRC(refused, Errc::kLocked);
  EXPECT_TRUE(store_->GetObject("b", "k").ok());  // nothing removed
  EXPECT_EQ(GcCount(), 0);

  ASSERT_OK(store_->ReleaseHold("hv", "court", "done", clock_.NowUnixMs()));
  auto deleted = store_->DeleteUserData("alice", clock_.NowUnixMs());
  ASSERT_OK(deleted);
  EXPECT_EQ(deleted->versions, 2);
  EXPECT_EQ(deleted->buckets, 1);
  EXPECT_EQ(deleted->bytes, 2003u);
  EXPECT_ERRC(store_->GetBucket("b"), Errc::kNotFound);
  EXPECT_ERRC(store_->GetAccessKey("AKALICE"), Errc::kNotFound);
  EXPECT_TRUE(store_->UserWebhooks("alice")->empty());
  EXPECT_EQ(GcCount(), 6);
  EXPECT_TRUE(store_->GetBucket("other").ok());
}

TEST_F(HoldsTest, NoticeDeliveriesAreRecorded) {
  DeletionNotice notice;
  notice.notice_id = "dn1";
  notice.scope = "user";
  notice.target = "alice";
  notice.reason = "account closed";
  notice.issued_by = "ops";
  notice.issued_unix_ms = 10;
  notice.effective_unix_ms = 100;
  notice.ledger_index = 4;
  for (const char* url : {"http://a/", "http://b/"}) {
    NoticeDelivery delivery;
    delivery.url = url;
    notice.deliveries.push_back(delivery);
  }
  ASSERT_OK(store_->CreateDeletionNotice(notice));
  EXPECT_ERRC(store_->CreateDeletionNotice(notice), Errc::kAlreadyExists);
  ASSERT_OK(store_->RecordNoticeDelivery("dn1", "http://a/", false, "connection refused", 11, 50));
  ASSERT_OK(store_->RecordNoticeDelivery("dn1", "http://a/", true, "HTTP 204", 51, 0));
  EXPECT_ERRC(store_->RecordNoticeDelivery("dn1", "http://a/", true, "HTTP 204", 52, 0), Errc::kNotFound);
  auto listed = store_->ListDeletionNotices(true);
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  const DeletionNotice& got = listed->front();
  EXPECT_EQ(got.ledger_index, 4u);
  ASSERT_EQ(got.deliveries.size(), 2u);
  EXPECT_EQ(got.deliveries[0].attempts, 2);
  EXPECT_EQ(got.deliveries[0].delivered_unix_ms, 51);
  EXPECT_EQ(got.deliveries[0].last_result, "HTTP 204");
  EXPECT_EQ(got.deliveries[1].attempts, 0);
  ASSERT_OK(store_->SetNoticeOutcome("dn1", NoticeState::kExecuted, "deleted 0 versions", 200));
  EXPECT_ERRC(store_->SetNoticeOutcome("dn1", NoticeState::kCancelled, "", 201), Errc::kConflict);
  EXPECT_TRUE(store_->ListDeletionNotices(true)->empty());
  EXPECT_EQ(store_->ListDeletionNotices(false)->front().state, NoticeState::kExecuted);
}

TEST_F(HoldsTest, DeleteUserDataObeysObjectLockRetention) {
  Bucket locked{"locked", "alice", "eu", 1};
  locked.object_lock_enabled = true;
  ASSERT_OK(store_->CreateBucket(locked));
  ObjectVersion version = MakeVersion("locked", "k", 7);
  version.lock.mode = RetentionMode::kCompliance;
  version.lock.retain_until_unix_ms = clock_.NowUnixMs() + 60'000;
  Commit(version);
  Commit(MakeVersion("b", "k", 8));
  auto refused = store_->DeleteUserData("alice", clock_.NowUnixMs());
  EXPECT_ERRC(refused, Errc::kLocked);
  EXPECT_NE(refused.error().message.find("COMPLIANCE"), std::string::npos) << refused.error().message;
  EXPECT_TRUE(store_->GetObject("b", "k").ok());  // all or nothing
  EXPECT_EQ(GcCount(), 0);
  clock_.now_unix_ms += 60'001;  // the retention expires
  auto deleted = store_->DeleteUserData("alice", clock_.NowUnixMs());
  ASSERT_OK(deleted);
  EXPECT_EQ(deleted->buckets, 2);
}

TEST_F(HoldsTest, ProviderHoldCoversVersionsWrittenThereLaterAndMovedAway) {
  ASSERT_OK(store_->PlaceHold(MakeHold("hp", HoldScope::kProvider, "hetzner")));
  Commit(MakeVersion("b", "later", 9));  // shard 0 on n0 (hetzner), after the hold
  // Repair rebuilds shard 0 elsewhere: the version stays covered.
  ASSERT_OK(store_->SetShardState(VersionId(9), 0, "n1", ShardState::kOk));
  auto refused = DeleteNull("b", "later");
  EXPECT_ERRC(refused, Errc::kLocked);
  ASSERT_OK(store_->ReleaseHold("hp", "court", "lifted", clock_.NowUnixMs()));
  ASSERT_OK(DeleteNull("b", "later"));
}

TEST_F(HoldsTest, AMoveNeverPutsTwoShardsOfAVersionOnOneNode) {
  Commit(MakeVersion("b", "k", 1));  // shards 0, 1, 2 on n0, n1, n2
  auto moved = store_->MoveShards({ShardMove{VersionId(1), 0, "n0", "n1", ShardState::kOk}});
  ASSERT_OK(moved);
  EXPECT_EQ(*moved, 0);
  EXPECT_EQ(store_->GetVersion(VersionId(1))->shards[0].node_id, "n0");
}

}  // namespace
}  // namespace holdfast::meta
