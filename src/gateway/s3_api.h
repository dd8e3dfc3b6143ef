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

}  // namespace holdfast::gateway
