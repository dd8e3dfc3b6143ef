// Internal to net/: reads an HTTP/1.1 message body (request or response)
// from the socket straight into the caller's buffer.
//
// Beast's parser reads every byte into its own buffer first and then copies
// the body out of it: one more pass over each received byte, and a socket
// read per 64 KiB. The server and the client let Beast parse the head only;
// after it, BodyStream takes the framing (Content-Length, chunked, or until
// the peer closes) and receives payload bytes directly where the caller wants
// them. Only the bytes already read past the head, chunk-size lines and
// trailers pass through the connection's `buffered` bytes; whatever follows
// the body there (a pipelined request) stays for the next head.
//
// Chunked framing follows RFC 9112 section 7.1: hex chunk sizes with optional
// extensions (ignored), CRLF line ends, trailer fields after the last chunk
// (read and discarded; nothing in Holdfast uses HTTP trailers).
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "net/http.h"

namespace holdfast::net {

// The size announced by a chunk-size line (without its CRLF): hex digits,
// then optionally whitespace and ";" extensions. Nullopt if malformed or
// larger than 2^60 (no real chunk is; the limit keeps sums from overflowing).
std::optional<uint64_t> ParseChunkSizeLine(std::string_view line);

class BodyStream {
 public:
  enum class Framing {
    kEmpty,       // no body (or already complete)
    kLength,      // Content-Length
    kChunked,     // Transfer-Encoding: chunked
    kUntilClose,  // a response without either: the body ends when the peer closes
  };

  // Starts a new body with `framing` (`length` for kLength).
  void Start(Framing framing, uint64_t length = 0);
  bool done() const { return state_ == State::kDone; }
  // Payload bytes known to be left: exact for kLength, nullopt when the
  // framing does not tell (chunked, until close).
  std::optional<uint64_t> known_remaining() const;

  // Reads up to out.size() body bytes (out must not be empty); 0 = the body
  // is complete. Every socket read is bounded by `deadline`. kUnavailable
  // if the peer closed, stalled or broke the framing before the body ended
  // (a truncated body is never reported complete); the connection cannot
  // carry another message after an error.
  Task<Result<size_t>> Read(boost::beast::tcp_stream& stream, boost::beast::flat_buffer& buffered,
                            std::span<uint8_t> out, std::chrono::steady_clock::time_point deadline);

 private:
  enum class State { kData, kChunkSize, kChunkDataEnd, kTrailers, kUntilClose, kDone };

  // Reads more bytes into `buffered` (for framing lines).
  Task<Status> Fill(boost::beast::tcp_stream& stream, boost::beast::flat_buffer& buffered,
                    std::chrono::steady_clock::time_point deadline);
  // Waits until `buffered` starts with a whole CRLF-terminated line of at
  // most `max_bytes`; returns its length without the CRLF.
  Task<Result<size_t>> NextLine(boost::beast::tcp_stream& stream, boost::beast::flat_buffer& buffered,
                                std::chrono::steady_clock::time_point deadline, size_t max_bytes);
  // Consumes chunk-size lines, chunk-ending CRLFs and trailers until payload
  // bytes (or the end) come next.
  Task<Status> ReadFraming(boost::beast::tcp_stream& stream, boost::beast::flat_buffer& buffered,
                           std::chrono::steady_clock::time_point deadline);

  State state_ = State::kDone;
  bool chunked_ = false;
  uint64_t left_ = 0;           // payload bytes left in the body (kLength) or chunk
  uint64_t trailer_bytes_ = 0;  // bounded so a peer cannot stream trailers forever
};

}  // namespace holdfast::net
