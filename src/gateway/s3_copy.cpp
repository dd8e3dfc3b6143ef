// CopyObject (PUT with x-amz-copy-source) and UploadPartCopy (the same on a
// part). The source is read through the
// verified, degraded-capable read path and written through the ordinary
// write path, so the copy is erasure-coded and placed like any new object
// and never held whole in memory. Copies across buckets work the same way;
// the caller must own both.
#include <charconv>
#include <tuple>

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
  std::string version_id;  // S3 id; empty = the current version
};

// "bucket/key" or "/bucket/key", URL-encoded, optionally "?versionId=...".
std::variant<CopySource, s3::S3Error> ParseCopySource(std::string_view header) {
  std::string_view path = header;
  std::string version_id;
  if (size_t q = path.find('?'); q != std::string_view::npos) {
    std::string_view query = path.substr(q + 1);
    path = path.substr(0, q);
    if (query.starts_with("versionId=")) {
      version_id = std::string(query.substr(10));
      if (auto error = CheckVersionId(version_id, "")) return *error;
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
  return CopySource{decoded.substr(0, slash), decoded.substr(slash + 1), version_id};
}

Task<std::variant<meta::ObjectVersion, s3::S3Error>> LoadSource(S3Request& r, const CopySource& source) {
  auto bucket = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.GetBucket(source.bucket); });
  if (!bucket) co_return s3::MakeS3Error("NoSuchBucket", "The specified bucket does not exist", "/" + source.bucket);
  const char* action = source.version_id.empty() ? "s3:GetObject" : "s3:GetObjectVersion";
  if (!MayAccess(r, *bucket, action, source.key)) {
    co_return s3::MakeS3Error("AccessDenied", "Access Denied", "/" + source.bucket + "/" + source.key);
  }
  auto version = co_await net::RunBlocking(r.ctx.blocking_pool, [&] {
    return source.version_id.empty() ? r.ctx.store.GetObject(source.bucket, source.key)
                                     : r.ctx.store.GetObjectVersion(source.bucket, source.key, source.version_id);
  });
  const std::string resource = "/" + source.bucket + "/" + source.key;
  if (!version && !source.version_id.empty()) {
    co_return s3::MakeS3Error("NoSuchVersion", "The specified version does not exist.", resource);
  }
  if (!version || version->kind == meta::VersionKind::kDeleteMarker) {
    // A delete marker has no bytes to copy (S3: NoSuchKey, or InvalidRequest by id).
    if (version && !source.version_id.empty()) {
      co_return s3::MakeS3Error("InvalidRequest", "The source of a copy request may not specifically refer to a delete marker by version id.", resource);
    }
    co_return s3::MakeS3Error("NoSuchKey", "The specified key does not exist.", resource);
  }
  co_return *version;
}

struct ResolvedSource {
  CopySource source;
  meta::ObjectVersion version;
};

// x-amz-copy-source parsed, the source loaded (the caller must own its
// bucket) and the x-amz-copy-source-if-* conditions checked.
Task<std::variant<ResolvedSource, s3::S3Error>> ResolveCopySource(S3Request& r) {
  auto parsed = ParseCopySource(*r.http.headers.Get("x-amz-copy-source"));
  if (auto* error = std::get_if<s3::S3Error>(&parsed)) co_return *error;
  ResolvedSource resolved{std::get<CopySource>(parsed), {}};
  auto loaded = co_await LoadSource(r, resolved.source);
  if (auto* error = std::get_if<s3::S3Error>(&loaded)) co_return *error;
  resolved.version = std::move(std::get<meta::ObjectVersion>(loaded));
  if (s3::EvaluatePreconditions(s3::GetCopySourcePreconditions(r.http.headers), resolved.version.etag,
                                resolved.version.created_unix_ms) != s3::PreconditionOutcome::kProceed) {
    co_return s3::MakeS3Error("PreconditionFailed", std::string(s3::kPreconditionFailedMessage), r.resource());
  }
  co_return resolved;
}

// Streams bytes [first, first + length) of `from` through the write path as
// `request` describes (an object or a part).
Task<std::variant<WriteOutcome, s3::S3Error>> CopyBytes(S3Request& r, const meta::ObjectVersion& from,
                                                             uint64_t first, uint64_t length,
                                                             WriteRequest request) {
  request.content_length = length;
  auto reader = co_await OpenObjectReader(r.ctx, from, first, length);
  if (!reader) co_return s3::MakeS3Error("ServiceUnavailable", reader.error().message, r.resource());
  ObjectBody body(**reader);
  auto outcome = co_await WriteObject(r.ctx, request, body);
  if (auto* error = std::get_if<WriteError>(&outcome)) {
    HF_LOG_WARN("copy to {} failed: {}", r.resource(), error->message);
    // The body is our own read of the source: a short one is the source's
    // failure, not a client's, so no IncompleteBody here.
    if (error->failure == WriteFailure::kUploadGone) co_return NoSuchUpload(r.resource());
    if (error->failure == WriteFailure::kPreconditionFailed) co_return S3ErrorForWrite(*error, r.resource());
    if (error->failure == WriteFailure::kTooFewNodes) {
      co_return s3::MakeS3Error("ServiceUnavailable", error->message, r.resource());
    }
    co_return s3::MakeS3Error("InternalError", error->message, r.resource());
  }
  co_return std::get<WriteOutcome>(outcome);
}

}  // namespace

Task<void> CopyObject(S3Request& r) {
  if (auto error = s3::CheckObjectKey(r.target.key)) co_return co_await SendError(r, *error);
  auto bucket = co_await RequireBucketAccess(r, "s3:PutObject");
  if (!bucket) co_return;
  auto resolved = co_await ResolveCopySource(r);
  if (auto* error = std::get_if<s3::S3Error>(&resolved)) co_return co_await SendError(r, *error);
  const CopySource& source = std::get<ResolvedSource>(resolved).source;
  const meta::ObjectVersion& from = std::get<ResolvedSource>(resolved).version;
  std::string directive(r.http.headers.Get("x-amz-metadata-directive").value_or("COPY"));
  if (directive != "COPY" && directive != "REPLACE") {
    co_return co_await SendError(r, s3::MakeS3Error("InvalidArgument", "Unknown metadata directive.", r.resource()));
  }
  // Copying an older version onto its own key is how S3 users restore it.
  if (directive == "COPY" && source.bucket == r.target.bucket && source.key == r.target.key &&
      source.version_id.empty()) {
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
  if (directive == "COPY") {
    request.content_type = from.content_type;
    request.user_metadata = from.user_metadata;
    request.headers = from.headers;
  } else if (auto error = ParseObjectAttributes(r, &request)) {
    co_return co_await SendError(r, *error);
  }
  request.expected_md5.reset();  // a Content-MD5 on a copy request describes no body
  // The destination's lock comes from this request (or the bucket's
  // default), never from the source, as in S3.
  auto lock = RequestedLock(r, *bucket, /*has_body=*/false);
  if (auto* error = std::get_if<s3::S3Error>(&lock)) co_return co_await SendError(r, *error);
  request.lock = std::get<meta::ObjectLock>(lock);
  auto condition = co_await WritePreconditions(r);
  if (auto* error = std::get_if<s3::S3Error>(&condition)) co_return co_await SendError(r, *error);
  request.condition = std::get<meta::WriteCondition>(condition);

  auto copied = co_await CopyBytes(r, from, 0, from.size_bytes, request);
  if (auto* error = std::get_if<s3::S3Error>(&copied)) co_return co_await SendError(r, *error);
  const WriteOutcome& done = std::get<WriteOutcome>(copied);
  const meta::ObjectVersion& written = done.version;
  net::Headers headers = BaseHeaders(r);
  headers.Set("Content-Type", "application/xml");
  AddWrittenVersionHeader(done.versioning, written, &headers);
  if (!source.version_id.empty()) headers.Set("x-amz-copy-source-version-id", source.version_id);
  (void)co_await r.out.Send(200, headers, s3::RenderCopyObjectResult(written.etag, written.created_unix_ms));
}

namespace {

// x-amz-copy-source-range: "bytes=first-last", both offsets required and
// inside the source (S3 answers InvalidArgument otherwise).
std::variant<std::pair<uint64_t, uint64_t>, s3::S3Error> ParseCopySourceRange(std::string_view value,
                                                                              uint64_t source_size,
                                                                              const std::string& resource) {
  auto invalid = [&] {
    return s3::MakeS3Error("InvalidArgument",
                           "The x-amz-copy-source-range value must be of the form bytes=first-last where "
                           "first and last are the zero-based offsets of the first and last bytes to copy",
                           resource);
  };
  if (!value.starts_with("bytes=")) return invalid();
  value.remove_prefix(6);
  size_t dash = value.find('-');
  if (dash == std::string_view::npos) return invalid();
  uint64_t first = 0, last = 0;
  auto parse = [](std::string_view text, uint64_t* out) {
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out);
    return !text.empty() && error == std::errc() && end == text.data() + text.size();
  };
  if (!parse(value.substr(0, dash), &first) || !parse(value.substr(dash + 1), &last) || last < first) {
    return invalid();
  }
  if (last >= source_size) {
    return s3::MakeS3Error("InvalidRange", "The requested range is not satisfiable", resource);
  }
  return std::make_pair(first, last - first + 1);
}

}  // namespace

// UploadPartCopy: a part whose bytes are (a range of) an existing object,
// streamed through the read and write paths like CopyObject.
Task<void> UploadPartCopy(S3Request& r) {
  if (!co_await RequireBucketAccess(r, "s3:PutObject")) co_return;
  auto target = co_await RequirePartTarget(r);
  if (!target) co_return;
  auto resolved = co_await ResolveCopySource(r);
  if (auto* error = std::get_if<s3::S3Error>(&resolved)) co_return co_await SendError(r, *error);
  const meta::ObjectVersion& from = std::get<ResolvedSource>(resolved).version;
  uint64_t first = 0, length = from.size_bytes;
  if (auto range = r.http.headers.Get("x-amz-copy-source-range")) {
    auto parsed_range = ParseCopySourceRange(*range, from.size_bytes, r.resource());
    if (auto* error = std::get_if<s3::S3Error>(&parsed_range)) co_return co_await SendError(r, *error);
    std::tie(first, length) = std::get<std::pair<uint64_t, uint64_t>>(parsed_range);
  }
  if (auto error = s3::CheckPartSize(length)) {
    s3::S3Error e = *error;
    e.resource = r.resource();
    co_return co_await SendError(r, e);
  }
  WriteRequest request;
  request.bucket = r.target.bucket;
  request.key = r.target.key;
  request.part = *target;
  auto copied = co_await CopyBytes(r, from, first, length, request);
  if (auto* error = std::get_if<s3::S3Error>(&copied)) co_return co_await SendError(r, *error);
  const meta::ObjectVersion& written = std::get<WriteOutcome>(copied).version;
  co_await SendXml(r, 200, s3::RenderCopyPartResult(written.etag, written.created_unix_ms));
}

}  // namespace holdfast::gateway
