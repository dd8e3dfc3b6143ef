// AwsChunkedDecoder: a state machine over the raw body, one line or one run
// of chunk data at a time. Lines (chunk headers, the CRLF after chunk data,
// trailers) are short and are gathered in a small buffer, so they may arrive
// split across any number of Decode calls; chunk data is copied straight to
// the caller's output.
#include <algorithm>
#include <cstring>

#include "common/digest.h"
#include "s3/internal.h"
#include "s3/s3_ops.h"

namespace holdfast::s3 {
namespace {

// A chunk header is ~90 bytes; the limits only stop a client from making the
// gateway buffer without end.
constexpr size_t kMaxLineBytes = 4096;
constexpr size_t kMaxTrailerBytes = 16 * 1024;
constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr std::string_view kSignatureExtension = "chunk-signature=";
constexpr std::string_view kTrailerSignature = "x-amz-trailer-signature";

enum class Phase {
  kChunkHeader,  // "<hex size>[;chunk-signature=<sig>]"
  kChunkData,
  kChunkEnd,   // the empty line after chunk data
  kFinalLine,  // the empty line after the last chunk (no trailers)
  kTrailers,   // "name:value" lines up to an empty one
  kDone
};

S3Error Malformed(const std::string& detail) {
  return MakeS3Error("InvalidArgument", "The aws-chunked request body is malformed: " + detail);
}

S3Error BadTrailer(const std::string& detail) {
  return MakeS3Error("MalformedTrailerError",
                     "The request contained trailing data that was not well-formed or did not "
                     "conform to our published schema: " +
                         detail);
}

S3Error Incomplete(const std::string& detail) { return MakeS3Error("IncompleteBody", detail); }

bool IsLowerHex64(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool IsTokenName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// Hex chunk size: 1 to 16 digits (a 64-bit size).
std::optional<uint64_t> ParseChunkSize(std::string_view hex) {
  if (hex.empty() || hex.size() > 16) return std::nullopt;
  uint64_t size = 0;
  for (char c : hex) {
    int digit = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
    if (digit < 0) return std::nullopt;
    size = size * 16 + static_cast<uint64_t>(digit);
  }
  return size;
}

}  // namespace

struct AwsChunkedDecoder::State {
  ChunkedUpload upload;
  bool signed_chunks = false;
  bool has_trailers = false;
  std::string scope;  // "date/region/service/aws4_request"
  Phase phase = Phase::kChunkHeader;
  std::optional<S3Error> error;
  std::string line;  // the line being gathered, without its end
  uint64_t chunk_remaining = 0;
  uint64_t decoded = 0;
  std::string previous_signature;
  std::string chunk_signature;  // declared by the current chunk
  Sha256Stream chunk_hash;
  bool skipped_blank = false;  // before the trailers
  size_t trailer_bytes = 0;
  std::vector<std::pair<std::string, std::string>> trailers;
  std::optional<std::string> trailer_signature;

  S3Error Fail(S3Error e) {
    error = e;
    return e;
  }

  bool SignatureMatches(std::string_view prefix, std::string_view content_sha256_hex,
                        std::string_view declared, bool with_empty_hash) {
    std::string string_to_sign = std::string(prefix) + "\n" + upload.amz_date + "\n" + scope +
                                 "\n" + previous_signature + "\n";
    if (with_empty_hash) string_to_sign += std::string(kEmptySha256) + "\n";
    string_to_sign.append(content_sha256_hex);
    std::string expected = Signature(upload.signing_key, string_to_sign);
    if (!ConstantTimeEquals(expected, declared)) return false;
    previous_signature = std::move(expected);
    return true;
  }

  std::optional<S3Error> EndChunk(std::string_view content_sha256_hex) {
    if (signed_chunks && !SignatureMatches("AWS4-HMAC-SHA256-PAYLOAD", content_sha256_hex,
                                           chunk_signature, /*with_empty_hash=*/true)) {
      return SignatureMismatch();
    }
    return std::nullopt;
  }

  std::optional<S3Error> OnChunkHeader(std::string_view line) {
    size_t semicolon = line.find(';');
    std::optional<uint64_t> size = ParseChunkSize(TrimBlanks(line.substr(0, semicolon)));
    if (!size) return Malformed("a chunk size is not 1 to 16 hexadecimal digits");
    if (signed_chunks) {
      std::string_view extension =
          semicolon == std::string_view::npos ? "" : TrimBlanks(line.substr(semicolon + 1));
      if (!extension.starts_with(kSignatureExtension) ||
          !IsLowerHex64(extension.substr(kSignatureExtension.size()))) {
        return Malformed("a chunk of a signed upload needs \"chunk-signature=<64 hex>\"");
      }
      chunk_signature = std::string(extension.substr(kSignatureExtension.size()));
    }
    if (*size > upload.decoded_length_bytes - decoded) {
      return Incomplete("The aws-chunked body holds more bytes than x-amz-decoded-content-length.");
    }
    if (*size > 0) {
      chunk_remaining = *size;
      chunk_hash = Sha256Stream();
      phase = Phase::kChunkData;
      return std::nullopt;
    }
    phase = has_trailers ? Phase::kTrailers : Phase::kFinalLine;
    return EndChunk(kEmptySha256);
  }

  std::optional<S3Error> OnTrailerLine(std::string_view line) {
    if (line.empty()) {
      if (trailers.empty() && !trailer_signature && !skipped_blank) {
        skipped_blank = true;  // some clients put a blank line before the trailers
        return std::nullopt;
      }
      return FinishTrailers();
    }
    trailer_bytes += line.size();
    if (trailer_bytes > kMaxTrailerBytes) return BadTrailer("the trailers are too long");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return BadTrailer("expected \"name:value\"");
    std::string name = AsciiLower(TrimBlanks(line.substr(0, colon)));
    std::string value(TrimBlanks(line.substr(colon + 1)));
    if (trailer_signature) return BadTrailer("a trailer follows " + std::string(kTrailerSignature));
    if (name == kTrailerSignature) {
      if (upload.mode == ChunkedUpload::Mode::kSignedWithTrailer) trailer_signature = value;
      return std::nullopt;
    }
    if (!IsTokenName(name)) return BadTrailer("bad trailer name");
    bool duplicate = std::any_of(trailers.begin(), trailers.end(),
                                 [&](const auto& trailer) { return trailer.first == name; });
    if (duplicate) return BadTrailer("duplicate trailer " + name);
    trailers.emplace_back(std::move(name), std::move(value));
    return std::nullopt;
  }

  // The trailers must be exactly those x-amz-trailer declared (it was signed
  // with the request, so a trailer cannot be dropped unnoticed), and signed.
  std::optional<S3Error> FinishTrailers() {
    phase = Phase::kDone;
    const std::vector<std::string>& declared = upload.trailer_names;
    for (const auto& [name, value] : trailers) {
      if (std::find(declared.begin(), declared.end(), name) == declared.end()) {
        return BadTrailer("trailer " + name + " was not declared in x-amz-trailer");
      }
    }
    if (trailers.size() != declared.size()) {
      return BadTrailer("a trailer declared in x-amz-trailer is missing");
    }
    if (upload.mode != ChunkedUpload::Mode::kSignedWithTrailer || trailers.empty()) {
      return std::nullopt;
    }
    if (!trailer_signature) {
      return MakeS3Error(
          "SignatureDoesNotMatch",
          "The trailing headers are not signed: x-amz-trailer-signature is missing.");
    }
    std::string canonical;
    for (const auto& [name, value] : trailers) canonical += name + ":" + value + "\n";
    if (!SignatureMatches("AWS4-HMAC-SHA256-TRAILER", HexLower(Sha256(AsBytes(canonical))),
                          *trailer_signature, /*with_empty_hash=*/false)) {
      return SignatureMismatch();
    }
    return std::nullopt;
  }

  std::optional<S3Error> OnLine(std::string_view line) {
    switch (phase) {
      case Phase::kChunkHeader:
        return OnChunkHeader(line);
      case Phase::kChunkEnd:
        if (!line.empty()) return Malformed("chunk data is longer than its declared size");
        phase = Phase::kChunkHeader;
        return std::nullopt;
      case Phase::kFinalLine:
        if (!line.empty()) return Malformed("unexpected data after the last chunk");
        phase = Phase::kDone;
        return std::nullopt;
      case Phase::kTrailers:
        return OnTrailerLine(line);
      default:
        return Malformed("unexpected data after the end of the body");
    }
  }

  // Gathers bytes up to the end of a line, then acts on the whole line.
  std::optional<S3Error> TakeLineBytes(std::span<const uint8_t> input, size_t* used) {
    const uint8_t* newline =
        static_cast<const uint8_t*>(std::memchr(input.data(), '\n', input.size()));
    *used = newline ? static_cast<size_t>(newline - input.data()) + 1 : input.size();
    if (line.size() + *used > kMaxLineBytes) return Malformed("a line is too long");
    line.append(reinterpret_cast<const char*>(input.data()), *used);
    if (!newline) return std::nullopt;
    line.pop_back();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string complete = std::move(line);
    line.clear();
    return OnLine(complete);
  }

  // Copies chunk data out; returns bytes taken (0: no room in the output).
  std::optional<S3Error> TakeData(std::span<const uint8_t> input, std::span<uint8_t> output,
                                  size_t* used) {
    *used = static_cast<size_t>(
        std::min<uint64_t>(chunk_remaining, std::min(input.size(), output.size())));
    if (*used == 0) return std::nullopt;
    std::memcpy(output.data(), input.data(), *used);
    if (signed_chunks) chunk_hash.Update(input.first(*used));
    chunk_remaining -= *used;
    decoded += *used;
    if (chunk_remaining > 0) return std::nullopt;
    phase = Phase::kChunkEnd;
    return EndChunk(signed_chunks ? HexLower(chunk_hash.Finish()) : std::string());
  }
};

AwsChunkedDecoder::AwsChunkedDecoder(ChunkedUpload upload) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.signed_chunks = upload.mode != ChunkedUpload::Mode::kUnsignedWithTrailer;
  s.has_trailers = upload.mode != ChunkedUpload::Mode::kSigned;
  s.scope =
      upload.scope.date + "/" + upload.scope.region + "/" + upload.scope.service + "/aws4_request";
  s.previous_signature = upload.seed_signature;
  s.upload = std::move(upload);
}

AwsChunkedDecoder::~AwsChunkedDecoder() = default;
AwsChunkedDecoder::AwsChunkedDecoder(AwsChunkedDecoder&&) noexcept = default;
AwsChunkedDecoder& AwsChunkedDecoder::operator=(AwsChunkedDecoder&&) noexcept = default;

std::variant<AwsChunkedDecoder::Progress, S3Error> AwsChunkedDecoder::Decode(
    std::span<const uint8_t> input, std::span<uint8_t> output) {
  State& s = *state_;
  if (s.error) return *s.error;
  Progress progress;
  while (progress.consumed_bytes < input.size()) {
    std::span<const uint8_t> rest = input.subspan(progress.consumed_bytes);
    if (s.phase == Phase::kDone) return s.Fail(Malformed("data after the end of the body"));
    size_t used = 0;
    std::optional<S3Error> error;
    if (s.phase == Phase::kChunkData) {
      error = s.TakeData(rest, output.subspan(progress.produced_bytes), &used);
      progress.produced_bytes += used;
      if (used == 0) break;  // the output is full
    } else {
      error = s.TakeLineBytes(rest, &used);
    }
    progress.consumed_bytes += used;
    if (error) return s.Fail(*error);
  }
  return progress;
}

std::optional<S3Error> AwsChunkedDecoder::Finish() {
  State& s = *state_;
  if (s.error) return s.error;
  if (!s.line.empty() || s.phase == Phase::kChunkHeader || s.phase == Phase::kChunkData ||
      s.phase == Phase::kChunkEnd) {
    return s.Fail(Incomplete("The aws-chunked request body ended before its last chunk."));
  }
  // A missing final CRLF is forgiven: everything before it was complete.
  if (s.phase == Phase::kTrailers) {
    if (auto error = s.FinishTrailers()) return s.Fail(*error);
  }
  s.phase = Phase::kDone;
  if (s.decoded != s.upload.decoded_length_bytes) {
    return s.Fail(
        Incomplete("The aws-chunked body holds fewer bytes than "
                   "x-amz-decoded-content-length."));
  }
  return std::nullopt;
}

bool AwsChunkedDecoder::done() const { return state_->phase == Phase::kDone; }

uint64_t AwsChunkedDecoder::decoded_bytes() const { return state_->decoded; }

const std::vector<std::pair<std::string, std::string>>& AwsChunkedDecoder::trailers() const {
  return state_->trailers;
}

}  // namespace holdfast::s3
