// Routing, static files, sessions and CSRF of the web interface
// (docs/web.md).
#include <fstream>
#include <sstream>

#include "common/digest.h"
#include "common/log.h"
#include "gateway/s3_api.h"
#include "web/web_internal.h"

namespace holdfast::web {

using net::Task;

namespace {

constexpr std::string_view kSessionCookie = "hf_session";

bool IsSafe(const std::string& method) { return method == "GET" || method == "HEAD"; }

std::optional<std::string> CookieValue(const net::Request& http, std::string_view name) {
  auto header = http.headers.Get("Cookie");
  if (!header) return std::nullopt;
  std::string_view rest = *header;
  while (!rest.empty()) {
    size_t end = rest.find(';');
    std::string_view pair = rest.substr(0, end);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=') {
      return std::string(pair.substr(name.size() + 1));
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return std::nullopt;
}

std::string ExpectedOrigin(const WebRequest& r) {
  const std::string& url = r.state.options.public_url;
  if (!url.empty()) return url.back() == '/' ? url.substr(0, url.size() - 1) : url;
  return "http://" + std::string(r.http.headers.Get("Host").value_or(""));
}

// A state-changing request must come from our own pages: a browser names
// the page's origin in Origin (and Sec-Fetch-Site) on every cross-site POST.
bool FromOwnOrigin(const WebRequest& r) {
  if (auto site = r.http.headers.Get("Sec-Fetch-Site"); site && *site == "cross-site") return false;
  auto origin = r.http.headers.Get("Origin");
  return !origin || *origin == ExpectedOrigin(r);
}

std::string_view ContentTypeOf(const std::filesystem::path& file) {
  const std::string ext = file.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

std::optional<std::string> ReadWholeFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class WebHandler {
 public:
  WebHandler(gateway::GatewayContext& ctx, WebOptions options) : ctx_(ctx), state_(std::move(options)) {}

  Task<void> Handle(net::Request& http, net::BodyReader& body, net::ResponseWriter& out) {
    WebRequest r{http, body, out, ctx_, state_, {}, {}, meta::WebRole::kUser};
    if (!net::ParseQuery(http.query, &r.query)) {
      co_await SendApiError(r, 400, "InvalidQuery", "The query string has a malformed percent-escape.");
      co_return;
    }
    const std::string path = http.path;
    if (path.starts_with("/api/")) {
      co_await Api(r, path.substr(4));
      co_return;
    }
    if (path.starts_with("/s/") && path.ends_with("/download") && IsSafe(http.method)) {
      co_await HandleLinkDownload(r, path.substr(3, path.size() - 3 - 9));
      co_return;
    }
    co_await StaticFile(r, path);
  }

 private:
  Task<void> Api(WebRequest& r, std::string path) {
    const std::string& method = r.http.method;
    if (!IsSafe(method) && !FromOwnOrigin(r)) {
      HF_LOG_WARN("web: refused a cross-site {} {} from {}", method, r.http.path, r.http.remote_address);
      co_await SendApiError(r, 403, "CsrfRejected", "This request came from another site and was refused.");
      co_return;
    }
    // Public: no session.
    if (path == "/signup" && method == "POST") co_return co_await HandleSignUp(r);
    if (path == "/signin" && method == "POST") co_return co_await HandleSignIn(r);
    if (path.starts_with("/public/links/")) {
      std::string rest = path.substr(14);
      if (rest.ends_with("/unlock") && method == "POST") {
        co_return co_await HandlePublicLink(r, rest.substr(0, rest.size() - 7), true);
      }
      if (method == "GET") co_return co_await HandlePublicLink(r, rest, false);
      std::string message = method + " is not allowed here.";
      co_return co_await SendApiError(r, 405, "MethodNotAllowed", std::move(message));
    }
    if (!co_await RequireSession(r)) co_return;
    if (!IsSafe(method)) {
      auto token = r.http.headers.Get("X-CSRF-Token");
      if (!token || !ConstantTimeEquals(*token, r.session->csrf_token)) {
        HF_LOG_WARN("web: refused {} {} without the session's CSRF token", method, r.http.path);
        co_return co_await SendApiError(r, 403, "CsrfRejected",
                                        "The request lacks this session's CSRF token; reload the page.");
      }
    }
    if (path == "/s3" || path.starts_with("/s3/")) {
      // The S3 API as the session's user (docs/web.md "Files").
      std::string s3_path = path.size() <= 3 ? "/" : path.substr(3);
      r.http.path = s3_path;
      r.http.target = r.http.query.empty() ? s3_path : s3_path + "?" + r.http.query;
      co_return co_await gateway::HandleS3AsUser(r.ctx, r.http, r.body, r.out, r.user());
    }
    if (path == "/signout" && method == "POST") co_return co_await HandleSignOut(r);
    if (path == "/session" && method == "GET") co_return co_await HandleSession(r);
    if (path == "/keys") co_return co_await HandleKeys(r, "");
    if (path.starts_with("/keys/")) co_return co_await HandleKeys(r, path.substr(6));
    if (path == "/usage" && method == "GET") co_return co_await HandleUsage(r);
    if (path == "/search" && method == "GET") co_return co_await HandleSearch(r);
    if (path == "/export" && IsSafe(method)) co_return co_await HandleExport(r);
    if (path == "/links") co_return co_await HandleLinks(r, "");
    if (path.starts_with("/links/")) co_return co_await HandleLinks(r, path.substr(7));
    if (path.starts_with("/admin/") && method == "GET") co_return co_await HandleAdmin(r, path.substr(7));
    std::string message = method + " " + r.http.path + " is not part of the web API.";
    co_await SendApiError(r, 404, "NoSuchEndpoint", std::move(message));
  }

  // The application's files; any other page path gets index.html (the
  // page routes itself).
  Task<void> StaticFile(WebRequest& r, const std::string& raw_path) {
    if (!IsSafe(r.http.method)) {
      std::string message = r.http.method + " is not allowed on this page.";
      co_return co_await SendHtmlPage(r, 405, "Not allowed", std::move(message));
    }
    std::string path;
    if (!net::PercentDecode(raw_path, &path) || path.find("..") != std::string::npos ||
        path.find('\0') != std::string::npos || path.find('\\') != std::string::npos) {
      co_return co_await SendHtmlPage(r, 400, "Bad address", "This address is not valid.");
    }
    const std::filesystem::path& root = state_.options.root;
    std::filesystem::path file = root / "index.html";
    bool is_asset = false;
    if (path.size() > 1) {
      std::filesystem::path candidate = root / path.substr(1);
      std::error_code ec;
      if (std::filesystem::is_regular_file(candidate, ec)) {
        file = candidate;
        is_asset = path.starts_with("/assets/");
      } else if (path.starts_with("/assets/")) {
        co_return co_await SendHtmlPage(r, 404, "Not found", "There is no such file.");
      }
    }
    auto content = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return ReadWholeFile(file); });
    if (!content) {
      std::string message = "The gateway has no built web pages in " + root.string() +
                            ". Run make (or scripts/setup.sh) to build them.";
      co_return co_await SendHtmlPage(r, 503, "Web interface not built", std::move(message));
    }
    net::Headers headers = SecurityHeaders();
    headers.Set("Content-Type", std::string(ContentTypeOf(file)));
    // Vite names assets by their content hash: they never change.
    headers.Set("Cache-Control", is_asset ? "public, max-age=31536000, immutable" : "no-cache");
    if (r.http.method == "HEAD") {
      (void)co_await r.out.WriteHead(200, headers, content->size());
      (void)co_await r.out.Finish();
      co_return;
    }
    (void)co_await r.out.Send(200, headers, *content);
  }

  gateway::GatewayContext& ctx_;
  WebState state_;
};

}  // namespace

WebState::WebState(WebOptions opts) : options(std::move(opts)), download_token_key(RandomHex(32)) {}

std::string WebRequest::QueryValue(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return "";
}

net::Headers SecurityHeaders() {
  net::Headers headers;
  headers.Set("Content-Security-Policy",
              "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
              "frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
  headers.Set("X-Content-Type-Options", "nosniff");
  headers.Set("X-Frame-Options", "DENY");
  headers.Set("Referrer-Policy", "no-referrer");
  headers.Set("Server", "Holdfast");
  return headers;
}

Task<void> SendJsonWithHeaders(WebRequest& r, int status, std::string body, net::Headers headers) {
  headers.Set("Content-Type", "application/json");
  headers.Set("Cache-Control", "no-store");
  if (status == 204) {
    (void)co_await r.out.WriteHead(status, headers, 0);
    (void)co_await r.out.Finish();
    co_return;
  }
  (void)co_await r.out.Send(status, headers, body);
}

Task<void> SendJson(WebRequest& r, int status, std::string body) {
  net::Headers headers = SecurityHeaders();
  co_await SendJsonWithHeaders(r, status, std::move(body), std::move(headers));
}

Task<void> SendApiError(WebRequest& r, int status, std::string code, std::string message) {
  nlohmann::json error;
  error["code"] = code;
  error["error"] = message;
  std::string body = error.dump();
  co_await SendJson(r, status, std::move(body));
}

std::string HtmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

Task<void> SendHtmlPage(WebRequest& r, int status, std::string title, std::string message) {
  std::string page =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>" + HtmlEscape(title) + " - Holdfast</title><style>"
      "body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1d2733}"
      "h1{font-size:1.5rem}p{line-height:1.5}a{color:#1f5fbf}</style></head><body>"
      "<h1>" + HtmlEscape(title) + "</h1><p>" + HtmlEscape(message) + "</p>"
      "<p><a href=\"/\">Holdfast</a></p></body></html>";
  net::Headers headers = SecurityHeaders();
  headers.Set("Content-Type", "text/html; charset=utf-8");
  headers.Set("Cache-Control", "no-store");
  if (r.http.method == "HEAD") {
    (void)co_await r.out.WriteHead(status, headers, page.size());
    (void)co_await r.out.Finish();
    co_return;
  }
  (void)co_await r.out.Send(status, headers, page);
}

Task<std::optional<nlohmann::json>> ReadJsonBody(WebRequest& r) {
  constexpr uint64_t kLimit = 64 * 1024;
  if (r.http.content_length.value_or(0) > kLimit || r.http.chunked) {
    co_await SendApiError(r, 413, "TooLarge", "The request body must be JSON of at most 64 KiB with a Content-Length.");
    co_return std::nullopt;
  }
  std::string text(r.http.content_length.value_or(0), '\0');
  auto n = co_await r.body.ReadFull(std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size()));
  if (!n || *n != text.size()) co_return std::nullopt;  // the client went away
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (!parsed.is_object()) {
    co_await SendApiError(r, 400, "MalformedJson", "The request body must be a JSON object.");
    co_return std::nullopt;
  }
  co_return parsed;
}

Task<bool> RequireSession(WebRequest& r) {
  auto token = CookieValue(r.http, kSessionCookie);
  if (token && !token->empty()) {
    const std::string hash = HexLower(Sha256(AsBytes(*token)));
    const int64_t now = r.now_ms();
    auto session = co_await net::RunBlocking(r.ctx.blocking_pool,
                                             [&] { return r.ctx.store.GetWebSession(hash, now); });
    if (session) {
      auto account = co_await net::RunBlocking(r.ctx.blocking_pool,
                                               [&] { return r.ctx.store.GetWebAccount(session->user_id); });
      if (account) {
        r.session = std::move(*session);
        r.role = account->role;
        co_return true;
      }
    }
  }
  co_await SendApiError(r, 401, "NotSignedIn", "Sign in first.");
  co_return false;
}

std::string SessionJson(const WebRequest& r, const std::string& home_bucket) {
  nlohmann::json j;
  j["user"] = r.session->user_id;
  j["role"] = meta::WebRoleName(r.role);
  j["csrf_token"] = r.session->csrf_token;
  j["home_bucket"] = home_bucket;
  j["s3_endpoint"] = r.state.options.s3_endpoint;
  return j.dump();
}

Task<void> StartSession(WebRequest& r, std::string user_id, meta::WebRole role, int status) {
  const std::string token = RandomHex(32);
  meta::WebSession session;
  session.token_sha256 = HexLower(Sha256(AsBytes(token)));
  session.user_id = user_id;
  session.csrf_token = RandomHex(16);
  session.created_unix_ms = r.now_ms();
  const auto lifetime = std::chrono::duration_cast<std::chrono::milliseconds>(r.state.options.session_lifetime);
  session.expires_unix_ms = session.created_unix_ms + lifetime.count();
  Status stored = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.CreateWebSession(session); });
  if (!stored) {
    std::string message = "Could not start a session: " + stored.error().message;
    co_return co_await SendApiError(r, 500, "InternalError", std::move(message));
  }
  r.session = session;
  r.role = role;
  auto home = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.GetBucket(user_id); });
  std::string home_bucket = home && home->owner_id == user_id ? user_id : "";
  std::string cookie = std::string(kSessionCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Lax; Max-Age=" +
                       std::to_string(lifetime.count() / 1000);
  if (r.state.options.public_url.starts_with("https://")) cookie += "; Secure";
  net::Headers headers = SecurityHeaders();
  headers.Set("Set-Cookie", cookie);
  std::string body = SessionJson(r, home_bucket);
  co_await SendJsonWithHeaders(r, status, std::move(body), std::move(headers));
}

Task<void> HandleSignOut(WebRequest& r) {
  const std::string hash = r.session->token_sha256;
  const int64_t now = r.now_ms();
  (void)co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.DeleteWebSession(hash, now); });
  net::Headers headers = SecurityHeaders();
  headers.Set("Set-Cookie", std::string(kSessionCookie) + "=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
  co_await SendJsonWithHeaders(r, 204, "", std::move(headers));
}

net::Handler MakeWebHandler(gateway::GatewayContext& context, WebOptions options) {
  auto handler = std::make_shared<WebHandler>(context, std::move(options));
  return [handler](net::Request& http, net::BodyReader& body, net::ResponseWriter& out) -> Task<void> {
    co_await handler->Handle(http, body, out);
  };
}

}  // namespace holdfast::web
