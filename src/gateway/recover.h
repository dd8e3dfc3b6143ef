// recover: rebuilds the catalogue from the self-describing shards on the
// nodes, after the metadata store was lost (`holdfast recover`,
// POST /_holdfast/v1/recover; docs/recovery.md).
//
// The operator starts a gateway on an empty metadata store with the same
// cluster secret; the nodes register with it by their heartbeats. Recovery
// then
//   1. asks every node that is up for its committed shards with their
//      footers (GET /v1/shards, paged; each footer validated by its node);
//   2. groups the shards by version id and keeps, per version, the shape
//      (size, ETag, k, m, block size, block count) that most distinct shard
//      indexes agree on; a version is recoverable when at least k indexes
//      agree, and its other indexes are recorded missing for repair to
//      rebuild;
//   3. creates each bucket that is not in the store (owner: the --owner
//      given, because shards do not record owners), with versioning enabled
//      when some key comes back with more than one version -- nothing found
//      is ever replaced, so nothing is lost;
//   4. commits every recoverable version through the store's normal write
//      path (oldest first, so the newest becomes the current one), with the
//      content type, user metadata and headers its footers carry; a
//      multipart object is rebuilt from its parts (shards carry the upload
//      id and part number): the upload is recreated, its parts committed and
//      completed with the ETag S3 computes (MD5 of the parts' MD5s, "-N").
// Versions already in the store are left alone, so recovery can run again
// (e.g. once a node that was down comes back).
//
// What shards cannot tell: delete markers, object lock retention and legal
// holds set after the write, bucket settings, users and keys, and which
// parts of an upload still in progress would have been completed (such an
// upload comes back as an object of all its parts). A deleted version whose
// shards GC had not removed yet comes back too. The metadata backup is what
// restores those exactly; recovery from shards is what remains when it is
// gone as well.
#pragma once

#include <string>
#include <string_view>

#include "gateway/context.h"
#include "net/http.h"

namespace holdfast::gateway {

inline constexpr std::string_view kRecoverPath = "/_holdfast/v1/recover";

// POST ?owner=USER starts recovery (409 if one is running); GET reports its
// progress and outcome.
net::Task<void> HandleRecover(GatewayContext& context, const net::Request& http,
                              net::ResponseWriter& out);

}  // namespace holdfast::gateway
