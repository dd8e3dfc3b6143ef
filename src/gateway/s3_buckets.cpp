// Bucket-level S3 operations.
#include <algorithm>
#include <charconv>

#include "common/digest.h"
#include "gateway/s3_request.h"
#include "s3/s3_ops.h"

namespace holdfast::gateway {

using net::Task;

namespace {

template <typename Fn>
auto Blocking(S3Request& r, Fn fn) {
  return net::RunBlocking(r.ctx.blocking_pool, std::move(fn));
}

}  // namespace

Task<void> ListBuckets(S3Request& r) {
  // An anonymous caller owns nothing (and "" would list every bucket).
  if (r.anonymous()) co_return co_await SendError(r, s3::MakeS3Error("AccessDenied", "Access Denied", "/"));
  auto buckets = co_await Blocking(r, [&] { return r.ctx.store.ListBuckets(r.auth.user_id); });
  if (!buckets) co_return co_await SendError(r, s3::FromError(buckets.error()));
  co_await SendXml(r, 200, s3::RenderListBuckets(*buckets, r.auth.user_id));
}

Task<void> CreateBucket(S3Request& r) {
  if (r.anonymous()) co_return co_await SendError(r, s3::MakeS3Error("AccessDenied", "Access Denied", r.resource()));
  if (auto error = s3::CheckBucketName(r.target.bucket)) co_return co_await SendError(r, *error);
  auto body = co_await ReadSmallBody(r, 64 * 1024);
  if (auto* error = std::get_if<s3::S3Error>(&body)) co_return co_await SendError(r, *error);
  auto location = s3::ParseCreateBucketConfiguration(std::get<std::string>(body));
  if (auto* error = std::get_if<s3::S3Error>(&location)) co_return co_await SendError(r, *error);
  std::string region = std::get<std::string>(location);
  if (region.empty()) region = r.ctx.settings.region;

  meta::Bucket bucket{r.target.bucket, r.auth.user_id, region, r.ctx.clock.NowUnixMs()};
  bucket.object_lock_enabled = WantsObjectLock(r);  // also turns versioning on
  Status created = co_await Blocking(r, [&] { return r.ctx.store.CreateBucket(bucket); });
  if (!created) {
    if (created.error().code == Errc::kAlreadyExists) {
      auto existing = co_await Blocking(r, [&] { return r.ctx.store.GetBucket(bucket.name); });
      bool mine = existing && existing->owner_id == r.auth.user_id;
      // Built before the co_await: GCC 12 destroys ?: temporaries in a
      // co_await expression twice.
      s3::S3Error error =
          mine ? s3::MakeS3Error("BucketAlreadyOwnedByYou",
                                 "Your previous request to create the named bucket succeeded "
                                 "and you already own it.",
                                 "/" + bucket.name)
               : s3::MakeS3Error("BucketAlreadyExists",
                                 "The requested bucket name is not available.", "/" + bucket.name);
      co_return co_await SendError(r, error);
    }
    co_return co_await SendError(r, s3::FromError(created.error(), r.resource()));
  }
  net::Headers headers = BaseHeaders(r);
  headers.Set("Location", "/" + bucket.name);
  co_await SendEmpty(r, 200, headers);
}

Task<void> DeleteBucket(S3Request& r) {
  if (!co_await RequireOwnedBucket(r)) co_return;
  Status deleted = co_await Blocking(r, [&] { return r.ctx.store.DeleteBucket(r.target.bucket); });
  if (!deleted) {
    if (deleted.error().code == Errc::kConflict) {
      co_return co_await SendError(r, s3::MakeS3Error("BucketNotEmpty",
                                                      "The bucket you tried to delete is not empty",
                                                      r.resource()));
    }
    if (deleted.error().code == Errc::kNotFound) {
      co_return co_await SendError(r, s3::MakeS3Error("NoSuchBucket",
                                                      "The specified bucket does not exist",
                                                      r.resource()));
    }
    co_return co_await SendError(r, s3::FromError(deleted.error(), r.resource()));
  }
  co_await SendEmpty(r, 204, BaseHeaders(r));
}

Task<void> HeadBucket(S3Request& r) {
  auto bucket = co_await RequireBucketAccess(r, "s3:ListBucket");  // as AWS
  if (!bucket) co_return;
  net::Headers headers = BaseHeaders(r);
  headers.Set("x-amz-bucket-region", bucket->region);
  co_await SendEmpty(r, 200, headers);
}

Task<void> GetBucketLocation(S3Request& r) {
  auto bucket = co_await RequireBucketAccess(r, "s3:GetBucketLocation");
  if (!bucket) co_return;
  // AWS reports us-east-1 as an empty LocationConstraint.
  std::string region = bucket->region == "us-east-1" ? "" : bucket->region;
  co_await SendXml(r, 200,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint "
                   "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" +
                       s3::XmlEscape(region) + "</LocationConstraint>");
}

namespace {


}  // namespace

Task<void> ListObjectsV1(S3Request& r) {
  auto bucket = co_await RequireBucketAccess(r, "s3:ListBucket");
  if (!bucket) co_return;
  if (auto error = CheckEncodingType(r)) co_return co_await SendError(r, *error);
  auto max_keys = ParseListLimit(r, "max-keys");
  if (auto* error = std::get_if<s3::S3Error>(&max_keys)) co_return co_await SendError(r, *error);
  s3::ListV1Params params;
  params.bucket = r.target.bucket;
  params.prefix = r.QueryValue("prefix");
  params.delimiter = r.QueryValue("delimiter");
  params.marker = r.QueryValue("marker");
  params.max_keys = std::get<int>(max_keys);
  params.encoding_url = r.QueryValue("encoding-type") == "url";
  meta::ListQuery query{params.prefix, params.delimiter, params.marker, params.max_keys};
  auto listed = co_await Blocking(r, [&] { return r.ctx.store.ListObjects(r.target.bucket, query); });
  if (!listed) co_return co_await SendError(r, s3::FromError(listed.error(), r.resource()));
  // Objects belong to the bucket's owner, whoever wrote them.
  co_await SendXml(r, 200, s3::RenderListObjectsV1(params, *listed, bucket->owner_id));
}

Task<void> DeleteObjects(S3Request& r) {
  // Access is per key, as in S3: a key the caller may not delete is an
  // AccessDenied entry in the result.
  auto bucket = co_await RequireBucket(r);
  if (!bucket) co_return;
  // A bucket nobody shares is refused whole to anyone but its owner (as
  // before policies existed), not key by key.
  const bool owner = !r.anonymous() && bucket->owner_id == r.auth.user_id;
  if (!owner && bucket->policy.empty()) {
    co_return co_await SendError(r, s3::MakeS3Error("AccessDenied", "Access Denied", r.resource()));
  }
  auto body = co_await ReadSmallBody(r, 4 << 20);
  if (auto* error = std::get_if<s3::S3Error>(&body)) co_return co_await SendError(r, *error);
  const std::string& xml = std::get<std::string>(body);
  if (auto md5 = r.http.headers.Get("Content-MD5")) {
    std::string expected;
    Md5Digest actual = Md5(AsBytes(xml));
    if (!Base64Decode(*md5, &expected) || expected.size() != actual.size()) {
      co_return co_await SendError(r, s3::MakeS3Error("InvalidDigest", "The Content-MD5 you specified was invalid.", r.resource()));
    }
    if (expected != std::string_view(reinterpret_cast<const char*>(actual.data()), actual.size())) {
      co_return co_await SendError(r, s3::MakeS3Error("BadDigest", "The Content-MD5 you specified did not match what we received.", r.resource()));
    }
  }
  auto parsed = s3::ParseDeleteObjects(xml);
  if (auto* error = std::get_if<s3::S3Error>(&parsed)) co_return co_await SendError(r, *error);
  const s3::DeleteObjectsRequest& request = std::get<s3::DeleteObjectsRequest>(parsed);
  // Bypassing governance retention stays the owner's (with the operator's
  // permission): a policy cannot grant it.
  meta::LockBypass bypass = meta::LockBypass::kNone;
  if (bucket->owner_id == r.auth.user_id) bypass = co_await GovernanceBypass(r);
  std::vector<s3::DeleteOutcome> outcomes;
  for (const s3::ObjectToDelete& object : request.objects) {
    s3::DeleteOutcome outcome{object.key, object.version_id, std::nullopt, false, ""};
    const char* action = object.version_id.empty() ? "s3:DeleteObject" : "s3:DeleteObjectVersion";
    if (!MayAccess(r, *bucket, action, object.key)) {
      outcome.error = s3::MakeS3Error("AccessDenied", "Access Denied", "/" + r.target.bucket + "/" + object.key);
      outcomes.push_back(std::move(outcome));
      continue;
    }
    // A locked version is an <Error> entry (AccessDenied) naming its lock.
    auto deleted = co_await DeleteKey(r, object.key, object.version_id, bypass);
    if (auto* error = std::get_if<s3::S3Error>(&deleted)) {
      outcome.error = *error;
    } else {
      const meta::DeleteOutcome& done = std::get<meta::DeleteOutcome>(deleted);
      outcome.delete_marker = done.delete_marker;
      if (done.delete_marker) outcome.delete_marker_version_id = done.s3_version_id;
    }
    outcomes.push_back(std::move(outcome));
  }
  co_await SendXml(r, 200, s3::RenderDeleteResult(outcomes, request.quiet));
}

Task<void> ListObjectsV2(S3Request& r) {
  auto bucket = co_await RequireBucketAccess(r, "s3:ListBucket");
  if (!bucket) co_return;
  s3::ListV2Params params;
  params.bucket = r.target.bucket;
  params.prefix = r.QueryValue("prefix");
  params.delimiter = r.QueryValue("delimiter");
  params.continuation_token = r.QueryValue("continuation-token");
  params.start_after = r.QueryValue("start-after");
  params.fetch_owner = r.QueryValue("fetch-owner") == "true";
  if (auto error = CheckEncodingType(r)) co_return co_await SendError(r, *error);
  params.encoding_url = r.QueryValue("encoding-type") == "url";
  auto max_keys = ParseListLimit(r, "max-keys");
  if (auto* error = std::get_if<s3::S3Error>(&max_keys)) co_return co_await SendError(r, *error);
  params.max_keys = std::get<int>(max_keys);
  meta::ListQuery query;
  query.prefix = params.prefix;
  query.delimiter = params.delimiter;
  query.max_keys = params.max_keys;
  query.start_after = params.start_after;
  if (!params.continuation_token.empty()) {
    auto resume = s3::ParseContinuationToken(params.continuation_token);
    if (!resume) {
      co_return co_await SendError(r, s3::MakeS3Error("InvalidArgument", "The continuation token provided is incorrect", r.resource()));
    }
    query.start_after = *resume;
  }
  auto listed = co_await Blocking(r, [&] { return r.ctx.store.ListObjects(r.target.bucket, query); });
  if (!listed) co_return co_await SendError(r, s3::FromError(listed.error(), r.resource()));
  co_await SendXml(r, 200, s3::RenderListObjectsV2(params, *listed, bucket->owner_id));
}

}  // namespace holdfast::gateway
