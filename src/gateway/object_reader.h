// The GET data path: read a byte range of an object version from any k of
// its shards, verifying every block, and hand it out in stripe-sized pieces.
//
// Data shards are preferred (the code is systematic: no decoding needed when
// they are all readable). When a shard's node is down, its stream breaks, or
// a block fails verification, the reader switches to another shard from that
// stripe on and rebuilds the missing data blocks (degraded read). A corrupt
// block or a shard its node no longer has is reported by marking that shard
// missing, so repair rebuilds it.
//
// Open() fails (kUnavailable, naming what is missing) before anything is sent
// when fewer than k shards can be opened; a failure later, mid-body, is
// returned by Next() and the caller must abort the response: the client then
// sees a truncated transfer, never wrong bytes.
#pragma once

#include <memory>
#include <span>

#include "gateway/context.h"
#include "net/http.h"

namespace holdfast::gateway {

class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  // The next piece of the range (empty when done). The span stays valid
  // until the next call.
  virtual net::Task<Result<std::span<const uint8_t>>> Next() = 0;
};

// Reads bytes [first_byte, first_byte + length) of `version` (a plain
// object or, part after part, a multipart version). `version` must outlive
// the reader.
net::Task<Result<std::unique_ptr<ObjectReader>>> OpenObjectReader(GatewayContext& context,
                                                                  const meta::ObjectVersion& version,
                                                                  uint64_t first_byte,
                                                                  uint64_t length);

}  // namespace holdfast::gateway
