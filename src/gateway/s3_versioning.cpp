// Versioning: Get/PutBucketVersioning, ListObjectVersions, and deleting a
// key or one of its versions as S3 does for the bucket's versioning state.
//
// Version ids: every version has a 32-hex internal id (it names the shards);
// S3 clients see "null" for the null version, the one written while
// versioning was never enabled or suspended (MetaStore::S3VersionId).
#include <charconv>

#include "common/digest.h"
#include "gateway/s3_request.h"
#include "s3/s3_ops.h"

namespace holdfast::gateway {

using net::Task;

namespace {

s3::VersioningStatus ToS3(meta::Versioning versioning) {
  switch (versioning) {
    case meta::Versioning::kNeverEnabled:
      return s3::VersioningStatus::kNeverEnabled;
    case meta::Versioning::kEnabled:
      return s3::VersioningStatus::kEnabled;
    case meta::Versioning::kSuspended:
      return s3::VersioningStatus::kSuspended;
  }
  return s3::VersioningStatus::kNeverEnabled;
}

bool IsHex32(std::string_view text) {
  return text.size() == 32 && text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

std::optional<s3::S3Error> CheckVersionId(std::string_view s3_version_id, const std::string& resource) {
  if (s3_version_id == "null" || IsHex32(s3_version_id)) return std::nullopt;
  return s3::MakeS3Error("InvalidArgument", "Invalid version id specified", resource);
}

Task<std::variant<meta::DeleteOutcome, s3::S3Error>> DeleteKey(S3Request& r, std::string key,
                                                               std::string s3_version_id, meta::LockBypass bypass) {
  const std::string resource = "/" + r.target.bucket + "/" + key;
  if (!s3_version_id.empty()) {
    if (auto error = CheckVersionId(s3_version_id, resource)) co_return *error;
    auto deleted = co_await net::RunBlocking(r.ctx.blocking_pool, [&] {
      return r.ctx.store.DeleteObjectVersion(r.target.bucket, key, s3_version_id, bypass);
    });
    // Deleting a version that is not there succeeds, as in S3.
    if (!deleted && deleted.error().code == Errc::kNotFound) co_return meta::DeleteOutcome{false, s3_version_id};
    if (!deleted) co_return s3::FromError(deleted.error(), resource);
    co_return *deleted;
  }
  const std::string marker_id = RandomHex(16);
  const int64_t now = r.ctx.clock.NowUnixMs();
  auto deleted = co_await net::RunBlocking(r.ctx.blocking_pool, [&] {
    return r.ctx.store.DeleteObject(r.target.bucket, key, marker_id, now);
  });
  if (!deleted && deleted.error().code == Errc::kNotFound) co_return meta::DeleteOutcome{};
  if (!deleted) co_return s3::FromError(deleted.error(), resource);
  co_return *deleted;
}

Task<void> GetBucketVersioning(S3Request& r) {
  auto bucket = co_await RequireOwnedBucket(r);
  if (!bucket) co_return;
  co_await SendXml(r, 200, s3::RenderVersioningConfiguration(ToS3(bucket->versioning)));
}

Task<void> PutBucketVersioning(S3Request& r) {
  auto bucket = co_await RequireOwnedBucket(r);
  if (!bucket) co_return;
  auto body = co_await ReadSmallBody(r, 64 * 1024);
  if (auto* error = std::get_if<s3::S3Error>(&body)) co_return co_await SendError(r, *error);
  auto parsed = s3::ParseVersioningConfiguration(std::get<std::string>(body));
  if (auto* error = std::get_if<s3::S3Error>(&parsed)) {
    s3::S3Error e = *error;
    e.resource = r.resource();
    co_return co_await SendError(r, e);
  }
  meta::Versioning versioning = std::get<s3::VersioningStatus>(parsed) == s3::VersioningStatus::kEnabled
                                    ? meta::Versioning::kEnabled
                                    : meta::Versioning::kSuspended;
  Status set = co_await net::RunBlocking(r.ctx.blocking_pool, [&] {
    return r.ctx.store.SetBucketVersioning(r.target.bucket, versioning);
  });
  // The store refuses to suspend versioning under Object Lock (it would let
  // null versions replace each other).
  if (!set && set.error().code == Errc::kConflict) {
    co_return co_await SendError(r, s3::MakeS3Error("InvalidBucketState",
                                                    "An Object Lock configuration is present on this bucket, so the "
                                                    "versioning state cannot be changed.",
                                                    r.resource()));
  }
  if (!set) co_return co_await SendError(r, s3::FromError(set.error(), r.resource()));
  co_await SendEmpty(r, 200, BaseHeaders(r));
}

Task<void> ListObjectVersions(S3Request& r) {
  auto bucket = co_await RequireBucketAccess(r, "s3:ListBucketVersions");
  if (!bucket) co_return;
  s3::ListVersionsParams params;
  params.bucket = r.target.bucket;
  params.prefix = r.QueryValue("prefix");
  params.delimiter = r.QueryValue("delimiter");
  params.key_marker = r.QueryValue("key-marker");
  params.version_id_marker = r.QueryValue("version-id-marker");
  if (auto error = CheckEncodingType(r)) co_return co_await SendError(r, *error);
  params.encoding_url = r.QueryValue("encoding-type") == "url";
  auto max_keys = ParseListLimit(r, "max-keys");
  if (auto* error = std::get_if<s3::S3Error>(&max_keys)) co_return co_await SendError(r, *error);
  params.max_keys = std::get<int>(max_keys);
  if (!params.version_id_marker.empty()) {
    if (params.key_marker.empty()) {
      co_return co_await SendError(r, s3::MakeS3Error("InvalidArgument", "A version-id marker cannot be specified without a key marker.", r.resource()));
    }
    if (auto error = CheckVersionId(params.version_id_marker, r.resource())) co_return co_await SendError(r, *error);
  }
  meta::VersionListQuery query;
  query.prefix = params.prefix;
  query.delimiter = params.delimiter;
  query.key_marker = params.key_marker;
  query.version_id_marker = params.version_id_marker;
  query.max_keys = params.max_keys;
  auto listed = co_await net::RunBlocking(
      r.ctx.blocking_pool, [&] { return r.ctx.store.ListObjectVersions(r.target.bucket, query); });
  if (!listed) co_return co_await SendError(r, s3::FromError(listed.error(), r.resource()));
  s3::ListVersionsResult result;
  for (const meta::ObjectVersion& v : listed->versions) {
    s3::ListedVersion entry;
    entry.key = v.key;
    entry.version_id = meta::S3VersionId(v);
    entry.is_latest = v.is_latest;
    entry.is_delete_marker = v.kind == meta::VersionKind::kDeleteMarker;
    entry.modified_unix_ms = v.created_unix_ms;
    entry.etag = v.etag;
    entry.size_bytes = v.size_bytes;
    result.versions.push_back(std::move(entry));
  }
  result.common_prefixes = listed->common_prefixes;
  result.is_truncated = listed->is_truncated;
  result.next_key_marker = listed->next_key_marker;
  result.next_version_id_marker = listed->next_version_id_marker;
  co_await SendXml(r, 200, s3::RenderListObjectVersions(params, result, bucket->owner_id));
}

}  // namespace holdfast::gateway
