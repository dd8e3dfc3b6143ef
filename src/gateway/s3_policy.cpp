// Who may touch a bucket: its owner, and whoever its bucket policy allows
// (docs/s3-compatibility.md, s3/bucket_policy.h); and the policy's own
// operations, PUT / GET / DELETE ?policy, which only the owner may call.
#include "common/log.h"
#include "gateway/s3_request.h"
#include "s3/bucket_policy.h"

namespace holdfast::gateway {

using net::Task;

namespace {

s3::S3Error AccessDenied(const S3Request& r) { return s3::MakeS3Error("AccessDenied", "Access Denied", r.resource()); }

}  // namespace

bool MayAccess(const S3Request& r, const meta::Bucket& bucket, std::string_view action, std::string_view key) {
  const bool owner = !r.anonymous() && bucket.owner_id == r.auth.user_id;
  std::shared_ptr<const s3::BucketPolicy> policy = r.ctx.bucket_policies.Get(bucket);
  if (!policy) return owner;
  const std::string resource = key.empty() ? s3::BucketArn(bucket.name) : s3::ObjectArn(bucket.name, key);
  // As AWS: an explicit Deny binds the owner too (the owner can always
  // replace or delete the policy, so it cannot lock itself out for good).
  switch (s3::EvaluateBucketPolicy(*policy, r.auth.user_id, action, resource)) {
    case s3::PolicyDecision::kDeny:
      return false;
    case s3::PolicyDecision::kAllow:
      return true;
    case s3::PolicyDecision::kNone:
      break;
  }
  return owner;
}

Task<std::optional<meta::Bucket>> RequireBucket(S3Request& r) {
  auto bucket = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.GetBucket(r.target.bucket); });
  if (!bucket) {
    if (bucket.error().code == Errc::kNotFound) {
      co_await SendError(r, s3::MakeS3Error("NoSuchBucket", "The specified bucket does not exist", "/" + r.target.bucket));
    } else {
      co_await SendError(r, s3::FromError(bucket.error(), r.resource()));
    }
    co_return std::nullopt;
  }
  co_return *bucket;
}

Task<std::optional<meta::Bucket>> RequireBucketAccess(S3Request& r, std::string action) {
  auto bucket = co_await RequireBucket(r);
  if (!bucket) co_return std::nullopt;
  if (!MayAccess(r, *bucket, action, r.target.key)) {
    co_await SendError(r, AccessDenied(r));
    co_return std::nullopt;
  }
  co_return bucket;
}

Task<std::optional<meta::Bucket>> RequireOwnedBucket(S3Request& r) {
  auto bucket = co_await RequireBucket(r);
  if (!bucket) co_return std::nullopt;
  if (r.anonymous() || bucket->owner_id != r.auth.user_id) {
    co_await SendError(r, AccessDenied(r));
    co_return std::nullopt;
  }
  co_return bucket;
}

Task<void> PutBucketPolicy(S3Request& r) {
  if (!co_await RequireOwnedBucket(r)) co_return;
  // Read a little more than the limit, so that the parser names it.
  auto body = co_await ReadSmallBody(r, 2 * s3::kMaxBucketPolicyBytes);
  if (auto* error = std::get_if<s3::S3Error>(&body)) co_return co_await SendError(r, *error);
  const std::string& text = std::get<std::string>(body);
  auto parsed = s3::ParseBucketPolicy(text, r.target.bucket);
  if (auto* error = std::get_if<s3::S3Error>(&parsed)) {
    s3::S3Error e = *error;
    e.resource = r.resource();
    co_return co_await SendError(r, e);
  }
  Status stored = co_await net::RunBlocking(r.ctx.blocking_pool,
                                            [&] { return r.ctx.store.SetBucketPolicy(r.target.bucket, text); });
  if (!stored) co_return co_await SendError(r, s3::FromError(stored.error(), r.resource()));
  HF_LOG_INFO("bucket {}: policy set by {} ({} statements)", r.target.bucket, r.auth.user_id,
              std::get<s3::BucketPolicy>(parsed).statements.size());
  co_await SendEmpty(r, 204, BaseHeaders(r));
}

Task<void> GetBucketPolicy(S3Request& r) {
  auto bucket = co_await RequireOwnedBucket(r);
  if (!bucket) co_return;
  if (bucket->policy.empty()) {
    co_return co_await SendError(r, s3::MakeS3Error("NoSuchBucketPolicy", "The bucket policy does not exist", r.resource()));
  }
  net::Headers headers = BaseHeaders(r);
  headers.Set("Content-Type", "application/json");
  (void)co_await r.out.Send(200, headers, bucket->policy);  // as stored, like S3
}

Task<void> DeleteBucketPolicy(S3Request& r) {
  if (!co_await RequireOwnedBucket(r)) co_return;
  Status stored = co_await net::RunBlocking(r.ctx.blocking_pool,
                                            [&] { return r.ctx.store.SetBucketPolicy(r.target.bucket, ""); });
  if (!stored) co_return co_await SendError(r, s3::FromError(stored.error(), r.resource()));
  HF_LOG_INFO("bucket {}: policy deleted by {}", r.target.bucket, r.auth.user_id);
  co_await SendEmpty(r, 204, BaseHeaders(r));  // also when there was none, as S3
}

}  // namespace holdfast::gateway
