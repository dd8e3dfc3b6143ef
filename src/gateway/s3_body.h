// The body of an S3 write as the object sees it: aws-chunked framing
// removed (every chunk signature verified) and x-amz-checksum-* values
// checked, whether they came as headers or as trailers.
//
// Read() returns 0 (end of body) only once the whole body has been verified;
// any failure is an error from Read(), with the S3 error to report kept in
// failure(). Consumers therefore commit nothing before they have seen the
// end of the body (WriteObject reads one byte past the declared length to
// see it).
#pragma once

#include <memory>
#include <optional>
#include <variant>
#include <vector>

#include "net/http.h"
#include "s3/s3.h"
#include "s3/s3_ops.h"

namespace holdfast::gateway {

class S3BodyReader final : public net::BodyReader {
 public:
  // For `request`, authenticated as `auth`, whose raw body is `raw`.
  // Errors: InvalidRequest for unknown or conflicting checksum headers.
  static std::variant<std::unique_ptr<S3BodyReader>, s3::S3Error> Create(
      const net::Request& request, const s3::VerifiedRequest& auth, net::BodyReader& raw);

  net::Task<Result<size_t>> Read(std::span<uint8_t> buffer) override;
  uint64_t bytes_read() const override { return decoded_bytes_; }

  // The object's length: x-amz-decoded-content-length for aws-chunked
  // bodies, Content-Length otherwise.
  uint64_t content_length() const { return content_length_; }
  const std::optional<s3::S3Error>& failure() const { return failure_; }

 private:
  S3BodyReader(net::BodyReader& raw, uint64_t content_length) : raw_(raw), content_length_(content_length) {}
  net::Task<Result<size_t>> ReadChunked(std::span<uint8_t> buffer);
  Result<size_t> Fail(s3::S3Error error);
  Result<size_t> Produced(std::span<const uint8_t> bytes);
  // At the end of the body: the checksum the client sent, if any.
  std::optional<s3::S3Error> VerifyChecksum();

  net::BodyReader& raw_;
  uint64_t content_length_;
  uint64_t decoded_bytes_ = 0;
  std::optional<s3::AwsChunkedDecoder> decoder_;
  std::vector<uint8_t> raw_buffer_;
  size_t raw_pos_ = 0, raw_len_ = 0;
  std::optional<s3::Checksum> checksum_;
  std::optional<std::string> expected_checksum_;  // from a header; nullopt: from a trailer
  std::optional<s3::S3Error> failure_;
};

}  // namespace holdfast::gateway
