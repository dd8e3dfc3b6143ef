// CopyObject: PUT with x-amz-copy-source. The source is read through the
// verified, degraded-capable read path and written through the ordinary
// write path, so the copy is erasure-coded and placed like any new object
// and never held whole in memory. Copies across buckets work the same way;
// the caller must own both.
#include "common/log.h"
#include "gateway/object_reader.h"
#include "gateway/object_writer.h"
#include "gateway/s3_request.h"
#include "s3/s3_ops.h"

namespace holdfast::gateway {

using net::Task;

namespace {

// Presents an object being read as a request body for the writer.
class ObjectBody final : public net::BodyReader {
 public:
  explicit ObjectBody(ObjectReader& reader) : reader_(reader) {}

  Task<Result<size_t>> Read(std::span<uint8_t> buffer) override {
    if (pending_.empty()) {
      auto piece = co_await reader_.Next();
      if (!piece) co_return piece.error();
      pending_ = *piece;
      if (pending_.empty()) co_return size_t{0};
    }
    size_t n = std::min(buffer.size(), pending_.size());
    std::copy_n(pending_.data(), n, buffer.data());
    pending_ = pending_.subspan(n);
    bytes_read_ += n;
    co_return n;
  }
  uint64_t bytes_read() const override { return bytes_read_; }

 private:
  ObjectReader& reader_;
  std::span<const uint8_t> pending_;
  uint64_t bytes_read_ = 0;
};

struct CopySource {
  std::string bucket;
  std::string key;
};

// "bucket/key" or "/bucket/key", URL-encoded, optionally "?versionId=...".
std::variant<CopySource, s3::S3Error> ParseCopySource(std::string_view header) {
  std::string_view path = header;
  if (size_t q = path.find('?'); q != std::string_view::npos) {
    std::string_view query = path.substr(q + 1);
    path = path.substr(0, q);
    // Without versioning every object is the "null" version.
    if (query.starts_with("versionId=") && query != "versionId=null") {
      return s3::MakeS3Error("NoSuchVersion", "The specified version does not exist.");
    }
  }
  std::string decoded;
  if (!net::PercentDecode(path, &decoded)) {
    return s3::MakeS3Error("InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
  }
  if (!decoded.empty() && decoded.front() == '/') decoded.erase(0, 1);
  size_t slash = decoded.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == decoded.size()) {
    return s3::MakeS3Error("InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
  }
  return CopySource{decoded.substr(0, slash), decoded.substr(slash + 1)};
}

Task<std::variant<meta::ObjectVersion, s3::S3Error>> LoadSource(S3Request& r, const CopySource& source) {
  auto bucket = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.GetBucket(source.bucket); });
  if (!bucket) co_return s3::MakeS3Error("NoSuchBucket", "The specified bucket does not exist", "/" + source.bucket);
  if (bucket->owner_id != r.auth.user_id) co_return s3::MakeS3Error("AccessDenied", "Access Denied", "/" + source.bucket);
  auto version = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.GetObject(source.bucket, source.key); });
  if (!version) {
    co_return s3::MakeS3Error("NoSuchKey", "The specified key does not exist.", "/" + source.bucket + "/" + source.key);
  }
  co_return *version;
}

}  // namespace

Task<void> CopyObject(S3Request& r) {
  if (auto error = s3::CheckObjectKey(r.target.key)) co_return co_await SendError(r, *error);
  if (!co_await RequireOwnedBucket(r)) co_return;
  auto parsed = ParseCopySource(*r.http.headers.Get("x-amz-copy-source"));
  if (auto* error = std::get_if<s3::S3Error>(&parsed)) co_return co_await SendError(r, *error);
  const CopySource& source = std::get<CopySource>(parsed);
  auto loaded = co_await LoadSource(r, source);
  if (auto* error = std::get_if<s3::S3Error>(&loaded)) co_return co_await SendError(r, *error);
  const meta::ObjectVersion& from = std::get<meta::ObjectVersion>(loaded);

  if (s3::EvaluatePreconditions(s3::GetCopySourcePreconditions(r.http.headers), from.etag,
                                from.created_unix_ms) != s3::PreconditionOutcome::kProceed) {
    co_return co_await SendError(r, s3::MakeS3Error("PreconditionFailed", std::string(s3::kPreconditionFailedMessage), r.resource()));
  }
  std::string directive(r.http.headers.Get("x-amz-metadata-directive").value_or("COPY"));
  if (directive != "COPY" && directive != "REPLACE") {
    co_return co_await SendError(r, s3::MakeS3Error("InvalidArgument", "Unknown metadata directive.", r.resource()));
  }
  if (directive == "COPY" && source.bucket == r.target.bucket && source.key == r.target.key) {
    co_return co_await SendError(
        r, s3::MakeS3Error("InvalidRequest",
                           "This copy request is illegal because it is trying to copy an object to itself "
                           "without changing the object's metadata, storage class, website redirect "
                           "location or encryption attributes.",
                           r.resource()));
  }
  if (from.size_bytes > r.ctx.settings.max_object_size_bytes) {
    co_return co_await SendError(r, s3::MakeS3Error("InvalidRequest", "The specified copy source is larger than the maximum allowable size for a copy source: 5368709120", r.resource()));
  }

  WriteRequest request;
  request.bucket = r.target.bucket;
  request.key = r.target.key;
  request.content_length = from.size_bytes;
  if (directive == "COPY") {
    request.content_type = from.content_type;
    request.user_metadata = from.user_metadata;
    request.headers = from.headers;
  } else if (auto error = ParseObjectAttributes(r, &request)) {
    co_return co_await SendError(r, *error);
  }
  request.expected_md5.reset();  // a Content-MD5 on a copy request describes no body
  if (auto error = co_await CheckPutPreconditions(r)) co_return co_await SendError(r, *error);

  auto reader = co_await OpenObjectReader(r.ctx, from, 0, from.size_bytes);
  if (!reader) {
    co_return co_await SendError(r, s3::MakeS3Error("ServiceUnavailable", reader.error().message, r.resource()));
  }
  ObjectBody body(**reader);
  auto outcome = co_await WriteObject(r.ctx, request, body);
  if (auto* error = std::get_if<WriteError>(&outcome)) {
    HF_LOG_WARN("copy to {} failed: {}", r.resource(), error->message);
    std::string code = error->failure == WriteFailure::kTooFewNodes ? "ServiceUnavailable" : "InternalError";
    co_return co_await SendError(r, s3::MakeS3Error(code, error->message, r.resource()));
  }
  const meta::ObjectVersion& written = std::get<WriteOutcome>(outcome).version;
  co_await SendXml(r, 200, s3::RenderCopyObjectResult(written.etag, written.created_unix_ms));
}

}  // namespace holdfast::gateway
