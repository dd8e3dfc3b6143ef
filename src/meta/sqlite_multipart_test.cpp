// The multipart part of the MetaStore contract: parts are committed like
// objects, replaced by number, adopted or dropped on completion, and never
// leaked (every shard of a dropped part reaches the GC queue).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "meta/meta_store.h"
#include "meta/test_util.h"

namespace holdfast::meta {
namespace {

using namespace holdfast::meta::test_util;  // NOLINT: test helpers

class MultipartStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ASSERT_OK(store_->CreateMultipartUpload(Upload(kUpload, "big")));
  }

  static MultipartUpload Upload(const std::string& id, const std::string& key) {
    MultipartUpload upload;
    upload.upload_id = id;
    upload.bucket = "b";
    upload.key = key;
    upload.content_type = "video/mp4";
    upload.user_metadata = {{"camera", "one"}};
    upload.initiated_unix_ms = 1000;
    return upload;
  }

  // Writes part `number` as version n (k=2, m=1) under the write protocol.
  Status PutPart(const std::string& upload_id, int number, int n, uint64_t size) {
    ObjectVersion part = MakeVersion("b", "big", n);
    part.kind = VersionKind::kPart;
    part.size_bytes = size;
    Status begun = store_->BeginWrite(PendingFor(part, 1));
    if (!begun.ok()) return begun;
    return store_->CommitPart(upload_id, number, part);
  }

  ObjectVersion Completed(uint64_t size) {
    ObjectVersion version;
    version.version_id = kUpload;
    version.bucket = "b";
    version.key = "big";
    version.kind = VersionKind::kMultipart;
    version.size_bytes = size;
    version.etag = "0123456789abcdef0123456789abcdef-2";
    version.created_unix_ms = 5000;
    return version;
  }

  std::set<std::string> GcVersions() {
    std::set<std::string> ids;
    auto items = store_->NextGcItems(0, 1000);
    EXPECT_TRUE(items.ok()) << Why(items);
    if (items.ok()) {
      for (const GcItem& item : *items) ids.insert(item.version_id);
    }
    return ids;
  }

  const std::string kUpload = VersionId(900);
};

TEST_F(MultipartStoreTest, PartsAreListedAndReplacedByNumber) {
  ASSERT_OK(PutPart(kUpload, 2, 2, 300));
  ASSERT_OK(PutPart(kUpload, 1, 1, 500));
  ASSERT_OK(PutPart(kUpload, 1, 3, 600));  // replaces part 1
  auto parts = store_->ListParts(kUpload, 0, 1000);
  ASSERT_OK(parts);
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].part_number, 1);
  EXPECT_EQ((*parts)[0].part_version_id, VersionId(3));
  EXPECT_EQ((*parts)[0].size_bytes, 600u);
  EXPECT_EQ((*parts)[1].part_version_id, VersionId(2));
  EXPECT_EQ(GcVersions(), std::set<std::string>{VersionId(1)});
  auto after = store_->ListParts(kUpload, 1, 1000);
  ASSERT_OK(after);
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].part_number, 2);
  // Parts are never objects of their own.
  auto listed = store_->ListObjects("b", ListQuery{});
  ASSERT_OK(listed);
  EXPECT_TRUE(listed->objects.empty());
}

TEST_F(MultipartStoreTest, CompleteAdoptsListedPartsAndDropsTheRest) {
  ASSERT_OK(PutPart(kUpload, 1, 1, 500));
  ASSERT_OK(PutPart(kUpload, 2, 2, 300));
  ASSERT_OK(PutPart(kUpload, 3, 3, 100));
  auto replaced = store_->CompleteMultipartUpload(Completed(600), {{1, VersionId(1)}, {3, VersionId(3)}});
  ASSERT_OK(replaced);
  EXPECT_TRUE(replaced->replaced_version_ids.empty());
  EXPECT_EQ(GcVersions(), std::set<std::string>{VersionId(2)});
  auto object = store_->GetObject("b", "big");
  ASSERT_OK(object);
  EXPECT_EQ(object->kind, VersionKind::kMultipart);
  EXPECT_EQ(object->size_bytes, 600u);
  EXPECT_TRUE(object->shards.empty());
  ASSERT_EQ(object->parts.size(), 2u);
  EXPECT_EQ(object->parts[0].part_number, 1);
  EXPECT_EQ(object->parts[0].offset_bytes, 0u);
  EXPECT_EQ(object->parts[1].part_number, 3);
  EXPECT_EQ(object->parts[1].offset_bytes, 500u);
  EXPECT_EQ(object->parts[1].data.shards.size(), 3u);
  EXPECT_EQ(object->parts[1].data.kind, VersionKind::kPart);
  // The upload is gone: a late part is refused and its shards not leaked.
  EXPECT_ERRC(store_->GetMultipartUpload(kUpload), Errc::kNotFound);
  EXPECT_ERRC(PutPart(kUpload, 4, 4, 10), Errc::kNotFound);
  EXPECT_TRUE(GcVersions().count(VersionId(4)));
  // Repair finds a part by its own id.
  auto part = store_->GetVersion(VersionId(3));
  ASSERT_OK(part);
  EXPECT_EQ(part->kind, VersionKind::kPart);
  auto listed = store_->ListObjects("b", ListQuery{});
  ASSERT_OK(listed);
  ASSERT_EQ(listed->objects.size(), 1u);
  EXPECT_EQ(listed->objects[0].size_bytes, 600u);
}

TEST_F(MultipartStoreTest, CompleteRefusesPartsReplacedMeanwhileAndWrongSizes) {
  ASSERT_OK(PutPart(kUpload, 1, 1, 500));
  EXPECT_ERRC(store_->CompleteMultipartUpload(Completed(500), {{1, VersionId(7)}}), Errc::kConflict);
  EXPECT_ERRC(store_->CompleteMultipartUpload(Completed(501), {{1, VersionId(1)}}), Errc::kConflict);
  // Nothing changed: the upload can still be completed.
  ASSERT_OK(store_->CompleteMultipartUpload(Completed(500), {{1, VersionId(1)}}));
}

TEST_F(MultipartStoreTest, DeletingAMultipartObjectQueuesEveryPart) {
  ASSERT_OK(PutPart(kUpload, 1, 1, 500));
  ASSERT_OK(PutPart(kUpload, 2, 2, 300));
  ASSERT_OK(store_->CompleteMultipartUpload(Completed(800), {{1, VersionId(1)}, {2, VersionId(2)}}));
  ASSERT_OK(store_->DeleteObject("b", "big", "", 0));
  EXPECT_EQ(GcVersions(), (std::set<std::string>{VersionId(1), VersionId(2)}));
  EXPECT_ERRC(store_->GetVersion(VersionId(1)), Errc::kNotFound);
  // And the bucket is empty again.
  ASSERT_OK(store_->DeleteBucket("b"));
}

TEST_F(MultipartStoreTest, AbortAndExpiryAndBucketDeleteRemoveUploads) {
  ASSERT_OK(PutPart(kUpload, 1, 1, 500));
  ASSERT_OK(store_->CreateMultipartUpload(Upload(VersionId(901), "other")));
  auto expired = store_->ExpiredMultipartUploads(1001, 10);
  ASSERT_OK(expired);
  EXPECT_EQ(expired->size(), 2u);
  ASSERT_OK(store_->AbortMultipartUpload(kUpload));
  EXPECT_ERRC(store_->AbortMultipartUpload(kUpload), Errc::kNotFound);
  EXPECT_EQ(GcVersions(), std::set<std::string>{VersionId(1)});
  ASSERT_OK(store_->DeleteBucket("b"));  // the other upload goes with it
  EXPECT_ERRC(store_->GetMultipartUpload(VersionId(901)), Errc::kNotFound);
}

TEST_F(MultipartStoreTest, ListUploadsOrdersByKeyAndFoldsPrefixes) {
  ASSERT_OK(store_->CreateMultipartUpload(Upload(VersionId(901), "a/x")));
  ASSERT_OK(store_->CreateMultipartUpload(Upload(VersionId(902), "a/y")));
  ASSERT_OK(store_->CreateMultipartUpload(Upload(VersionId(903), "big")));  // second upload of "big"
  ASSERT_OK(store_->CreateMultipartUpload(Upload(VersionId(904), "c")));
  UploadListQuery query;
  query.delimiter = "/";
  auto listed = store_->ListMultipartUploads("b", query);
  ASSERT_OK(listed);
  EXPECT_EQ(listed->common_prefixes, std::vector<std::string>{"a/"});
  ASSERT_EQ(listed->uploads.size(), 3u);
  EXPECT_EQ(listed->uploads[0].upload_id, kUpload);
  EXPECT_EQ(listed->uploads[1].upload_id, VersionId(903));
  EXPECT_EQ(listed->uploads[2].key, "c");
  // Pages of two: a/ and big(900); then big(903) and c.
  query.max_uploads = 2;
  auto first = store_->ListMultipartUploads("b", query);
  ASSERT_OK(first);
  EXPECT_TRUE(first->is_truncated);
  EXPECT_EQ(first->next_key_marker, "big");
  query.key_marker = first->next_key_marker;
  query.upload_id_marker = first->next_upload_id_marker;
  auto second = store_->ListMultipartUploads("b", query);
  ASSERT_OK(second);
  EXPECT_FALSE(second->is_truncated);
  ASSERT_EQ(second->uploads.size(), 2u);
  EXPECT_EQ(second->uploads[0].upload_id, VersionId(903));
  EXPECT_EQ(second->uploads[1].key, "c");
  // A page that ends on a common prefix resumes after every key under it.
  UploadListQuery after_prefix;
  after_prefix.delimiter = "/";
  after_prefix.max_uploads = 1;
  auto prefix_page = store_->ListMultipartUploads("b", after_prefix);
  ASSERT_OK(prefix_page);
  EXPECT_EQ(prefix_page->common_prefixes, std::vector<std::string>{"a/"});
  after_prefix.key_marker = prefix_page->next_key_marker;
  auto next_page = store_->ListMultipartUploads("b", after_prefix);
  ASSERT_OK(next_page);
  EXPECT_TRUE(next_page->common_prefixes.empty());
  ASSERT_EQ(next_page->uploads.size(), 1u);
  EXPECT_EQ(next_page->uploads[0].key, "big");
  // A key marker alone skips every upload of that key.
  UploadListQuery by_key;
  by_key.key_marker = "big";
  auto rest = store_->ListMultipartUploads("b", by_key);
  ASSERT_OK(rest);
  ASSERT_EQ(rest->uploads.size(), 1u);
  EXPECT_EQ(rest->uploads[0].key, "c");
}

}  // namespace
}  // namespace holdfast::meta
