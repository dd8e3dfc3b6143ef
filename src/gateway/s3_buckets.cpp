// Bucket-level S3 operations.
#include <algorithm>
#include <charconv>

#include "gateway/s3_request.h"

namespace holdfast::gateway {

using net::Task;

namespace {

template <typename Fn>
auto Blocking(S3Request& r, Fn fn) {
  return net::RunBlocking(r.ctx.blocking_pool, std::move(fn));
}

}  // namespace

Task<std::optional<meta::Bucket>> RequireOwnedBucket(S3Request& r) {
  auto bucket = co_await Blocking(r, [&] { return r.ctx.store.GetBucket(r.target.bucket); });
  if (!bucket) {
    if (bucket.error().code == Errc::kNotFound) {
      co_await SendError(r, s3::MakeS3Error("NoSuchBucket", "The specified bucket does not exist",
                                            "/" + r.target.bucket));
    } else {
      co_await SendError(r, s3::FromError(bucket.error(), r.resource()));
    }
    co_return std::nullopt;
  }
  if (bucket->owner_id != r.auth.user_id) {
    co_await SendError(r, s3::MakeS3Error("AccessDenied", "Access Denied", r.resource()));
    co_return std::nullopt;
  }
  co_return *bucket;
}

Task<void> ListBuckets(S3Request& r) {
  auto buckets = co_await Blocking(r, [&] { return r.ctx.store.ListBuckets(r.auth.user_id); });
  if (!buckets) co_return co_await SendError(r, s3::FromError(buckets.error()));
  co_await SendXml(r, 200, s3::RenderListBuckets(*buckets, r.auth.user_id));
}

Task<void> CreateBucket(S3Request& r) {
  if (auto error = s3::CheckBucketName(r.target.bucket)) co_return co_await SendError(r, *error);
  auto body = co_await ReadSmallBody(r, 64 * 1024);
  if (auto* error = std::get_if<s3::S3Error>(&body)) co_return co_await SendError(r, *error);
  auto location = s3::ParseCreateBucketConfiguration(std::get<std::string>(body));
  if (auto* error = std::get_if<s3::S3Error>(&location)) co_return co_await SendError(r, *error);
  std::string region = std::get<std::string>(location);
  if (region.empty()) region = r.ctx.settings.region;

  meta::Bucket bucket{r.target.bucket, r.auth.user_id, region, r.ctx.clock.NowUnixMs()};
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
  auto bucket = co_await RequireOwnedBucket(r);
  if (!bucket) co_return;
  net::Headers headers = BaseHeaders(r);
  headers.Set("x-amz-bucket-region", bucket->region);
  co_await SendEmpty(r, 200, headers);
}

Task<void> GetBucketLocation(S3Request& r) {
  auto bucket = co_await RequireOwnedBucket(r);
  if (!bucket) co_return;
  // AWS reports us-east-1 as an empty LocationConstraint.
  std::string region = bucket->region == "us-east-1" ? "" : bucket->region;
  co_await SendXml(r, 200,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint "
                   "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" +
                       s3::XmlEscape(region) + "</LocationConstraint>");
}

Task<void> ListObjectsV2(S3Request& r) {
  if (!co_await RequireOwnedBucket(r)) co_return;
  s3::ListV2Params params;
  params.bucket = r.target.bucket;
  params.prefix = r.QueryValue("prefix");
  params.delimiter = r.QueryValue("delimiter");
  params.continuation_token = r.QueryValue("continuation-token");
  params.start_after = r.QueryValue("start-after");
  params.fetch_owner = r.QueryValue("fetch-owner") == "true";
  std::string encoding = r.QueryValue("encoding-type");
  if (!encoding.empty() && encoding != "url") {
    co_return co_await SendError(r, s3::MakeS3Error("InvalidArgument", "Invalid Encoding Method specified in Request", r.resource()));
  }
  params.encoding_url = encoding == "url";
  if (r.HasQuery("max-keys")) {
    std::string text = r.QueryValue("max-keys");
    int value = -1;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size() || value < 0) {
      co_return co_await SendError(r, s3::MakeS3Error("InvalidArgument", "Provided max-keys not an integer or within integer range", r.resource()));
    }
    params.max_keys = std::min(value, 1000);
  }
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
  co_await SendXml(r, 200, s3::RenderListObjectsV2(params, *listed, r.auth.user_id));
}

}  // namespace holdfast::gateway
