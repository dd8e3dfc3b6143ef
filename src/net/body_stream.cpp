#include "net/body_stream.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstring>
#include <string>

namespace holdfast::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// Framing reads take this much at a time; payload reads go to the caller.
constexpr size_t kFillBytes = 64 * 1024;
// A chunk-size line, extensions included (Beast's own limit is similar).
constexpr size_t kMaxChunkLineBytes = 4096;
constexpr uint64_t kMaxTrailerBytes = 64 * 1024;
constexpr uint64_t kMaxChunkBytes = uint64_t{1} << 60;

Error Broken(const std::string& what) { return MakeError(Errc::kUnavailable, "message body: " + what); }

Error ReadFailed(const beast::error_code& ec) {
  if (ec == asio::error::eof) return Broken("the peer closed the connection before the body ended");
  return Broken(ec.message());
}

std::string_view Buffered(const beast::flat_buffer& buffered) {
  return {static_cast<const char*>(buffered.data().data()), buffered.size()};
}

}  // namespace

std::optional<uint64_t> ParseChunkSizeLine(std::string_view line) {
  uint64_t size = 0;
  size_t digits = 0;
  for (; digits < line.size(); ++digits) {
    const char c = line[digits];
    uint64_t value;
    if (c >= '0' && c <= '9') {
      value = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      value = static_cast<uint64_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      value = static_cast<uint64_t>(c - 'A' + 10);
    } else {
      break;
    }
    if (size > (kMaxChunkBytes >> 4)) return std::nullopt;
    size = size * 16 + value;
  }
  if (digits == 0 || size > kMaxChunkBytes) return std::nullopt;
  // chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ): its content is
  // ignored, but no control character may hide in it.
  const std::string_view rest = line.substr(digits);
  const size_t first = rest.find_first_not_of(" \t");
  if (first == std::string_view::npos) return size;
  if (rest[first] != ';') return std::nullopt;
  for (const char c : rest) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7f) return std::nullopt;
  }
  return size;
}

void BodyStream::Start(Framing framing, uint64_t length) {
  chunked_ = framing == Framing::kChunked;
  left_ = 0;
  trailer_bytes_ = 0;
  switch (framing) {
    case Framing::kEmpty: state_ = State::kDone; break;
    case Framing::kLength:
      left_ = length;
      state_ = length == 0 ? State::kDone : State::kData;
      break;
    case Framing::kChunked: state_ = State::kChunkSize; break;
    case Framing::kUntilClose: state_ = State::kUntilClose; break;
  }
}

std::optional<uint64_t> BodyStream::known_remaining() const {
  if (state_ == State::kDone) return 0;
  if (!chunked_ && state_ == State::kData) return left_;
  return std::nullopt;
}

Task<Status> BodyStream::Fill(beast::tcp_stream& stream, beast::flat_buffer& buffered,
                              std::chrono::steady_clock::time_point deadline) {
  stream.expires_at(deadline);
  auto [ec, n] = co_await stream.async_read_some(buffered.prepare(kFillBytes), kNoThrow);
  if (ec) co_return ReadFailed(ec);
  buffered.commit(n);
  co_return Status::Ok();
}

Task<Result<size_t>> BodyStream::NextLine(beast::tcp_stream& stream, beast::flat_buffer& buffered,
                                          std::chrono::steady_clock::time_point deadline,
                                          size_t max_bytes) {
  for (;;) {
    const std::string_view view = Buffered(buffered);
    const size_t newline = view.find('\n');
    if (newline != std::string_view::npos) {
      if (newline == 0 || view[newline - 1] != '\r') co_return Broken("a framing line does not end in CRLF");
      if (newline - 1 > max_bytes) co_return Broken("a chunk-size or trailer line is too long");
      co_return newline - 1;
    }
    if (view.size() > max_bytes + 1) co_return Broken("a chunk-size or trailer line is too long");
    Status filled = co_await Fill(stream, buffered, deadline);
    if (!filled) co_return filled.error();
  }
}

Task<Status> BodyStream::ReadFraming(beast::tcp_stream& stream, beast::flat_buffer& buffered,
                                     std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    if (state_ == State::kChunkDataEnd) {
      while (buffered.size() < 2) {
        Status filled = co_await Fill(stream, buffered, deadline);
        if (!filled) co_return filled;
      }
      if (Buffered(buffered).substr(0, 2) != "\r\n") co_return Broken("a chunk is longer than its size says");
      buffered.consume(2);
      state_ = State::kChunkSize;
    } else if (state_ == State::kChunkSize) {
      Result<size_t> line = co_await NextLine(stream, buffered, deadline, kMaxChunkLineBytes);
      if (!line) co_return line.error();
      const std::optional<uint64_t> size = ParseChunkSizeLine(Buffered(buffered).substr(0, *line));
      if (!size) co_return Broken("malformed chunk size");
      buffered.consume(*line + 2);
      if (*size == 0) {
        state_ = State::kTrailers;
      } else {
        left_ = *size;
        state_ = State::kData;
        co_return Status::Ok();
      }
    } else if (state_ == State::kTrailers) {
      Result<size_t> line = co_await NextLine(stream, buffered, deadline, kMaxTrailerBytes);
      if (!line) co_return line.error();
      trailer_bytes_ += *line + 2;
      if (trailer_bytes_ > kMaxTrailerBytes) co_return Broken("the trailer fields are too large");
      buffered.consume(*line + 2);
      if (*line == 0) {
        state_ = State::kDone;
        co_return Status::Ok();
      }
    } else {
      co_return Status::Ok();
    }
  }
}

Task<Result<size_t>> BodyStream::Read(beast::tcp_stream& stream, beast::flat_buffer& buffered,
                                      std::span<uint8_t> out,
                                      std::chrono::steady_clock::time_point deadline) {
  if (out.empty()) co_return MakeError(Errc::kInvalidArgument, "a body read into an empty buffer");
  if (chunked_ && state_ != State::kData && state_ != State::kDone) {
    Status framing = co_await ReadFraming(stream, buffered, deadline);
    if (!framing) co_return framing.error();
  }
  if (state_ == State::kDone) co_return size_t{0};
  size_t want = out.size();
  if (state_ == State::kData) want = static_cast<size_t>(std::min<uint64_t>(want, left_));
  size_t got = 0;
  if (buffered.size() > 0) {
    // Read past the head (or a chunk-size line) already: hand those over.
    got = std::min(want, buffered.size());
    std::memcpy(out.data(), buffered.data().data(), got);
    buffered.consume(got);
  } else {
    stream.expires_at(deadline);
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(out.data(), want), kNoThrow);
    if (ec == asio::error::eof && state_ == State::kUntilClose) {
      state_ = State::kDone;
      co_return size_t{0};
    }
    if (ec) co_return ReadFailed(ec);
    got = n;
  }
  if (state_ == State::kData) {
    left_ -= got;
    if (left_ == 0) state_ = chunked_ ? State::kChunkDataEnd : State::kDone;
  }
  co_return got;
}

}  // namespace holdfast::net
