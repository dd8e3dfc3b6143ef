// AwsChunkedDecoder: the two worked examples of the S3 API Reference
// ("Transferring Payload in Multiple Chunks" and "Including Trailing
// Headers"), verified from the request head through VerifyRequest to the
// last trailer, then bodies made here, split every way, and one test per way
// a body is refused.
#include <gtest/gtest.h>

#include <random>

#include "common/digest.h"
#include "s3/s3.h"
#include "s3/s3_ops.h"

namespace holdfast::s3 {
namespace {

constexpr int64_t kMay24Ms = 1369353600000;  // 2013-05-24T00:00:00Z
const std::string kAccessKey = "AKIAIOSFODNN7EXAMPLE";
const std::string kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const std::string kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// ---- The documented examples ---------------------------------------------------

// PUT /examplebucket/chunkObject.txt: 66560 bytes of 'a' in chunks of 65536,
// 1024 and 0 bytes.
const std::string kPayload(66560, 'a');
const std::string kSeedSignature =
    "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
const std::string kChunkSignatures[3] = {
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"};
// The same upload with a CRC32C trailer.
const std::string kTrailerSeedSignature =
    "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";
const std::string kTrailerChunkSignatures[3] = {
    "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
    "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
    "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"};
const std::string kTrailerSignature =
    "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435";

net::Request DocumentedRequest(bool with_trailer) {
  net::Request request;
  request.method = "PUT";
  request.target = request.path = "/examplebucket/chunkObject.txt";
  request.headers.Add("Host", "s3.amazonaws.com");
  request.headers.Add("x-amz-date", "20130524T000000Z");
  request.headers.Add("x-amz-storage-class", "REDUCED_REDUNDANCY");
  request.headers.Add("x-amz-content-sha256",
                      std::string(with_trailer ? kStreamingPayloadTrailer : kStreamingPayload));
  request.headers.Add("Content-Encoding", "aws-chunked");
  request.headers.Add("x-amz-decoded-content-length", "66560");
  if (with_trailer) request.headers.Add("x-amz-trailer", "x-amz-checksum-crc32c");
  request.content_length = 66824;
  // The trailer example's canonical request signs no content-length.
  std::string signed_headers =
      with_trailer ? "content-encoding;host;x-amz-content-sha256;x-amz-date;"
                     "x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer"
                   : "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
                     "x-amz-decoded-content-length;x-amz-storage-class";
  request.headers.Add("Authorization",
                      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                      "aws4_request,SignedHeaders=" +
                          signed_headers +
                          ",Signature=" + (with_trailer ? kTrailerSeedSignature : kSeedSignature));
  return request;
}

std::string DocumentedBody(const std::string (&signatures)[3], const std::string& trailers) {
  return "10000;chunk-signature=" + signatures[0] + "\r\n" + kPayload.substr(0, 65536) + "\r\n" +
         "400;chunk-signature=" + signatures[1] + "\r\n" + kPayload.substr(65536) + "\r\n" +
         "0;chunk-signature=" + signatures[2] + "\r\n" + trailers + "\r\n";
}

const std::string kTrailerLines =
    "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:" + kTrailerSignature + "\r\n";

ChunkedUpload VerifiedUpload(bool with_trailer) {
  SecretLookup lookup = [](const std::string& id) -> Result<meta::AccessKey> {
    return meta::AccessKey{id, kSecret, "user-1"};
  };
  auto outcome = VerifyRequest(DocumentedRequest(with_trailer), lookup, kMay24Ms);
  if (auto* error = std::get_if<S3Error>(&outcome)) {
    ADD_FAILURE() << error->code << ": " << error->message;
    return {};
  }
  return std::get<VerifiedRequest>(outcome).chunked.value();
}

// ---- Driving the decoder ---------------------------------------------------------

struct Decoded {
  std::string payload;
  std::optional<S3Error> error;
  std::vector<std::pair<std::string, std::string>> trailers;
};

// Feeds `body` in pieces of `input_step` bytes into an output of
// `output_size` bytes, as a body reader would, then finishes.
Decoded DecodeAll(const ChunkedUpload& upload, std::string_view body, size_t input_step,
                  size_t output_size) {
  AwsChunkedDecoder decoder(upload);
  Decoded out;
  std::vector<uint8_t> output(output_size);
  size_t offset = 0;
  while (offset < body.size()) {
    std::span<const uint8_t> piece = AsBytes(body.substr(offset, input_step));
    while (!piece.empty()) {
      auto progress = decoder.Decode(piece, output);
      if (auto* error = std::get_if<S3Error>(&progress)) {
        out.error = *error;
        return out;
      }
      auto [consumed, produced] = std::get<AwsChunkedDecoder::Progress>(progress);
      EXPECT_TRUE(consumed > 0 || produced > 0) << "no progress";
      if (consumed == 0 && produced == 0) return out;
      out.payload.append(reinterpret_cast<const char*>(output.data()), produced);
      piece = piece.subspan(consumed);
    }
    offset += input_step;
  }
  out.error = decoder.Finish();
  if (!out.error) {
    EXPECT_TRUE(decoder.done());
    EXPECT_EQ(decoder.decoded_bytes(), out.payload.size());
  }
  out.trailers = decoder.trailers();
  return out;
}

std::string Code(const Decoded& decoded) { return decoded.error ? decoded.error->code : "OK"; }

TEST(AwsChunked, TheDocumentedSignedUpload) {
  ChunkedUpload upload = VerifiedUpload(/*with_trailer=*/false);
  ASSERT_EQ(upload.seed_signature, kSeedSignature);
  std::string body = DocumentedBody(kChunkSignatures, "");
  ASSERT_EQ(body.size(), 66824u);  // the documented Content-Length
  for (auto [input_step, output_size] : std::vector<std::pair<size_t, size_t>>{
           {body.size(), 1 << 20}, {1, 7}, {7, 1}, {1000, 4096}, {65627, 65536}, {90, 100000}}) {
    SCOPED_TRACE(std::to_string(input_step) + "/" + std::to_string(output_size));
    Decoded decoded = DecodeAll(upload, body, input_step, output_size);
    ASSERT_EQ(Code(decoded), "OK") << decoded.error->message;
    EXPECT_EQ(decoded.payload, kPayload);
    EXPECT_TRUE(decoded.trailers.empty());
  }
}

TEST(AwsChunked, TheDocumentedUploadWithATrailer) {
  ChunkedUpload upload = VerifiedUpload(/*with_trailer=*/true);
  ASSERT_EQ(upload.mode, ChunkedUpload::Mode::kSignedWithTrailer);
  std::string body = DocumentedBody(kTrailerChunkSignatures, kTrailerLines);
  for (size_t input_step : {body.size(), size_t{1}, size_t{13}}) {
    Decoded decoded = DecodeAll(upload, body, input_step, 8192);
    ASSERT_EQ(Code(decoded), "OK") << decoded.error->message;
    EXPECT_EQ(decoded.payload, kPayload);
    ASSERT_EQ(decoded.trailers.size(), 1u);
    EXPECT_EQ(decoded.trailers[0].first, "x-amz-checksum-crc32c");
    EXPECT_EQ(decoded.trailers[0].second, "sOO8/Q==");
  }
  // The trailer is the payload's CRC32C, as the gateway will check it.
  Checksum crc32c(ChecksumAlgorithm::kCrc32c);
  crc32c.Update(AsBytes(kPayload));
  EXPECT_EQ(crc32c.FinishBase64(), "sOO8/Q==");
}

TEST(AwsChunked, AnyChangeToASignedBodyIsCaught) {
  ChunkedUpload upload = VerifiedUpload(/*with_trailer=*/false);
  std::string body = DocumentedBody(kChunkSignatures, "");
  std::string changed = body;
  changed[200] = 'b';  // chunk data
  EXPECT_EQ(Code(DecodeAll(upload, changed, 4096, 4096)), "SignatureDoesNotMatch");
  // The chunks swapped, each with its own signature: the chain breaks.
  std::string swapped =
      DocumentedBody({kChunkSignatures[1], kChunkSignatures[0], kChunkSignatures[2]}, "");
  EXPECT_EQ(Code(DecodeAll(upload, swapped, 4096, 4096)), "SignatureDoesNotMatch");
  // The final chunk's signature protects against truncation.
  std::string last =
      DocumentedBody({kChunkSignatures[0], kChunkSignatures[1], kChunkSignatures[1]}, "");
  EXPECT_EQ(Code(DecodeAll(upload, last, 4096, 4096)), "SignatureDoesNotMatch");
  ChunkedUpload other_seed = upload;
  other_seed.seed_signature[0] = '5';
  EXPECT_EQ(Code(DecodeAll(other_seed, body, 4096, 4096)), "SignatureDoesNotMatch");
}

TEST(AwsChunked, AnyChangeToSignedTrailersIsCaught) {
  ChunkedUpload upload = VerifiedUpload(/*with_trailer=*/true);
  auto decode = [&](const std::string& trailers) {
    return Code(DecodeAll(upload, DocumentedBody(kTrailerChunkSignatures, trailers), 65536, 65536));
  };
  EXPECT_EQ(decode("x-amz-checksum-crc32c:sOO8/A==\r\nx-amz-trailer-signature:" +
                   kTrailerSignature + "\r\n"),
            "SignatureDoesNotMatch");
  EXPECT_EQ(decode("x-amz-checksum-crc32c:sOO8/Q==\r\n"), "SignatureDoesNotMatch");
  EXPECT_EQ(decode("x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:" +
                   std::string(64, '0') + "\r\n"),
            "SignatureDoesNotMatch");
  // Dropped altogether: x-amz-trailer, which the seed signed, declared it.
  EXPECT_EQ(decode(""), "MalformedTrailerError");
  EXPECT_EQ(decode("x-amz-checksum-crc32:AAAAAA==\r\nx-amz-trailer-signature:" + kTrailerSignature +
                   "\r\n"),
            "MalformedTrailerError");
  EXPECT_EQ(decode(kTrailerLines + "x-amz-checksum-sha1:AAAA\r\n"), "MalformedTrailerError");
}

// ---- Bodies made here ----------------------------------------------------------

ChunkedUpload MadeUpload(ChunkedUpload::Mode mode, uint64_t decoded_length,
                         std::vector<std::string> trailer_names = {}) {
  ChunkedUpload upload;
  upload.mode = mode;
  upload.decoded_length_bytes = decoded_length;
  upload.trailer_names = std::move(trailer_names);
  upload.scope = {"20240101", "eu-west-1", "s3"};
  upload.signing_key = SigningKey("secret", upload.scope);
  upload.amz_date = "20240101T120000Z";
  upload.seed_signature = std::string(64, 'c');
  return upload;
}

// Encodes `chunks` (the last one empty) and `trailers` as a client would.
std::string Encode(const ChunkedUpload& upload, const std::vector<std::string>& chunks,
                   const std::string& trailers = "") {
  bool signed_chunks = upload.mode != ChunkedUpload::Mode::kUnsignedWithTrailer;
  std::string scope = upload.scope.date + "/" + upload.scope.region + "/s3/aws4_request";
  std::string previous = upload.seed_signature, body;
  for (const std::string& chunk : chunks) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx", chunk.size());
    body += size;
    if (signed_chunks) {
      previous =
          Signature(upload.signing_key, "AWS4-HMAC-SHA256-PAYLOAD\n" + upload.amz_date + "\n" +
                                            scope + "\n" + previous + "\n" + kEmptySha256 + "\n" +
                                            HexLower(Sha256(AsBytes(chunk))));
      body += ";chunk-signature=" + previous;
    }
    body += "\r\n" + chunk + (chunk.empty() ? "" : "\r\n");
  }
  if (upload.mode == ChunkedUpload::Mode::kSignedWithTrailer && !trailers.empty()) {
    std::string canonical;  // "name:value\n" lines, as sent but with LF
    for (size_t at = 0; at < trailers.size();) {
      size_t end = trailers.find("\r\n", at);
      canonical += trailers.substr(at, end - at) + "\n";
      at = end + 2;
    }
    std::string signature = Signature(
        upload.signing_key, "AWS4-HMAC-SHA256-TRAILER\n" + upload.amz_date + "\n" + scope + "\n" +
                                previous + "\n" + HexLower(Sha256(AsBytes(canonical))));
    return body + trailers + "x-amz-trailer-signature:" + signature + "\r\n\r\n";
  }
  return body + trailers + "\r\n";
}

TEST(AwsChunked, UnsignedChunksWithAChecksumTrailer) {
  std::string payload = "hello, aws-chunked world";
  Checksum crc32(ChecksumAlgorithm::kCrc32);
  crc32.Update(AsBytes(payload));
  std::string value = crc32.FinishBase64();
  ChunkedUpload upload = MadeUpload(ChunkedUpload::Mode::kUnsignedWithTrailer, payload.size(),
                                    {"x-amz-checksum-crc32"});
  std::string body = Encode(upload, {payload.substr(0, 10), payload.substr(10), ""},
                            "x-amz-checksum-crc32:" + value + "\r\n");
  EXPECT_EQ(body.substr(0, 4), "a\r\nh");
  for (size_t step = 1; step <= body.size(); step += 5) {
    Decoded decoded = DecodeAll(upload, body, step, 3);
    ASSERT_EQ(Code(decoded), "OK") << decoded.error->message;
    EXPECT_EQ(decoded.payload, payload);
    ASSERT_EQ(decoded.trailers.size(), 1u);
    EXPECT_EQ(decoded.trailers[0], std::make_pair(std::string("x-amz-checksum-crc32"), value));
  }
}

TEST(AwsChunked, SignedTrailersMadeHereAndAnEmptyBody) {
  ChunkedUpload upload = MadeUpload(ChunkedUpload::Mode::kSignedWithTrailer, 5,
                                    {"x-amz-checksum-sha256", "x-amz-checksum-crc32"});
  std::string body =
      Encode(upload, {"12345", ""}, "x-amz-checksum-sha256:abc=\r\nx-amz-checksum-crc32:def=\r\n");
  Decoded decoded = DecodeAll(upload, body, 3, 2);
  ASSERT_EQ(Code(decoded), "OK") << decoded.error->message;
  EXPECT_EQ(decoded.trailers.size(), 2u);

  ChunkedUpload empty = MadeUpload(ChunkedUpload::Mode::kSigned, 0);
  EXPECT_EQ(Code(DecodeAll(empty, Encode(empty, {""}), 1, 1)), "OK");
}

TEST(AwsChunked, LeniencyForClientsSeenInTheWild) {
  ChunkedUpload upload =
      MadeUpload(ChunkedUpload::Mode::kUnsignedWithTrailer, 3, {"x-amz-checksum-crc32"});
  auto decode = [&](const std::string& body) { return Code(DecodeAll(upload, body, 2, 2)); };
  EXPECT_EQ(decode("3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"), "OK");
  EXPECT_EQ(decode("3\nabc\n0\nx-amz-checksum-crc32:AAAAAA==\n\n"), "OK");  // bare LF
  EXPECT_EQ(decode("3\r\nabc\r\n0\r\n\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"), "OK");
  EXPECT_EQ(decode("3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n"), "OK");  // no last CRLF
  EXPECT_EQ(decode("3\r\nabc\r\n0\r\nX-Amz-Checksum-CRC32 :  AAAAAA== \r\n\r\n"), "OK");
  ChunkedUpload no_trailers = MadeUpload(ChunkedUpload::Mode::kSigned, 0);
  EXPECT_EQ(Code(DecodeAll(no_trailers, Encode(no_trailers, {""}).substr(0, 84), 9, 9)), "OK");
}

TEST(AwsChunked, LengthsMustMatchTheDeclaredLength) {
  ChunkedUpload upload = MadeUpload(ChunkedUpload::Mode::kSigned, 10);
  Decoded short_body = DecodeAll(upload, Encode(upload, {"123456789", ""}), 64, 64);
  EXPECT_EQ(Code(short_body), "IncompleteBody");
  Decoded long_body = DecodeAll(upload, Encode(upload, {"12345678901", ""}), 64, 64);
  EXPECT_EQ(Code(long_body), "IncompleteBody");
  EXPECT_TRUE(long_body.payload.empty());  // refused at the chunk header, before any data
  std::string body = Encode(upload, {"1234567890", ""});
  for (size_t cut : {size_t{0}, size_t{5}, size_t{90}, size_t{100}, body.size() - 90}) {
    EXPECT_EQ(Code(DecodeAll(upload, body.substr(0, cut), 7, 7)), "IncompleteBody") << cut;
  }
}

TEST(AwsChunked, MalformedFraming) {
  ChunkedUpload upload = MadeUpload(ChunkedUpload::Mode::kUnsignedWithTrailer, 3);
  auto decode = [&](const std::string& body) { return Code(DecodeAll(upload, body, 4, 4)); };
  EXPECT_EQ(decode("3\r\nabc\r\n0\r\n\r\n"), "OK");
  EXPECT_EQ(decode("zz\r\nabc\r\n0\r\n\r\n"), "InvalidArgument");
  EXPECT_EQ(decode("\r\nabc\r\n0\r\n\r\n"), "InvalidArgument");
  EXPECT_EQ(decode("00000000000000003\r\nabc\r\n0\r\n\r\n"), "InvalidArgument");  // 17 digits
  EXPECT_EQ(decode("3\r\nabcd\r\n0\r\n\r\n"), "InvalidArgument");                 // data overruns
  // (One blank line may precede the trailers, so the end here is the second.)
  EXPECT_EQ(decode("3\r\nabc\r\n0\r\n\r\n\r\nmore"), "InvalidArgument");  // after the end
  EXPECT_EQ(decode("3\r\nabc\r\n0\r\n\r\nmore"), "IncompleteBody");  // a trailer line cut short
  EXPECT_EQ(decode("3\r\nabc\r\n0\r\nno-colon\r\n\r\n"), "MalformedTrailerError");
  EXPECT_EQ(decode("3\r\nabc\r\n0\r\nbad name:v\r\n\r\n"), "MalformedTrailerError");
  EXPECT_EQ(decode("3" + std::string(5000, ' ') + "\r\nabc\r\n0\r\n\r\n"), "InvalidArgument");

  ChunkedUpload signed_upload = MadeUpload(ChunkedUpload::Mode::kSigned, 3);
  EXPECT_EQ(Code(DecodeAll(signed_upload, "3\r\nabc\r\n0\r\n\r\n", 4, 4)), "InvalidArgument");
  EXPECT_EQ(Code(DecodeAll(signed_upload, "3;chunk-signature=ABC\r\nabc\r\n", 4, 4)),
            "InvalidArgument");
  std::string trailing = Encode(signed_upload, {"abc", ""}) + "x-amz-checksum-crc32:AAAAAA==\r\n";
  EXPECT_EQ(Code(DecodeAll(signed_upload, trailing, 4, 4)), "InvalidArgument");
}

TEST(AwsChunked, ErrorsAreSticky) {
  ChunkedUpload upload = MadeUpload(ChunkedUpload::Mode::kUnsignedWithTrailer, 3);
  AwsChunkedDecoder decoder(upload);
  uint8_t output[8];
  auto first = decoder.Decode(AsBytes("zz\r\n"), output);
  ASSERT_TRUE(std::holds_alternative<S3Error>(first));
  auto again = decoder.Decode(AsBytes("3\r\nabc\r\n0\r\n\r\n"), output);
  ASSERT_TRUE(std::holds_alternative<S3Error>(again));
  EXPECT_EQ(std::get<S3Error>(again).code, "InvalidArgument");
  ASSERT_TRUE(decoder.Finish().has_value());
  EXPECT_FALSE(decoder.done());
}

TEST(AwsChunked, HeadersAreConsumedEvenWithoutRoomForData) {
  ChunkedUpload upload = MadeUpload(ChunkedUpload::Mode::kUnsignedWithTrailer, 3);
  AwsChunkedDecoder decoder(upload);
  std::string body = "3\r\nabc\r\n0\r\n\r\n";
  auto progress = decoder.Decode(AsBytes(body), {});
  ASSERT_TRUE(std::holds_alternative<AwsChunkedDecoder::Progress>(progress));
  EXPECT_EQ(std::get<AwsChunkedDecoder::Progress>(progress).consumed_bytes, 3u);
  EXPECT_EQ(std::get<AwsChunkedDecoder::Progress>(progress).produced_bytes, 0u);
}

// Damaged bodies, split at random: never a crash, never a wrong payload
// accepted. (A seeded stand-in for a fuzzer.)
TEST(AwsChunked, RandomlyDamagedBodiesAreRefusedOrIntact) {
  std::mt19937 random(20130524);
  for (ChunkedUpload::Mode mode :
       {ChunkedUpload::Mode::kSigned, ChunkedUpload::Mode::kSignedWithTrailer,
        ChunkedUpload::Mode::kUnsignedWithTrailer}) {
    bool trailer = mode != ChunkedUpload::Mode::kSigned;
    ChunkedUpload upload = MadeUpload(
        mode, 300,
        trailer ? std::vector<std::string>{"x-amz-checksum-crc32"} : std::vector<std::string>{});
    std::string payload(300, 'p');
    std::string body = Encode(upload, {payload.substr(0, 200), payload.substr(200), ""},
                              trailer ? "x-amz-checksum-crc32:AAAAAA==\r\n" : "");
    for (int round = 0; round < 300; ++round) {
      std::string damaged = body;
      size_t at = random() % damaged.size();
      switch (random() % 3) {
        case 0:
          damaged[at] = static_cast<char>(random());
          break;
        case 1:
          damaged.erase(at, 1 + random() % 8);
          break;
        default:
          damaged.insert(at, std::string(1 + random() % 3, static_cast<char>(random())));
      }
      Decoded decoded = DecodeAll(upload, damaged, 1 + random() % 64, 1 + random() % 64);
      if (!decoded.error && mode != ChunkedUpload::Mode::kUnsignedWithTrailer) {
        // Only damage to what is not signed can pass: spacing and line ends.
        EXPECT_EQ(decoded.payload, payload) << round;
      }
      if (!decoded.error) {
        EXPECT_EQ(decoded.payload.size(), payload.size()) << round;
      }
    }
  }
}

}  // namespace
}  // namespace holdfast::s3
