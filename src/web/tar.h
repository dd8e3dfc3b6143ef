// The tar stream of "download everything" (docs/web.md): POSIX ustar
// entries, with a pax extended header in front of an entry whose name does
// not fit ustar's 100 bytes or whose size does not fit its 11 octal digits
// (8 GiB), which GNU tar, bsdtar, 7-Zip and Python's tarfile all read. tar
// needs no checksum over the data, so each object streams straight from
// its reader: header, bytes, zero padding to 512.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace holdfast::web {

inline constexpr size_t kTarBlock = 512;

// The header block(s) of a regular file entry.
std::string TarFileHeader(std::string_view name, uint64_t size, int64_t modified_unix_s);
// Zero bytes after `size` bytes of data, up to the next 512-byte boundary.
size_t TarPadding(uint64_t size);
// The end of the archive: two zero blocks.
std::string TarEnd();

}  // namespace holdfast::web
