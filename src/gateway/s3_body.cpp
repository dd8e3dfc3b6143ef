#include "gateway/s3_body.h"

#include <algorithm>
#include <cctype>

namespace holdfast::gateway {

using net::Task;

namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

std::variant<std::unique_ptr<S3BodyReader>, s3::S3Error> S3BodyReader::Create(
    const net::Request& request, const s3::VerifiedRequest& auth, net::BodyReader& raw) {
  uint64_t length = auth.chunked ? auth.chunked->decoded_length_bytes : request.content_length.value_or(0);
  std::unique_ptr<S3BodyReader> body(new S3BodyReader(raw, length));
  if (auth.chunked) {
    body->decoder_.emplace(*auth.chunked);
    body->raw_buffer_.resize(64 * 1024);
  }
  // A checksum either travels as a header (checked at the end against what
  // we computed) or is announced in x-amz-trailer and arrives after the body.
  for (const auto& [name, value] : request.headers.all()) {
    auto algorithm = s3::ChecksumFromHeaderName(name);
    if (!algorithm) continue;
    if (body->checksum_) {
      return s3::MakeS3Error("InvalidRequest", "Expecting a single x-amz-checksum- header");
    }
    body->checksum_.emplace(*algorithm);
    body->expected_checksum_ = value;
  }
  if (auth.chunked) {
    for (const std::string& trailer : auth.chunked->trailer_names) {
      auto algorithm = s3::ChecksumFromHeaderName(trailer);
      if (!algorithm) continue;
      if (body->checksum_) {
        return s3::MakeS3Error("InvalidRequest", "Expecting a single x-amz-checksum- header");
      }
      body->checksum_.emplace(*algorithm);
    }
  }
  return body;
}

Result<size_t> S3BodyReader::Fail(s3::S3Error error) {
  std::string message = error.message;
  failure_ = std::move(error);
  return MakeError(Errc::kInvalidArgument, message);
}

Result<size_t> S3BodyReader::Produced(std::span<const uint8_t> bytes) {
  if (checksum_) checksum_->Update(bytes);
  decoded_bytes_ += bytes.size();
  return bytes.size();
}

std::optional<s3::S3Error> S3BodyReader::VerifyChecksum() {
  if (!checksum_) return std::nullopt;
  s3::ChecksumAlgorithm algorithm = checksum_->algorithm();
  std::optional<std::string> sent = expected_checksum_;
  if (!sent && decoder_) {
    std::string wanted(s3::ChecksumHeaderName(algorithm));
    for (const auto& [name, value] : decoder_->trailers()) {
      if (Lower(name) == wanted) sent = value;
    }
  }
  if (!sent) {
    return s3::MakeS3Error("InvalidRequest", "The x-amz-checksum trailer announced in x-amz-trailer did not arrive");
  }
  return s3::CheckChecksum(algorithm, *sent, checksum_->FinishBase64());
}

Task<Result<size_t>> S3BodyReader::Read(std::span<uint8_t> buffer) {
  if (failure_) co_return MakeError(Errc::kInvalidArgument, failure_->message);
  if (decoder_) co_return co_await ReadChunked(buffer);
  auto n = co_await raw_.Read(buffer);
  if (!n) co_return n;
  if (*n > 0) co_return Produced(buffer.first(*n));
  if (auto error = VerifyChecksum()) co_return Fail(*error);
  co_return size_t{0};
}

Task<Result<size_t>> S3BodyReader::ReadChunked(std::span<uint8_t> buffer) {
  while (true) {
    if (raw_pos_ < raw_len_ && !buffer.empty()) {
      std::span<const uint8_t> input(raw_buffer_.data() + raw_pos_, raw_len_ - raw_pos_);
      auto progress = decoder_->Decode(input, buffer);
      if (auto* error = std::get_if<s3::S3Error>(&progress)) co_return Fail(*error);
      const auto& p = std::get<s3::AwsChunkedDecoder::Progress>(progress);
      raw_pos_ += p.consumed_bytes;
      if (p.produced_bytes > 0) co_return Produced(buffer.first(p.produced_bytes));
      if (p.consumed_bytes > 0) continue;
    }
    auto n = co_await raw_.Read(raw_buffer_);
    if (!n) co_return n;
    if (*n == 0) {
      if (auto error = decoder_->Finish()) co_return Fail(*error);
      if (auto error = VerifyChecksum()) co_return Fail(*error);
      co_return size_t{0};
    }
    raw_pos_ = 0;
    raw_len_ = *n;
  }
}

}  // namespace holdfast::gateway
