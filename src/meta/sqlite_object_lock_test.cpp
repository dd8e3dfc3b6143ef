// Object Lock in the MetaStore contract: every removal of a version row is
// refused while a legal hold is on or retention has not expired (GOVERNANCE
// only with a bypass, COMPLIANCE never), nothing is queued for GC when it is
// refused, and retention can be extended but not weakened.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "meta/meta_store.h"
#include "meta/sqlite_db.h"
#include "meta/sqlite_rows.h"
#include "meta/test_util.h"

namespace holdfast::meta {
namespace {

using namespace holdfast::meta::test_util;  // NOLINT: test helpers

constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kDayMs = 24 * kHourMs;

class ObjectLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = OpenSqliteStore(dir_.path() / "meta.db", clock_);
    ASSERT_TRUE(opened.ok()) << Why(opened);
    store_ = std::move(opened).value();
    Bucket locked{"locked", "alice", "eu", 1};
    locked.object_lock_enabled = true;
    ASSERT_OK(store_->CreateBucket(locked));
    ASSERT_OK(store_->CreateBucket(Bucket{"plain", "alice", "eu", 1}));
  }

  int64_t Now() const { return clock_.now_unix_ms.load(); }

  // Commits version n of `key` with `lock`; returns its S3 version id.
  std::string Put(const std::string& bucket, const std::string& key, int n, ObjectLock lock = {}) {
    ObjectVersion version = MakeVersion(bucket, key, n);
    version.created_unix_ms = Now();
    version.lock = lock;
    EXPECT_TRUE(store_->BeginWrite(PendingFor(version, Now())).ok());
    auto committed = store_->CommitObject(version);
    EXPECT_TRUE(committed.ok()) << Why(committed);
    return VersionId(n);
  }

  static ObjectLock Retention(RetentionMode mode, int64_t until_unix_ms) {
    ObjectLock lock;
    lock.mode = mode;
    lock.retain_until_unix_ms = until_unix_ms;
    return lock;
  }

  Result<DeleteOutcome> Delete(const std::string& id, LockBypass bypass = LockBypass::kNone) {
    return store_->DeleteObjectVersion("locked", "k", id, bypass);
  }

  int64_t GcCount() {
    auto count = store_->CountGcQueue();
    EXPECT_TRUE(count.ok()) << Why(count);
    return count.ok() ? *count : -1;
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<MetaStore> store_;
};

TEST_F(ObjectLockTest, LockedBucketIsVersionedForGood) {
  auto bucket = store_->GetBucket("locked");
  ASSERT_OK(bucket);
  EXPECT_TRUE(bucket->object_lock_enabled);
  EXPECT_EQ(bucket->versioning, Versioning::kEnabled);
  auto listed = store_->ListBuckets("alice");
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_TRUE((*listed)[0].object_lock_enabled);
  EXPECT_FALSE((*listed)[1].object_lock_enabled);
  EXPECT_ERRC(store_->SetBucketVersioning("locked", Versioning::kSuspended), Errc::kConflict);
  ASSERT_OK(store_->SetBucketVersioning("locked", Versioning::kEnabled));
}

TEST_F(ObjectLockTest, LockConfigurationNeedsVersioningAndOnePeriod) {
  auto plain = store_->GetBucketObjectLock("plain");
  ASSERT_OK(plain);
  EXPECT_FALSE(plain->enabled);
  EXPECT_ERRC(store_->PutBucketObjectLock("plain", {}), Errc::kConflict);  // versioning never enabled
  ASSERT_OK(store_->SetBucketVersioning("plain", Versioning::kEnabled));
  ASSERT_OK(store_->PutBucketObjectLock("plain", {}));
  EXPECT_TRUE(store_->GetBucketObjectLock("plain")->enabled);
  EXPECT_ERRC(store_->SetBucketVersioning("plain", Versioning::kSuspended), Errc::kConflict);

  EXPECT_ERRC(store_->PutBucketObjectLock("locked", {RetentionMode::kGovernance, 1, 1}), Errc::kInvalidArgument);
  EXPECT_ERRC(store_->PutBucketObjectLock("locked", {RetentionMode::kGovernance, 0, 0}), Errc::kInvalidArgument);
  EXPECT_ERRC(store_->PutBucketObjectLock("locked", {RetentionMode::kNone, 3, 0}), Errc::kInvalidArgument);
  EXPECT_ERRC(store_->PutBucketObjectLock("locked", {RetentionMode::kCompliance, 0, 101}), Errc::kInvalidArgument);
  EXPECT_ERRC(store_->PutBucketObjectLock("nope", {}), Errc::kNotFound);
  ASSERT_OK(store_->PutBucketObjectLock("locked", {RetentionMode::kCompliance, 0, 2}));
  auto config = store_->GetBucketObjectLock("locked");
  ASSERT_OK(config);
  EXPECT_EQ(config->default_retention.mode, RetentionMode::kCompliance);
  EXPECT_EQ(config->default_retention.years, 2);
}

TEST_F(ObjectLockTest, DefaultRetentionAppliesOnlyWithoutOwnRetention) {
  ASSERT_OK(store_->PutBucketObjectLock("locked", {RetentionMode::kGovernance, 3, 0}));
  const std::string defaulted = Put("locked", "k", 1);
  auto got = store_->GetObjectVersion("locked", "k", defaulted);
  ASSERT_OK(got);
  EXPECT_EQ(got->lock.mode, RetentionMode::kGovernance);
  EXPECT_EQ(got->lock.retain_until_unix_ms, Now() + 3 * kDayMs);
  EXPECT_EQ(got->lock.legal_hold, LegalHold::kNone);

  ObjectLock own = Retention(RetentionMode::kCompliance, Now() + kHourMs);
  own.legal_hold = LegalHold::kOff;
  Put("locked", "k", 2, own);
  auto current = store_->GetObject("locked", "k");
  ASSERT_OK(current);
  EXPECT_EQ(current->lock.mode, RetentionMode::kCompliance);
  EXPECT_EQ(current->lock.retain_until_unix_ms, Now() + kHourMs);
  EXPECT_EQ(current->lock.legal_hold, LegalHold::kOff);
  auto by_id = store_->GetVersion(VersionId(2));
  ASSERT_OK(by_id);
  EXPECT_EQ(by_id->lock.mode, RetentionMode::kCompliance);

  // A bucket without Object Lock takes no lock at all.
  ObjectVersion version = MakeVersion("plain", "k", 3);
  version.lock = own;
  ASSERT_OK(store_->BeginWrite(PendingFor(version, Now())));
  EXPECT_ERRC(store_->CommitObject(version), Errc::kInvalidArgument);
}

TEST_F(ObjectLockTest, GovernanceRetentionYieldsOnlyToBypassOrExpiry) {
  const std::string id = Put("locked", "k", 1, Retention(RetentionMode::kGovernance, Now() + kHourMs));
  const int64_t gc_before = GcCount();
  auto refused = Delete(id);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kLocked);
  EXPECT_NE(refused.error().message.find("version " + id + " of locked/k is under GOVERNANCE retention until"),
            std::string::npos)
      << refused.error().message;
  EXPECT_EQ(GcCount(), gc_before);  // nothing queued: the shards stay
  ASSERT_OK(store_->GetObjectVersion("locked", "k", id));

  ASSERT_OK(Delete(id, LockBypass::kGovernance));
  EXPECT_ERRC(store_->GetObjectVersion("locked", "k", id), Errc::kNotFound);
  EXPECT_EQ(GcCount(), gc_before + 3);

  const std::string later = Put("locked", "k", 2, Retention(RetentionMode::kGovernance, Now() + kHourMs));
  clock_.now_unix_ms += kHourMs;  // retain-until is exclusive: expired at that very instant
  ASSERT_OK(Delete(later));
}

TEST_F(ObjectLockTest, ComplianceRetentionYieldsOnlyToExpiry) {
  const std::string id = Put("locked", "k", 1, Retention(RetentionMode::kCompliance, Now() + kHourMs));
  auto refused = Delete(id, LockBypass::kGovernance);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kLocked);
  EXPECT_NE(refused.error().message.find("COMPLIANCE retention until"), std::string::npos) << refused.error().message;
  clock_.now_unix_ms += kHourMs - 1;
  EXPECT_ERRC(Delete(id, LockBypass::kGovernance), Errc::kLocked);
  clock_.now_unix_ms += 1;
  ASSERT_OK(Delete(id));
}

TEST_F(ObjectLockTest, LegalHoldBlocksEvenBypassUntilReleased) {
  const std::string id = Put("locked", "k", 1);
  ASSERT_OK(store_->SetObjectLegalHold("locked", "k", id, true));
  EXPECT_EQ(store_->GetObjectVersion("locked", "k", id)->lock.legal_hold, LegalHold::kOn);
  auto refused = Delete(id, LockBypass::kGovernance);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kLocked);
  EXPECT_NE(refused.error().message.find("under legal hold"), std::string::npos) << refused.error().message;
  // Expired retention does not matter while the hold is on.
  ASSERT_OK(store_->SetObjectRetention("locked", "k", id, RetentionMode::kGovernance, Now() + 10, LockBypass::kNone));
  clock_.now_unix_ms += 20;
  EXPECT_ERRC(Delete(id), Errc::kLocked);
  ASSERT_OK(store_->SetObjectLegalHold("locked", "k", id, false));
  EXPECT_EQ(store_->GetObjectVersion("locked", "k", id)->lock.legal_hold, LegalHold::kOff);
  ASSERT_OK(Delete(id));
}

TEST_F(ObjectLockTest, RetentionCanBeExtendedButNotWeakened) {
  const std::string id = Put("locked", "k", 1, Retention(RetentionMode::kGovernance, Now() + kHourMs));
  auto set = [&](RetentionMode mode, int64_t until, LockBypass bypass = LockBypass::kNone) {
    return store_->SetObjectRetention("locked", "k", id, mode, until, bypass);
  };
  ASSERT_OK(set(RetentionMode::kGovernance, Now() + 2 * kHourMs));  // extend
  EXPECT_ERRC(set(RetentionMode::kGovernance, Now() + kHourMs), Errc::kLocked);  // shorten
  EXPECT_ERRC(set(RetentionMode::kNone, 0), Errc::kLocked);                      // remove
  EXPECT_ERRC(set(RetentionMode::kCompliance, Now() + 3 * kHourMs), Errc::kLocked);  // change mode
  ASSERT_OK(set(RetentionMode::kGovernance, Now() + kHourMs, LockBypass::kGovernance));
  ASSERT_OK(set(RetentionMode::kCompliance, Now() + kHourMs, LockBypass::kGovernance));

  // COMPLIANCE: extended only, whoever asks.
  EXPECT_ERRC(set(RetentionMode::kCompliance, Now() + kHourMs - 1, LockBypass::kGovernance), Errc::kLocked);
  EXPECT_ERRC(set(RetentionMode::kGovernance, Now() + 5 * kHourMs, LockBypass::kGovernance), Errc::kLocked);
  EXPECT_ERRC(set(RetentionMode::kNone, 0, LockBypass::kGovernance), Errc::kLocked);
  ASSERT_OK(set(RetentionMode::kCompliance, Now() + 4 * kHourMs));
  auto got = store_->GetObjectVersion("locked", "k", id);
  ASSERT_OK(got);
  EXPECT_EQ(got->lock.mode, RetentionMode::kCompliance);
  EXPECT_EQ(got->lock.retain_until_unix_ms, Now() + 4 * kHourMs);

  // Once expired, anything goes (but a new date must be in the future).
  clock_.now_unix_ms += 4 * kHourMs;
  EXPECT_ERRC(set(RetentionMode::kGovernance, Now()), Errc::kInvalidArgument);
  ASSERT_OK(set(RetentionMode::kNone, 0));
  EXPECT_EQ(store_->GetObjectVersion("locked", "k", id)->lock.mode, RetentionMode::kNone);
}

TEST_F(ObjectLockTest, LocksNeedALockedBucketAndARealVersion) {
  Put("plain", "k", 1);
  EXPECT_ERRC(store_->SetObjectLegalHold("plain", "k", "null", true), Errc::kInvalidArgument);
  EXPECT_ERRC(store_->SetObjectRetention("plain", "k", "null", RetentionMode::kGovernance, Now() + kHourMs,
                                         LockBypass::kNone),
              Errc::kInvalidArgument);
  EXPECT_ERRC(store_->SetObjectLegalHold("locked", "k", VersionId(7), true), Errc::kNotFound);
  Put("locked", "k", 2);
  auto marker = store_->DeleteObject("locked", "k", VersionId(3), Now());
  ASSERT_OK(marker);
  ASSERT_TRUE(marker->delete_marker);
  EXPECT_ERRC(store_->SetObjectLegalHold("locked", "k", VersionId(3), true), Errc::kInvalidArgument);
  // A delete marker is not protected data: removing it is allowed.
  ASSERT_OK(Delete(VersionId(3)));
}

TEST_F(ObjectLockTest, DeleteWithoutVersionOnlyAddsAMarker) {
  const std::string id = Put("locked", "k", 1, Retention(RetentionMode::kCompliance, Now() + kHourMs));
  auto marked = store_->DeleteObject("locked", "k", VersionId(2), Now());
  ASSERT_OK(marked);
  EXPECT_TRUE(marked->delete_marker);
  ASSERT_OK(store_->GetObjectVersion("locked", "k", id));
}

TEST_F(ObjectLockTest, CompletedMultipartVersionAndItsPartsAreProtected) {
  MultipartUpload upload;
  upload.upload_id = VersionId(900);
  upload.bucket = "locked";
  upload.key = "k";
  upload.initiated_unix_ms = Now();
  upload.lock = Retention(RetentionMode::kCompliance, Now() + kHourMs);
  upload.lock.legal_hold = LegalHold::kOn;
  ASSERT_OK(store_->CreateMultipartUpload(upload));
  EXPECT_EQ(store_->GetMultipartUpload(upload.upload_id)->lock.mode, RetentionMode::kCompliance);
  ObjectVersion part = MakeVersion("locked", "k", 1);
  part.kind = VersionKind::kPart;
  ASSERT_OK(store_->BeginWrite(PendingFor(part, Now())));
  ASSERT_OK(store_->CommitPart(upload.upload_id, 1, part));
  ObjectVersion completed;
  completed.version_id = upload.upload_id;
  completed.bucket = "locked";
  completed.key = "k";
  completed.kind = VersionKind::kMultipart;
  completed.size_bytes = part.size_bytes;
  completed.etag = "0123456789abcdef0123456789abcdef-1";
  completed.created_unix_ms = Now();
  ASSERT_OK(store_->CompleteMultipartUpload(completed, {{1, part.version_id}}));
  auto got = store_->GetObject("locked", "k");
  ASSERT_OK(got);
  EXPECT_EQ(got->lock.mode, RetentionMode::kCompliance);
  EXPECT_EQ(got->lock.legal_hold, LegalHold::kOn);

  const int64_t gc_before = GcCount();
  EXPECT_ERRC(Delete(upload.upload_id, LockBypass::kGovernance), Errc::kLocked);
  // Below the store's API, a removal of the part alone is refused too.
  auto db = sqlite::Db::Open(dir_.path() / "meta.db");
  ASSERT_OK(db);
  Status removed = sqlite::RemoveVersion(**db, part.version_id, Now());
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.error().code, Errc::kLocked);
  EXPECT_EQ(GcCount(), gc_before);
  ASSERT_OK(store_->GetVersion(part.version_id));

  ASSERT_OK(store_->SetObjectLegalHold("locked", "k", upload.upload_id, false));
  clock_.now_unix_ms += kHourMs;
  ASSERT_OK(Delete(upload.upload_id));
  EXPECT_ERRC(store_->GetVersion(part.version_id), Errc::kNotFound);
  EXPECT_EQ(GcCount(), gc_before + 3);
}

TEST_F(ObjectLockTest, EveryRemovalGoesThroughTheGuard) {
  // RemoveVersion is what DeleteObject, null-version replacement, multipart
  // removal and DeleteObjectVersion share; call it directly, as any future
  // path would.
  const std::string id = Put("locked", "k", 1, Retention(RetentionMode::kCompliance, Now() + kHourMs));
  auto db = sqlite::Db::Open(dir_.path() / "meta.db");
  ASSERT_OK(db);
  Status removed = sqlite::RemoveVersion(**db, id, Now(), LockBypass::kGovernance);
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.error().code, Errc::kLocked);
  ASSERT_OK(store_->GetVersion(id));
  ASSERT_OK(sqlite::RemoveVersion(**db, id, Now() + kHourMs));
  EXPECT_ERRC(store_->GetVersion(id), Errc::kNotFound);
}

TEST_F(ObjectLockTest, BypassPermissionIsPerUser) {
  EXPECT_FALSE(*store_->UserMayBypassGovernance("alice"));
  ASSERT_OK(store_->SetUserMayBypassGovernance("alice", true));
  EXPECT_TRUE(*store_->UserMayBypassGovernance("alice"));
  EXPECT_FALSE(*store_->UserMayBypassGovernance("bob"));
  ASSERT_OK(store_->SetUserMayBypassGovernance("alice", false));
  EXPECT_FALSE(*store_->UserMayBypassGovernance("alice"));
  EXPECT_ERRC(store_->SetUserMayBypassGovernance("", true), Errc::kInvalidArgument);
}

}  // namespace
}  // namespace holdfast::meta
