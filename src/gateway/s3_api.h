// The S3 front door: turns one HTTP request into one S3 operation.
//
// Flow of a request: internal API paths (/_holdfast/...) go to the cluster
// handler; everything else is authenticated with SigV4, split into bucket
// and key, routed by method and sub-resource, and answered with the S3
// response or an S3 error document (s3/). Object data goes through
// WriteObject / OpenObjectReader; metadata through the MetaStore.
#pragma once

#include <string>

#include "gateway/context.h"
#include "net/http.h"

namespace holdfast::gateway {

// `cluster_secret` authenticates nodes' heartbeats on the internal API.
net::Handler MakeGatewayHandler(GatewayContext& context, std::string cluster_secret);

// Serves one S3 request whose caller was authenticated by other means: the
// web interface's session (web/web.h, docs/web.md). `user_id` is the caller
// (never empty); `http.path` must already be the S3 path ("/bucket/key").
// The body is taken as UNSIGNED-PAYLOAD (the session, not a signature,
// vouches for the request; TCP and the shards' checksums for the bytes).
net::Task<void> HandleS3AsUser(GatewayContext& context, net::Request& http, net::BodyReader& body,
                               net::ResponseWriter& out, std::string user_id);

}  // namespace holdfast::gateway
