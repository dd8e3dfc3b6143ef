#include "gateway/s3_api.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "common/log.h"
#include "gateway/deletion_notices.h"
#include "gateway/drain.h"
#include "gateway/holds.h"
#include "gateway/rebalance.h"
#include "gateway/recover.h"
#include "gateway/operations.h"
#include "gateway/s3_request.h"
#include "gateway/scrub_reports.h"
#include "gateway/ledger_api.h"
#include "gateway/users.h"
#include "node/node_api.h"

namespace holdfast::gateway {
namespace {

using net::Task;

bool IsBucketSubresource(const S3Request& r, std::span<const std::string_view> names) {
  for (auto name : names) {
    if (r.HasQuery(name)) return true;
  }
  return false;
}

// Sub-resources of later milestones answer NotImplemented by name rather
// than being mistaken for a plain GET or PUT.
constexpr std::string_view kUnsupportedSubresources[] = {
    "acl",       "policyStatus",  "cors",    "lifecycle",
    "tagging", "website", "logging",    "replication", "encryption",
    "notification", "restore", "select"};

Task<void> Route(S3Request& r) {
  const std::string& method = r.http.method;
  if (IsBucketSubresource(r, kUnsupportedSubresources)) {
    co_await SendError(r, s3::MakeS3Error("NotImplemented",
                                          "This operation is not implemented by Holdfast yet.",
                                          r.resource()));
    co_return;
  }
  if (r.target.bucket.empty()) {
    if (method == "GET") co_return co_await ListBuckets(r);
  } else if (r.target.key.empty()) {
    if (r.HasQuery("policy")) {  // s3_policy.cpp
      if (method == "PUT") co_return co_await PutBucketPolicy(r);
      if (method == "GET") co_return co_await GetBucketPolicy(r);
      if (method == "DELETE") co_return co_await DeleteBucketPolicy(r);
    }
    if (method == "GET" && r.HasQuery("versioning")) co_return co_await GetBucketVersioning(r);
    if (method == "PUT" && r.HasQuery("versioning")) co_return co_await PutBucketVersioning(r);
    if (method == "GET" && r.HasQuery("versions")) co_return co_await ListObjectVersions(r);
    if (method == "GET" && r.HasQuery("object-lock")) co_return co_await GetObjectLockConfiguration(r);
    if (method == "PUT" && r.HasQuery("object-lock")) co_return co_await PutObjectLockConfiguration(r);
    if (method == "PUT") co_return co_await CreateBucket(r);
    if (method == "DELETE") co_return co_await DeleteBucket(r);
    if (method == "HEAD") co_return co_await HeadBucket(r);
    if (method == "GET" && r.HasQuery("location")) co_return co_await GetBucketLocation(r);
    if (method == "GET" && r.HasQuery("uploads")) co_return co_await ListMultipartUploads(r);
    if (method == "GET" && r.QueryValue("list-type") == "2") co_return co_await ListObjectsV2(r);
    if (method == "GET") co_return co_await ListObjectsV1(r);
    if (method == "POST" && r.HasQuery("delete")) co_return co_await DeleteObjects(r);
  } else if (r.HasQuery("policy")) {
    co_return co_await SendError(r, s3::MakeS3Error("NotImplemented", "Policies apply to buckets, not objects.",
                                                    r.resource()));
  } else if (r.HasQuery("uploadId")) {
    const bool copy = r.http.headers.Has("x-amz-copy-source");
    if (method == "PUT" && copy) co_return co_await UploadPartCopy(r);
    if (method == "PUT") co_return co_await UploadPart(r);
    if (method == "POST") co_return co_await CompleteMultipartUpload(r);
    if (method == "DELETE") co_return co_await AbortMultipartUpload(r);
    if (method == "GET") co_return co_await ListParts(r);
  } else if (method == "POST" && r.HasQuery("uploads")) {
    co_return co_await CreateMultipartUpload(r);
  } else if (r.HasQuery("retention")) {
    if (method == "GET") co_return co_await GetObjectRetention(r);
    if (method == "PUT") co_return co_await PutObjectRetention(r);
  } else if (r.HasQuery("legal-hold")) {
    if (method == "GET") co_return co_await GetObjectLegalHold(r);
    if (method == "PUT") co_return co_await PutObjectLegalHold(r);
  } else {
    if (method == "PUT" && r.http.headers.Has("x-amz-copy-source")) co_return co_await CopyObject(r);
    if (method == "PUT") co_return co_await PutObject(r);
    if (method == "GET" || method == "HEAD") co_return co_await GetObject(r);
    if (method == "DELETE") co_return co_await DeleteObject(r);
  }
  co_await SendError(r, s3::MakeS3Error("MethodNotAllowed",
                                        "The specified method is not allowed against this resource.",
                                        r.resource()));
}

// One S3 request: bucket and key from the target, the caller from
// `authenticate(http)` (a VerifiedRequest or the S3 error to answer), then
// the operation. `authenticate` is a plain function object, not a coroutine.
template <typename Authenticate>
Task<void> ServeS3(GatewayContext& ctx, net::Request& http, net::BodyReader& body, net::ResponseWriter& out,
                   Authenticate authenticate) {
  S3Request r{http, body, out, ctx, RandomHex(8), {}, {}, {}};
  net::ParseQuery(http.query, &r.query);  // malformed escapes: ParseTarget/VerifyRequest refuse
  auto target = s3::ParseTarget(http, ctx.settings.base_domain);
  if (auto* error = std::get_if<s3::S3Error>(&target)) {
    co_await SendError(r, *error);
    co_return;
  }
  r.target = std::get<s3::Target>(target);
  auto verified = authenticate(http);
  if (auto* error = std::get_if<s3::S3Error>(&verified)) {
    s3::S3Error e = *error;
    if (e.resource.empty()) e.resource = r.resource();
    co_await SendError(r, e);
    co_return;
  }
  r.auth = std::get<s3::VerifiedRequest>(verified);
  co_await Route(r);
}

class GatewayHandler {
 public:
  GatewayHandler(GatewayContext& ctx, std::string cluster_secret)
      : ctx_(ctx), cluster_secret_(std::move(cluster_secret)) {}

  Task<void> Handle(net::Request& http, net::BodyReader& body, net::ResponseWriter& out) {
    if (http.path.starts_with("/_holdfast/")) {
      co_await HandleInternal(http, body, out);
      co_return;
    }
    // Unsigned: anonymous, allowed only what a bucket policy grants to "*".
    auto authenticate = [this](const net::Request& request) {
      return s3::IsAnonymous(request) ? s3::AnonymousRequest(request)
                                      : s3::VerifyRequest(
                                            request, [this](const std::string& id) { return ctx_.store.GetAccessKey(id); },
                                            ctx_.clock.NowUnixMs());
    };
    co_await ServeS3(ctx_, http, body, out, authenticate);
  }

 private:
  // The cluster-internal API: node heartbeats.
  Task<void> HandleInternal(net::Request& http, net::BodyReader& body, net::ResponseWriter& out) {
    net::Headers headers;
    headers.Set("Content-Type", "application/json");
    auto auth = http.headers.Get("Authorization");
    if (!auth || !ConstantTimeEquals(*auth, node::AuthorizationValue(cluster_secret_))) {
      (void)co_await out.Send(401, headers, R"({"error":"missing or wrong cluster secret"})");
      co_return;
    }
    if (http.path == kStatusPath && http.method == "GET") {  // operators: docs/admin-api.md
      std::string status = co_await RenderStatusJson(ctx_);
      (void)co_await out.Send(200, headers, status);
      co_return;
    }
    if (http.path == kUsersPath) {  // gateway/users.h
      co_await HandleUsers(ctx_, http, out);
      co_return;
    }
    if (http.path == kAccountsPath) {  // web accounts: gateway/users.h
      co_await HandleAccounts(ctx_, http, body, out);
      co_return;
    }
    if (http.path == kRecoverPath) {  // catalogue recovery: gateway/recover.h
      co_await HandleRecover(ctx_, http, out);
      co_return;
    }
    if (IsDeletionNoticePath(http.path)) {  // deletion with notice: gateway/deletion_notices.h
      co_await HandleDeletionNotices(ctx_, http, out);
      co_return;
    }
    if (http.path == kRebalancePath) {  // evening out old objects: gateway/rebalance.h
      co_await HandleRebalance(ctx_, http, out);
      co_return;
    }
    if (http.path == kHoldsPath) {  // preservation holds: gateway/holds.h
      co_await HandleHolds(ctx_, http, out);
      co_return;
    }
    if (IsDrainPath(http.path)) {  // drain and retire: gateway/drain.h
      co_await HandleDrains(ctx_, http, out);
      co_return;
    }
    if (IsLedgerPath(http.path)) {  // the notice ledger: gateway/ledger_api.h
      co_await HandleLedger(ctx_, http, body, out);
      co_return;
    }
    if (IsOperationsPath(http.path)) {  // drill and metrics: gateway/operations.h
      co_await HandleOperations(ctx_, http, out);
      co_return;
    }
    if (http.path != node::kHeartbeatPath || http.method != "POST") {
      (void)co_await out.Send(404, headers, R"({"error":"no such endpoint"})");
      co_return;
    }
    std::string text(std::min<uint64_t>(http.content_length.value_or(0), 64 * 1024), '\0');
    auto n = co_await body.ReadFull(std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size()));
    if (!n) co_return;
    text.resize(*n);
    auto beat = node::DecodeHeartbeat(text);
    if (!beat) {
      std::string error = AdminErrorJson(beat.error().message);
      (void)co_await out.Send(400, headers, error);
      co_return;
    }
    bool first_beat = !ctx_.cluster.Node(beat->id).has_value() ||
                      ctx_.cluster.Node(beat->id)->health == NodeHealth::kDown;
    meta::NodeRecord record = ctx_.cluster.OnHeartbeat(*beat);
    if (first_beat) {
      HF_LOG_INFO("node {} (provider {}, site {}) is up at {}", record.id, record.provider,
                  record.site, record.endpoint);
      Status saved = co_await net::RunBlocking(ctx_.blocking_pool, [&] { return ctx_.store.UpsertNode(record); });
      if (!saved) HF_LOG_ERROR("could not record node {}: {}", record.id, saved.error().message);
    }
    // Corrupt shards found by the node's scrub: gateway/scrub_reports.h.
    node::HeartbeatReply reply = co_await HandleScrubReports(ctx_, beat->id, beat->corrupt_shards);
    reply.deletion_key_hex = ctx_.deletion_key_hex;  // nodes pin it: node/deletion_auth.h
    std::string reply_body = node::EncodeHeartbeatReply(reply);
    (void)co_await out.Send(200, headers, reply_body);
  }

  GatewayContext& ctx_;
  const std::string cluster_secret_;
};

}  // namespace

Task<void> HandleS3AsUser(GatewayContext& context, net::Request& http, net::BodyReader& body,
                          net::ResponseWriter& out, std::string user_id) {
  s3::VerifiedRequest session;
  session.user_id = std::move(user_id);
  session.access_key_id = "web-session";
  session.payload_hash = "UNSIGNED-PAYLOAD";
  session.region = context.settings.region;
  auto authenticate = [&session](const net::Request&) -> std::variant<s3::VerifiedRequest, s3::S3Error> {
    return session;
  };
  co_await ServeS3(context, http, body, out, authenticate);
}

net::Handler MakeGatewayHandler(GatewayContext& context, std::string cluster_secret) {
  auto handler = std::make_shared<GatewayHandler>(context, std::move(cluster_secret));
  return [handler](net::Request& http, net::BodyReader& body, net::ResponseWriter& out) -> Task<void> {
    co_await handler->Handle(http, body, out);
  };
}

// ---- S3Request helpers ------------------------------------------------------

bool S3Request::HasQuery(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return true;
  }
  return false;
}

std::string S3Request::QueryValue(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return "";
}

std::variant<int, s3::S3Error> ParseListLimit(const S3Request& r, std::string_view name) {
  if (!r.HasQuery(name)) return 1000;
  std::string text = r.QueryValue(name);
  int value = -1;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < 0) {
    return s3::MakeS3Error("InvalidArgument",
                           "Provided " + std::string(name) + " not an integer or within integer range",
                           r.resource());
  }
  return std::min(value, 1000);
}

std::optional<s3::S3Error> CheckEncodingType(const S3Request& r) {
  std::string encoding = r.QueryValue("encoding-type");
  if (encoding.empty() || encoding == "url") return std::nullopt;
  return s3::MakeS3Error("InvalidArgument", "Invalid Encoding Method specified in Request", r.resource());
}

std::string S3Request::resource() const {
  std::string out = "/" + target.bucket;
  if (!target.key.empty()) out += "/" + target.key;
  return out;
}

net::Headers BaseHeaders(const S3Request& request) {
  net::Headers headers;
  headers.Set("x-amz-request-id", request.request_id);
  headers.Set("Server", "Holdfast");
  return headers;
}

Task<void> SendError(S3Request& request, const s3::S3Error& error) {
  if (request.out.head_written()) {
    request.out.Abort();
    co_return;
  }
  HF_LOG_DEBUG("{} {} -> {} {}", request.http.method, request.http.target, error.code, error.message);
  net::Headers headers = BaseHeaders(request);
  if (request.is_head()) {
    // HEAD responses carry no body; the code travels only as the status.
    (void)co_await request.out.WriteHead(error.http_status(), headers, 0);
    (void)co_await request.out.Finish();
    co_return;
  }
  headers.Set("Content-Type", "application/xml");
  (void)co_await request.out.Send(error.http_status(), headers,
                                  s3::RenderErrorXml(error, request.request_id));
}

Task<void> SendXml(S3Request& request, int status, const std::string& xml) {
  net::Headers headers = BaseHeaders(request);
  headers.Set("Content-Type", "application/xml");
  (void)co_await request.out.Send(status, headers, xml);
}

Task<void> SendEmpty(S3Request& request, int status, net::Headers headers) {
  (void)co_await request.out.WriteHead(status, headers, 0);
  (void)co_await request.out.Finish();
}

Task<std::variant<std::string, s3::S3Error>> ReadSmallBody(S3Request& request, size_t limit) {
  uint64_t declared = request.http.content_length.value_or(0);
  if (declared > limit) {
    co_return s3::MakeS3Error("EntityTooLarge", "The request body is too large.", request.resource());
  }
  std::string body(declared, '\0');
  auto n = co_await request.body.ReadFull(
      std::span<uint8_t>(reinterpret_cast<uint8_t*>(body.data()), body.size()));
  if (!n || *n != declared) {
    co_return s3::MakeS3Error("IncompleteBody",
                              "You did not provide the number of bytes specified by the "
                              "Content-Length HTTP header.",
                              request.resource());
  }
  const std::string& declared_hash = request.auth.payload_hash;
  if (declared_hash.size() == 64 && HexLower(Sha256(AsBytes(body))) != declared_hash) {
    co_return s3::MakeS3Error("XAmzContentSHA256Mismatch",
                              "The provided 'x-amz-content-sha256' header does not match what "
                              "was computed.",
                              request.resource());
  }
  co_return body;
}

}  // namespace holdfast::gateway
