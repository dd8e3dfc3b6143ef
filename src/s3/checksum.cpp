// x-amz-checksum-* values. CRC32 and CRC32C come from ISA-L (already a
// dependency of ec/), which picks PCLMUL/SSE4.2 code at run time: a gateway
// checksums every byte it stores, so a byte-at-a-time table would be its
// slowest stage. ISA-L 2.30 has no CRC-64/NVME, so that one is a
// slice-by-8 table here; SHA-1 and SHA-256 are OpenSSL's.
#include <isa-l/crc.h>
#include <openssl/evp.h>

#include <array>
#include <cassert>
#include <climits>

#include "common/digest.h"
#include "s3/internal.h"
#include "s3/s3_ops.h"

namespace holdfast::s3 {
namespace {

struct AlgorithmInfo {
  ChecksumAlgorithm algorithm;
  std::string_view name;    // as in x-amz-checksum-algorithm and error messages
  std::string_view header;  // x-amz-checksum-*
  size_t size_bytes;
};

constexpr std::array<AlgorithmInfo, 5> kAlgorithms = {{
    {ChecksumAlgorithm::kCrc32, "CRC32", "x-amz-checksum-crc32", 4},
    {ChecksumAlgorithm::kCrc32c, "CRC32C", "x-amz-checksum-crc32c", 4},
    {ChecksumAlgorithm::kCrc64Nvme, "CRC64NVME", "x-amz-checksum-crc64nvme", 8},
    {ChecksumAlgorithm::kSha1, "SHA1", "x-amz-checksum-sha1", 20},
    {ChecksumAlgorithm::kSha256, "SHA256", "x-amz-checksum-sha256", 32},
}};

constexpr bool IndexedByAlgorithm() {
  for (size_t i = 0; i < kAlgorithms.size(); ++i) {
    if (static_cast<size_t>(kAlgorithms[i].algorithm) != i) return false;
  }
  return true;
}
static_assert(IndexedByAlgorithm(), "kAlgorithms must be in ChecksumAlgorithm order");

const AlgorithmInfo& Info(ChecksumAlgorithm algorithm) {
  return kAlgorithms[static_cast<size_t>(algorithm)];
}

// CRC-64/NVME (the "Rocksoft" polynomial of NVMe), reflected.
constexpr uint64_t kCrc64NvmePoly = 0x9a6c9329ac4bc9b5ULL;

using Crc64Tables = std::array<std::array<uint64_t, 256>, 8>;

constexpr Crc64Tables MakeCrc64Tables() {
  Crc64Tables tables{};
  for (uint64_t byte = 0; byte < 256; ++byte) {
    uint64_t crc = byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? kCrc64NvmePoly : 0);
    tables[0][byte] = crc;
  }
  for (size_t t = 1; t < 8; ++t) {
    for (size_t byte = 0; byte < 256; ++byte) {
      uint64_t previous = tables[t - 1][byte];
      tables[t][byte] = (previous >> 8) ^ tables[0][previous & 0xff];
    }
  }
  return tables;
}

constexpr Crc64Tables kCrc64Tables = MakeCrc64Tables();

// `crc` is the running register (initial value all ones, not yet inverted).
uint64_t UpdateCrc64Nvme(uint64_t crc, std::span<const uint8_t> bytes) {
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t word = 0;
    for (int b = 0; b < 8; ++b) word |= uint64_t{bytes[i + b]} << (8 * b);  // little-endian
    crc ^= word;
    uint64_t next = 0;
    for (int b = 0; b < 8; ++b) next ^= kCrc64Tables[7 - b][(crc >> (8 * b)) & 0xff];
    crc = next;
  }
  for (; i < bytes.size(); ++i) crc = (crc >> 8) ^ kCrc64Tables[0][(crc ^ bytes[i]) & 0xff];
  return crc;
}

// ISA-L's CRC32C takes an int length.
uint32_t UpdateCrc32c(uint32_t crc, std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    size_t n = std::min<size_t>(bytes.size(), INT_MAX);
    crc = crc32_iscsi(const_cast<uint8_t*>(bytes.data()), static_cast<int>(n), crc);
    bytes = bytes.subspan(n);
  }
  return crc;
}

std::string BigEndian(uint64_t value, size_t size_bytes) {
  std::string out(size_bytes, '\0');
  for (size_t i = 0; i < size_bytes; ++i) {
    out[size_bytes - 1 - i] = static_cast<char>(value >> (8 * i));
  }
  return out;
}

struct EvpFree {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

}  // namespace

struct Checksum::State {
  ChecksumAlgorithm algorithm;
  uint64_t crc = 0;
  std::unique_ptr<EVP_MD_CTX, EvpFree> digest;
};

Checksum::Checksum(ChecksumAlgorithm algorithm) : state_(std::make_unique<State>()) {
  state_->algorithm = algorithm;
  switch (algorithm) {
    case ChecksumAlgorithm::kCrc32:
      state_->crc = 0;  // ISA-L's gzip CRC takes and returns the final value
      break;
    case ChecksumAlgorithm::kCrc32c:
      state_->crc = 0xffffffffu;
      break;
    case ChecksumAlgorithm::kCrc64Nvme:
      state_->crc = ~uint64_t{0};
      break;
    case ChecksumAlgorithm::kSha1:
    case ChecksumAlgorithm::kSha256:
      state_->digest.reset(EVP_MD_CTX_new());
      bool ok = state_->digest &&
                EVP_DigestInit_ex(state_->digest.get(),
                                  algorithm == ChecksumAlgorithm::kSha1 ? EVP_sha1() : EVP_sha256(),
                                  nullptr) == 1;
      assert(ok && "OpenSSL digest initialisation failed");
      (void)ok;
      break;
  }
}

Checksum::~Checksum() = default;
Checksum::Checksum(Checksum&&) noexcept = default;
Checksum& Checksum::operator=(Checksum&&) noexcept = default;

ChecksumAlgorithm Checksum::algorithm() const { return state_->algorithm; }

void Checksum::Update(std::span<const uint8_t> bytes) {
  State& s = *state_;
  switch (s.algorithm) {
    case ChecksumAlgorithm::kCrc32:
      s.crc = crc32_gzip_refl(static_cast<uint32_t>(s.crc), bytes.data(), bytes.size());
      break;
    case ChecksumAlgorithm::kCrc32c:
      s.crc = UpdateCrc32c(static_cast<uint32_t>(s.crc), bytes);
      break;
    case ChecksumAlgorithm::kCrc64Nvme:
      s.crc = UpdateCrc64Nvme(s.crc, bytes);
      break;
    default:
      EVP_DigestUpdate(s.digest.get(), bytes.data(), bytes.size());
  }
}

std::string Checksum::FinishBase64() {
  State& s = *state_;
  std::string raw;
  switch (s.algorithm) {
    case ChecksumAlgorithm::kCrc32:
      raw = BigEndian(s.crc, 4);
      break;
    case ChecksumAlgorithm::kCrc32c:
      raw = BigEndian(~static_cast<uint32_t>(s.crc), 4);
      break;
    case ChecksumAlgorithm::kCrc64Nvme:
      raw = BigEndian(~s.crc, 8);
      break;
    default: {
      unsigned char digest[EVP_MAX_MD_SIZE];
      unsigned int size = 0;
      EVP_DigestFinal_ex(s.digest.get(), digest, &size);
      raw.assign(reinterpret_cast<const char*>(digest), size);
    }
  }
  return Base64Encode(AsBytes(raw));
}

std::optional<ChecksumAlgorithm> ChecksumFromHeaderName(std::string_view header_name) {
  std::string lower = AsciiLower(header_name);
  for (const AlgorithmInfo& info : kAlgorithms) {
    if (info.header == lower) return info.algorithm;
  }
  return std::nullopt;
}

std::string_view ChecksumHeaderName(ChecksumAlgorithm algorithm) { return Info(algorithm).header; }

std::optional<ChecksumAlgorithm> ChecksumFromAlgorithmName(std::string_view name) {
  std::string lower = AsciiLower(name);
  for (const AlgorithmInfo& info : kAlgorithms) {
    if (AsciiLower(info.name) == lower) return info.algorithm;
  }
  return std::nullopt;
}

std::optional<S3Error> CheckChecksum(ChecksumAlgorithm algorithm, std::string_view sent_base64,
                                     std::string_view computed_base64) {
  const AlgorithmInfo& info = Info(algorithm);
  std::string sent, computed;
  // Re-encoding must give the value back, so that only the canonical
  // spelling of a value is accepted, as it is the one stored and returned.
  if (!Base64Decode(sent_base64, &sent) || sent.size() != info.size_bytes ||
      Base64Encode(AsBytes(sent)) != sent_base64) {
    return MakeS3Error("InvalidRequest",
                       "Value for " + std::string(info.header) + " header is invalid.");
  }
  if (!Base64Decode(computed_base64, &computed) || sent != computed) {
    return MakeS3Error("BadDigest", "The " + std::string(info.name) +
                                        " you specified did not match the calculated checksum.");
  }
  return std::nullopt;
}

}  // namespace holdfast::s3
