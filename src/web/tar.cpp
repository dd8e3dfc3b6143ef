#include "web/tar.h"

#include <cstdio>
#include <cstring>

namespace holdfast::web {
namespace {

// `value` in octal, zero-padded to width - 1 digits and a NUL.
void PutOctal(char* field, size_t width, uint64_t value) {
  std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1), static_cast<unsigned long long>(value));
}

std::string UstarHeader(std::string_view name, uint64_t size, int64_t modified_unix_s, char type) {
  char block[kTarBlock];
  std::memset(block, 0, sizeof block);
  std::memcpy(block, name.data(), std::min<size_t>(name.size(), 100));
  PutOctal(block + 100, 8, 0644);                                  // mode
  PutOctal(block + 108, 8, 0);                                     // uid
  PutOctal(block + 116, 8, 0);                                     // gid
  PutOctal(block + 124, 12, size);                                 // size
  PutOctal(block + 136, 12, static_cast<uint64_t>(std::max<int64_t>(modified_unix_s, 0)));  // mtime
  block[156] = type;
  std::memcpy(block + 257, "ustar", 6);  // magic "ustar\0"
  std::memcpy(block + 263, "00", 2);     // version
  // The checksum is computed with its own field as eight spaces.
  std::memset(block + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : block) sum += c;
  std::snprintf(block + 148, 8, "%06o", sum);
  block[155] = ' ';
  return std::string(block, sizeof block);
}

// One pax record: "<length> <key>=<value>\n", where length counts itself.
std::string PaxRecord(std::string_view key, std::string_view value) {
  size_t body = 1 + key.size() + 1 + value.size() + 1;
  size_t length = body + 1;
  while (std::to_string(length).size() + body != length) ++length;
  return std::to_string(length) + " " + std::string(key) + "=" + std::string(value) + "\n";
}

}  // namespace

std::string TarFileHeader(std::string_view name, uint64_t size, int64_t modified_unix_s) {
  constexpr uint64_t kUstarMaxSize = 077777777777ull;
  if (name.size() <= 100 && size <= kUstarMaxSize) return UstarHeader(name, size, modified_unix_s, '0');
  std::string records;
  if (name.size() > 100) records += PaxRecord("path", name);
  if (size > kUstarMaxSize) records += PaxRecord("size", std::to_string(size));
  std::string out = UstarHeader("PaxHeader", records.size(), modified_unix_s, 'x');
  out += records;
  out.append(TarPadding(records.size()), '\0');
  out += UstarHeader(name.substr(0, 100), size > kUstarMaxSize ? 0 : size, modified_unix_s, '0');
  return out;
}

size_t TarPadding(uint64_t size) { return static_cast<size_t>((kTarBlock - size % kTarBlock) % kTarBlock); }

std::string TarEnd() { return std::string(2 * kTarBlock, '\0'); }

}  // namespace holdfast::web
