// Little-endian integer encoding for the shard file and the shard stream.
// Internal to storage/.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace holdfast::storage {

inline void StoreLe32(uint32_t value, uint8_t* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}

inline void StoreLe64(uint64_t value, uint8_t* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}

inline uint32_t LoadLe32(const uint8_t* in) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value |= static_cast<uint32_t>(in[i]) << (8 * i);
  return value;
}

inline uint64_t LoadLe64(const uint8_t* in) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value |= static_cast<uint64_t>(in[i]) << (8 * i);
  return value;
}

inline void AppendLe32(uint32_t value, std::string* out) {
  uint8_t bytes[4];
  StoreLe32(value, bytes);
  out->append(reinterpret_cast<const char*>(bytes), sizeof bytes);
}

inline void AppendLe64(uint64_t value, std::string* out) {
  uint8_t bytes[8];
  StoreLe64(value, bytes);
  out->append(reinterpret_cast<const char*>(bytes), sizeof bytes);
}

}  // namespace holdfast::storage
