// Versioning in the MetaStore contract: current and noncurrent versions, the
// null version, delete markers, and ListObjectVersions.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "meta/meta_store.h"
#include "meta/test_util.h"

namespace holdfast::meta {
namespace {

using namespace holdfast::meta::test_util;  // NOLINT: test helpers

class VersionsTest : public StoreTest {
 protected:

  Status Put(const std::string& key, int n) {
    ObjectVersion version = MakeVersion("b", key, n);
    Status begun = store_->BeginWrite(PendingFor(version, 1));
    if (!begun.ok()) return begun;
    auto replaced = store_->CommitObject(version);
    return replaced.ok() ? Status::Ok() : Status(replaced.error());
  }

  std::vector<std::pair<std::string, std::string>> Versions(const VersionListQuery& query = {}) {
    std::vector<std::pair<std::string, std::string>> out;
    auto listed = store_->ListObjectVersions("b", query);
    EXPECT_TRUE(listed.ok()) << Why(listed);
    if (!listed.ok()) return out;
    for (const ObjectVersion& v : listed->versions) {
      out.emplace_back(v.key, (v.kind == VersionKind::kDeleteMarker ? "marker:" : "") + S3VersionId(v) +
                                  (v.is_latest ? "*" : ""));
    }
    return out;
  }
};

TEST_F(VersionsTest, NeverEnabledKeepsOneNullVersion) {
  ASSERT_OK(Put("k", 1));
  ASSERT_OK(Put("k", 2));
  EXPECT_EQ(Versions(), (std::vector<std::pair<std::string, std::string>>{{"k", "null*"}}));
  auto got = store_->GetObjectVersion("b", "k", "null");
  ASSERT_OK(got);
  EXPECT_EQ(got->version_id, VersionId(2));
  EXPECT_ERRC(store_->GetObjectVersion("b", "k", VersionId(2)), Errc::kNotFound);  // it is "null" to S3
}

TEST_F(VersionsTest, EnabledKeepsEveryVersionAndDeleteMakesAMarker) {
  ASSERT_OK(Put("k", 1));  // written before versioning: the null version
  ASSERT_OK(store_->SetBucketVersioning("b", Versioning::kEnabled));
  ASSERT_OK(Put("k", 2));
  ASSERT_OK(Put("k", 3));
  EXPECT_EQ(Versions(), (std::vector<std::pair<std::string, std::string>>{
                            {"k", VersionId(3) + "*"}, {"k", VersionId(2)}, {"k", "null"}}));
  auto deleted = store_->DeleteObject("b", "k", VersionId(4), 5000);
  ASSERT_OK(deleted);
  EXPECT_TRUE(deleted->delete_marker);
  EXPECT_EQ(deleted->s3_version_id, VersionId(4));
  auto current = store_->GetObject("b", "k");
  ASSERT_OK(current);
  EXPECT_EQ(current->kind, VersionKind::kDeleteMarker);
  auto listed = store_->ListObjects("b", ListQuery{});
  ASSERT_OK(listed);
  EXPECT_TRUE(listed->objects.empty());
  // Nothing was deleted from nodes.
  auto gc = store_->NextGcItems(0, 100);
  ASSERT_OK(gc);
  EXPECT_TRUE(gc->empty());
  // Removing the marker brings the newest version back.
  auto undeleted = store_->DeleteObjectVersion("b", "k", VersionId(4), LockBypass::kNone);
  ASSERT_OK(undeleted);
  EXPECT_TRUE(undeleted->delete_marker);
  current = store_->GetObject("b", "k");
  ASSERT_OK(current);
  EXPECT_EQ(current->version_id, VersionId(3));
  // Removing a noncurrent version queues its shards; the bucket stays
  // non-empty while any version is left.
  ASSERT_OK(store_->DeleteObjectVersion("b", "k", VersionId(2), LockBypass::kNone));
  gc = store_->NextGcItems(0, 100);
  ASSERT_OK(gc);
  EXPECT_EQ(gc->size(), 3u);
  ASSERT_OK(store_->DeleteObjectVersion("b", "k", VersionId(3), LockBypass::kNone));
  EXPECT_ERRC(store_->DeleteBucket("b"), Errc::kConflict);
  current = store_->GetObject("b", "k");
  ASSERT_OK(current);
  EXPECT_TRUE(current->null_version);
  ASSERT_OK(store_->DeleteObjectVersion("b", "k", "null", LockBypass::kNone));
  EXPECT_ERRC(store_->GetObject("b", "k"), Errc::kNotFound);
  ASSERT_OK(store_->DeleteBucket("b"));
}

TEST_F(VersionsTest, SuspendedReplacesOnlyTheNullVersion) {
  ASSERT_OK(store_->SetBucketVersioning("b", Versioning::kEnabled));
  ASSERT_OK(Put("k", 1));
  ASSERT_OK(store_->SetBucketVersioning("b", Versioning::kSuspended));
  ASSERT_OK(Put("k", 2));
  ASSERT_OK(Put("k", 3));  // replaces null version 2
  EXPECT_EQ(Versions(), (std::vector<std::pair<std::string, std::string>>{{"k", "null*"}, {"k", VersionId(1)}}));
  auto deleted = store_->DeleteObject("b", "k", VersionId(9), 5000);
  ASSERT_OK(deleted);
  EXPECT_EQ(deleted->s3_version_id, "null");
  EXPECT_EQ(Versions(), (std::vector<std::pair<std::string, std::string>>{{"k", "marker:null*"}, {"k", VersionId(1)}}));
  EXPECT_ERRC(store_->SetBucketVersioning("b", Versioning::kNeverEnabled), Errc::kInvalidArgument);
  auto bucket = store_->GetBucket("b");
  ASSERT_OK(bucket);
  EXPECT_EQ(bucket->versioning, Versioning::kSuspended);
}

TEST_F(VersionsTest, ListVersionsPagesAndFoldsPrefixes) {
  ASSERT_OK(store_->SetBucketVersioning("b", Versioning::kEnabled));
  ASSERT_OK(Put("a", 1));
  ASSERT_OK(Put("a", 2));
  ASSERT_OK(Put("d/x", 3));
  ASSERT_OK(Put("d/y", 4));
  ASSERT_OK(Put("e", 5));
  VersionListQuery query;
  query.delimiter = "/";
  auto all = store_->ListObjectVersions("b", query);
  ASSERT_OK(all);
  EXPECT_EQ(all->common_prefixes, std::vector<std::string>{"d/"});
  EXPECT_EQ(all->versions.size(), 3u);
  // Pages of one entry walk a(2), a(1), d/, e.
  std::vector<std::string> seen;
  query.max_keys = 1;
  while (true) {
    auto page = store_->ListObjectVersions("b", query);
    ASSERT_OK(page);
    for (const auto& v : page->versions) seen.push_back(v.key + "@" + v.version_id.substr(31));
    for (const auto& p : page->common_prefixes) seen.push_back(p);
    if (!page->is_truncated) break;
    query.key_marker = page->next_key_marker;
    query.version_id_marker = page->next_version_id_marker;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a@2", "a@1", "d/", "e@5"}));
}

}  // namespace
}  // namespace holdfast::meta
