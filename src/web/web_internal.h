// What the web handlers share (internal to web/): the per-process state,
// the per-request context and the response helpers.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/context.h"
#include "meta/meta_store.h"
#include "net/http.h"
#include "web/attempt_limiter.h"
#include "web/web.h"

namespace holdfast::web {

// Per gateway process.
struct WebState {
  explicit WebState(WebOptions options);
  const WebOptions options;
  // docs/web.md "Sign-in rate limiting".
  AttemptLimiter failures_by_name{5, 15 * 60 * 1000};
  AttemptLimiter failures_by_address{20, 15 * 60 * 1000};
  AttemptLimiter failures_by_link{5, 15 * 60 * 1000};
  // Signs download tokens of password-protected links; new each start, so a
  // restart ends the tokens handed out (the link page hands out new ones).
  std::string download_token_key;
};

struct WebRequest {
  net::Request& http;
  net::BodyReader& body;
  net::ResponseWriter& out;
  gateway::GatewayContext& ctx;
  WebState& state;
  std::vector<std::pair<std::string, std::string>> query;  // decoded
  // Set by RequireSession.
  std::optional<meta::WebSession> session;
  meta::WebRole role = meta::WebRole::kUser;

  std::string QueryValue(std::string_view name) const;  // "" if absent
  const std::string& user() const { return session->user_id; }
  int64_t now_ms() const { return ctx.clock.NowUnixMs(); }
};

// Headers every web response carries: no framing, no sniffing, no
// referrer (share link ids are in URLs), nothing loaded from elsewhere.
net::Headers SecurityHeaders();
net::Task<void> SendJson(WebRequest& r, int status, std::string body);
net::Task<void> SendJsonWithHeaders(WebRequest& r, int status, std::string body, net::Headers headers);
// {"code": code, "error": message}.
net::Task<void> SendApiError(WebRequest& r, int status, std::string code, std::string message);
// A small page for people (a refused share link opened in a browser).
net::Task<void> SendHtmlPage(WebRequest& r, int status, std::string title, std::string message);
// The JSON object body of an API request (at most 64 KiB); on failure the
// 400 is sent and nullopt returned.
net::Task<std::optional<nlohmann::json>> ReadJsonBody(WebRequest& r);
// Loads the session from the cookie into r.session; sends 401 and returns
// false if there is none.
net::Task<bool> RequireSession(WebRequest& r);
std::string SessionJson(const WebRequest& r, const std::string& home_bucket);
std::string HtmlEscape(std::string_view text);

// web_accounts.cpp
net::Task<void> HandleSignUp(WebRequest& r);
net::Task<void> HandleSignIn(WebRequest& r);
net::Task<void> HandleSignOut(WebRequest& r);
net::Task<void> HandleSession(WebRequest& r);
net::Task<void> HandleKeys(WebRequest& r, std::string key_id);  // "" = the collection
net::Task<void> HandleUsage(WebRequest& r);
net::Task<void> HandleSearch(WebRequest& r);
net::Task<void> HandleAdmin(WebRequest& r, std::string what);  // "status" or "drill"
// A new session for `user_id`: stored, its cookie set and the session JSON sent.
net::Task<void> StartSession(WebRequest& r, std::string user_id, meta::WebRole role, int status);

// web_links.cpp
net::Task<void> HandleLinks(WebRequest& r, std::string link_id);  // "" = the collection
net::Task<void> HandlePublicLink(WebRequest& r, std::string link_id, bool unlock);
net::Task<void> HandleLinkDownload(WebRequest& r, std::string link_id);
net::Task<void> HandleExport(WebRequest& r);

}  // namespace holdfast::web
