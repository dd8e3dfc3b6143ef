// web: the web interface (docs/web.md). Start here for web/.
//
// The gateway serves it on a port of its own (GatewayOptions::web_port with
// the handler MakeWebHandler returns): the built single-page application
// from `root`, a small JSON API for accounts, sessions, access keys, share
// links, usage, search and export, the operator's dashboard data, and the
// S3 API under /api/s3/ authenticated by the session instead of SigV4 --
// so uploads from a browser take exactly the S3 write path.
//
// Files of this layer:
//   passwords.h        Argon2id hashing of account and link passwords
//   attempt_limiter.h  failed sign-in (and link password) rate limiting
//   tar.h              the tar stream of "download everything"
//   web_internal.h     the request context shared by the handlers below
//   web_handler.cpp    routing, static files, sessions, CSRF
//   web_accounts.cpp   sign-up, sign-in, access keys, usage, search, dashboard
//   web_links.cpp      share links, their downloads, and the export
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "gateway/context.h"
#include "net/http.h"

namespace holdfast::web {

struct WebOptions {
  // The built application: index.html and assets/ (`make` puts it in
  // build/web/).
  std::filesystem::path root;
  // Where people reach the interface, e.g. "https://files.example.org" behind
  // a TLS proxy: the origin CSRF checks compare with, and https:// makes the
  // session cookie Secure. "" = http:// and the request's Host header.
  std::string public_url;
  // The S3 endpoint shown on the settings page beside a new access key.
  std::string s3_endpoint;
  std::chrono::hours session_lifetime{24 * 7};
};

net::Handler MakeWebHandler(gateway::GatewayContext& context, WebOptions options);

}  // namespace holdfast::web
