// Share links, their downloads, and "download everything" (docs/web.md).
#include "common/digest.h"
#include "common/log.h"
#include "gateway/object_reader.h"
#include "gateway/s3_api.h"
#include "web/passwords.h"
#include "web/tar.h"
#include "web/web_internal.h"

namespace holdfast::web {

using net::Task;

namespace {

constexpr int64_t kDownloadTokenLifetimeMs = 12 * 3600 * 1000;
constexpr int64_t kMaxLinkLifetimeS = 10ll * 365 * 24 * 3600;

bool IsLinkId(const std::string& id) {
  return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::string FileName(const std::string& key) {
  size_t slash = key.rfind('/');
  std::string name = slash == std::string::npos ? key : key.substr(slash + 1);
  return name.empty() ? "download" : name;
}

std::string LinkState(const meta::ShareLink& link, int64_t now_ms) {
  if (link.revoked_unix_ms != 0) return "revoked";
  if (link.expires_unix_ms != 0 && now_ms >= link.expires_unix_ms) return "expired";
  return "active";
}

nlohmann::json LinkJson(const meta::ShareLink& link, int64_t now_ms) {
  nlohmann::json j;
  j["id"] = link.link_id;
  j["url"] = "/s/" + link.link_id;
  j["bucket"] = link.bucket;
  j["key"] = link.key;
  j["created_unix_ms"] = link.created_unix_ms;
  j["expires_unix_ms"] = link.expires_unix_ms == 0 ? nlohmann::json(nullptr) : nlohmann::json(link.expires_unix_ms);
  j["password_protected"] = !link.password_hash.empty();
  j["state"] = LinkState(link, now_ms);
  j["downloads"] = link.downloads;
  return j;
}

// "<expires_ms>.<hex HMAC-SHA256 over link id and expiry>": lets a download
// manager fetch (and resume) a password-protected link without the password.
std::string DownloadToken(const WebState& state, const std::string& link_id, int64_t expires_ms) {
  std::string message = link_id + '\0' + std::to_string(expires_ms);
  return std::to_string(expires_ms) + "." +
         HexLower(HmacSha256(AsBytes(state.download_token_key), AsBytes(message)));
}

bool ValidDownloadToken(const WebState& state, const std::string& link_id, const std::string& token,
                        int64_t now_ms) {
  size_t dot = token.find('.');
  if (dot == std::string::npos || dot == 0 || dot > 15) return false;
  int64_t expires = 0;
  for (char c : token.substr(0, dot)) {
    if (c < '0' || c > '9') return false;
    expires = expires * 10 + (c - '0');
  }
  return now_ms < expires && ConstantTimeEquals(token, DownloadToken(state, link_id, expires));
}

// The link, or nullopt with the refusal sent (JSON or, for a browser, a page).
Task<std::optional<meta::ShareLink>> LoadUsableLink(WebRequest& r, const std::string& link_id, bool as_page) {
  std::optional<meta::ShareLink> found;
  if (IsLinkId(link_id)) {
    auto link = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.GetShareLink(link_id); });
    if (link) found = std::move(*link);
  }
  int status = 0;
  std::string code, title, message;
  if (!found) {
    status = 404, code = "NoSuchLink", title = "No such link";
    message = "This link does not exist. Check that it was copied completely.";
  } else if (LinkState(*found, r.now_ms()) == "revoked") {
    status = 410, code = "LinkRevoked", title = "Link revoked";
    message = "The person who shared this file has revoked the link.";
  } else if (LinkState(*found, r.now_ms()) == "expired") {
    status = 410, code = "LinkExpired", title = "Link expired";
    message = "This link has expired. Ask the person who shared it for a new one.";
  }
  if (status == 0) co_return found;
  if (as_page) {
    co_await SendHtmlPage(r, status, std::move(title), std::move(message));
  } else {
    co_await SendApiError(r, status, std::move(code), std::move(message));
  }
  co_return std::nullopt;
}

// The object a link names, if it still exists (its current version).
Task<std::optional<meta::ObjectVersion>> LinkedObject(WebRequest& r, const meta::ShareLink& link) {
  auto version =
      co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.GetObject(link.bucket, link.key); });
  if (!version || version->kind == meta::VersionKind::kDeleteMarker) co_return std::nullopt;
  co_return std::move(*version);
}

Task<void> CreateLink(WebRequest& r) {
  auto body = co_await ReadJsonBody(r);
  if (!body) co_return;
  meta::ShareLink link;
  link.link_id = RandomHex(16);
  link.owner_id = r.user();
  link.bucket = body->value("bucket", "");
  link.key = body->value("key", "");
  link.created_unix_ms = r.now_ms();
  if (body->contains("expires_in_seconds") && !(*body)["expires_in_seconds"].is_null()) {
    const auto& expiry = (*body)["expires_in_seconds"];
    if (!expiry.is_number_integer() || expiry.get<int64_t>() < 1 || expiry.get<int64_t>() > kMaxLinkLifetimeS) {
      co_return co_await SendApiError(r, 400, "InvalidExpiry",
                                      "expires_in_seconds must be a whole number of seconds, at least 1 and at most "
                                      "ten years.");
    }
    link.expires_unix_ms = link.created_unix_ms + expiry.get<int64_t>() * 1000;
  }
  const std::string password = body->value("password", "");
  if (!password.empty()) {
    if (password.size() > 1024) {
      co_return co_await SendApiError(r, 400, "InvalidPassword", "Link passwords are at most 1024 characters.");
    }
    auto hash = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return HashPassword(password); });
    if (!hash) co_return co_await SendApiError(r, 500, "InternalError", "Could not hash the password.");
    link.password_hash = *hash;
  }
  auto bucket = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.GetBucket(link.bucket); });
  if (!bucket || bucket->owner_id != link.owner_id) {
    std::string message = "You have no bucket named " + link.bucket + ".";
    co_return co_await SendApiError(r, 404, "NoSuchBucket", std::move(message));
  }
  auto object = co_await LinkedObject(r, link);
  if (!object) {
    std::string message = "There is no file " + link.key + " in " + link.bucket + ".";
    co_return co_await SendApiError(r, 404, "NoSuchObject", std::move(message));
  }
  Status created = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.CreateShareLink(link); });
  if (!created) co_return co_await SendApiError(r, 500, "InternalError", "Could not store the link.");
  HF_LOG_INFO("web: {} shared {}/{} as link {}", link.owner_id, link.bucket, link.key, link.link_id);
  std::string text = LinkJson(link, r.now_ms()).dump();
  co_await SendJson(r, 201, std::move(text));
}

}  // namespace

Task<void> HandleLinks(WebRequest& r, std::string link_id) {
  const std::string user = r.user();
  const std::string& method = r.http.method;
  if (link_id.empty() && method == "POST") co_return co_await CreateLink(r);
  if (link_id.empty() && method == "GET") {
    auto links = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.ListShareLinks(user, 1000); });
    if (!links) co_return co_await SendApiError(r, 500, "InternalError", "Could not list the links.");
    nlohmann::json list = nlohmann::json::array();
    for (const auto& link : *links) list.push_back(LinkJson(link, r.now_ms()));
    nlohmann::json out;
    out["links"] = std::move(list);
    std::string text = out.dump();
    co_return co_await SendJson(r, 200, std::move(text));
  }
  if (!link_id.empty() && method == "DELETE") {
    const int64_t now = r.now_ms();
    Status revoked =
        co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.RevokeShareLink(user, link_id, now); });
    if (!revoked && revoked.error().code == Errc::kNotFound) {
      co_return co_await SendApiError(r, 404, "NoSuchLink", "You have no such link.");
    }
    if (!revoked) co_return co_await SendApiError(r, 500, "InternalError", "Could not revoke the link.");
    HF_LOG_INFO("web: {} revoked link {}", user, link_id);
    co_return co_await SendJson(r, 204, "");
  }
  co_await SendApiError(r, 405, "MethodNotAllowed", "Use GET or POST /api/links, or DELETE /api/links/{id}.");
}

Task<void> HandlePublicLink(WebRequest& r, std::string link_id, bool unlock) {
  auto link = co_await LoadUsableLink(r, link_id, false);
  if (!link) co_return;
  auto object = co_await LinkedObject(r, *link);
  if (!object) {
    co_return co_await SendApiError(r, 404, "NoSuchObject", "The shared file no longer exists.");
  }
  nlohmann::json out;
  if (unlock) {
    auto body = co_await ReadJsonBody(r);
    if (!body) co_return;
    const std::string password = body->value("password", "");
    const int64_t now = r.now_ms();
    if (auto wait = r.state.failures_by_link.RetryAfterMs(link_id, now)) {
      nlohmann::json refusal;
      refusal["code"] = "TooManyAttempts";
      refusal["error"] = "Too many wrong passwords for this link. Try again later.";
      refusal["retry_after_s"] = (*wait + 999) / 1000;
      net::Headers headers = SecurityHeaders();
      headers.Set("Retry-After", std::to_string((*wait + 999) / 1000));
      std::string text = refusal.dump();
      co_return co_await SendJsonWithHeaders(r, 429, std::move(text), std::move(headers));
    }
    const std::string hash = link->password_hash;
    bool good = false;
    if (!hash.empty()) {
      good = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return VerifyPassword(hash, password); });
    }
    if (!hash.empty() && !good) {
      r.state.failures_by_link.RecordFailure(link_id, now);
      co_return co_await SendApiError(r, 403, "WrongPassword", "That password is not right.");
    }
    std::string url = "/s/" + link_id + "/download";
    if (!hash.empty()) url += "?token=" + DownloadToken(r.state, link_id, now + kDownloadTokenLifetimeMs);
    out["download_url"] = url;
    std::string text = out.dump();
    co_return co_await SendJson(r, 200, std::move(text));
  }
  out["id"] = link->link_id;
  out["name"] = FileName(link->key);
  out["size"] = object->size_bytes;
  out["content_type"] = object->content_type;
  out["last_modified_unix_ms"] = object->created_unix_ms;
  out["expires_unix_ms"] =
      link->expires_unix_ms == 0 ? nlohmann::json(nullptr) : nlohmann::json(link->expires_unix_ms);
  out["password_required"] = !link->password_hash.empty();
  if (link->password_hash.empty()) out["download_url"] = "/s/" + link_id + "/download";
  std::string text = out.dump();
  co_await SendJson(r, 200, std::move(text));
}

Task<void> HandleLinkDownload(WebRequest& r, std::string link_id) {
  auto link = co_await LoadUsableLink(r, link_id, true);
  if (!link) co_return;
  if (!link->password_hash.empty() && !ValidDownloadToken(r.state, link_id, r.QueryValue("token"), r.now_ms())) {
    co_return co_await SendHtmlPage(r, 403, "Password needed",
                                    "This file is protected by a password. Open the link and enter it first.");
  }
  auto object = co_await LinkedObject(r, *link);
  if (!object) {
    co_return co_await SendHtmlPage(r, 404, "File gone", "The shared file no longer exists.");
  }
  // Count a download once, not once per resumed piece.
  auto range = r.http.headers.Get("Range");
  if (r.http.method == "GET" && (!range || range->starts_with("bytes=0-"))) {
    (void)co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.CountShareLinkDownload(link_id); });
  }
  // The bytes come from S3's GetObject as the link's owner: Range, HEAD,
  // conditional requests and degraded reads behave exactly as over S3.
  const std::string name = FileName(link->key);
  std::string ascii;
  for (char c : name) ascii += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? c : '_';
  const std::string disposition =
      "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + net::PercentEncode(name, false);
  r.http.path = "/" + net::PercentEncode(link->bucket, false) + "/" + net::PercentEncode(link->key, true);
  r.http.query = "response-content-disposition=" + net::PercentEncode(disposition, false);
  r.http.target = r.http.path + "?" + r.http.query;
  co_await gateway::HandleS3AsUser(r.ctx, r.http, r.body, r.out, link->owner_id);
}

// Every current object of one of the caller's buckets (under `prefix`) as
// one tar stream. Each object is read from its erasure-coded shards as it is
// written out; a failure mid-way cuts the response short, so the client sees
// an incomplete download rather than a tar missing a file unannounced.
Task<void> HandleExport(WebRequest& r) {
  const std::string bucket = r.QueryValue("bucket");
  const std::string prefix = r.QueryValue("prefix");
  auto owned = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.GetBucket(bucket); });
  if (!owned || owned->owner_id != r.user()) {
    std::string message = "You have no bucket named " + bucket + ".";
    co_return co_await SendApiError(r, 404, "NoSuchBucket", std::move(message));
  }
  net::Headers headers = SecurityHeaders();
  headers.Set("Content-Type", "application/x-tar");
  headers.Set("Content-Disposition", "attachment; filename=\"" + bucket + ".tar\"");
  headers.Set("Cache-Control", "no-store");
  if (r.http.method == "HEAD") {
    (void)co_await r.out.WriteHead(200, headers, std::nullopt);
    (void)co_await r.out.Finish();
    co_return;
  }
  if (!co_await r.out.WriteHead(200, headers, std::nullopt)) co_return;
  HF_LOG_INFO("web: {} exports {}/{}", r.user(), bucket, prefix);
  meta::ListQuery query;
  query.prefix = prefix;
  uint64_t objects = 0;
  while (true) {
    auto page = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.ListObjects(bucket, query); });
    if (!page) {
      HF_LOG_ERROR("web: export of {} failed: {}", bucket, page.error().message);
      r.out.Abort();
      co_return;
    }
    for (const auto& listed : page->objects) {
      const std::string key = listed.key;
      auto version = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.GetObject(bucket, key); });
      if (!version && version.error().code == Errc::kNotFound) continue;  // deleted since the listing
      if (!version) {
        HF_LOG_ERROR("web: export of {} failed at {}: {}", bucket, key, version.error().message);
        r.out.Abort();
        co_return;
      }
      if (version->kind == meta::VersionKind::kDeleteMarker) continue;
      const meta::ObjectVersion& v = *version;
      std::string header = TarFileHeader(key, v.size_bytes, v.created_unix_ms / 1000);
      if (!co_await r.out.WriteBody(AsBytes(header))) co_return;
      auto reader = co_await gateway::OpenObjectReader(r.ctx, v, 0, v.size_bytes);
      if (!reader) {
        HF_LOG_ERROR("web: export of {} failed at {}: {}", bucket, key, reader.error().message);
        r.out.Abort();
        co_return;
      }
      while (true) {
        auto piece = co_await (*reader)->Next();
        if (!piece) {
          HF_LOG_ERROR("web: export of {} failed in {}: {}", bucket, key, piece.error().message);
          r.out.Abort();
          co_return;
        }
        if (piece->empty()) break;
        if (!co_await r.out.WriteBody(*piece)) co_return;
      }
      std::string padding(TarPadding(v.size_bytes), '\0');
      if (!padding.empty() && !co_await r.out.WriteBody(AsBytes(padding))) co_return;
      ++objects;
    }
    if (!page->is_truncated) break;
    query.start_after = page->next_start_after;
  }
  std::string end = TarEnd();
  if (!co_await r.out.WriteBody(AsBytes(end))) co_return;
  (void)co_await r.out.Finish();
  HF_LOG_INFO("web: export of {}/{} done: {} object(s)", bucket, prefix, objects);
}

}  // namespace holdfast::web
