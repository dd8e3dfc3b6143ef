// Thin, error-checked wrappers over the POSIX calls the shard store makes.
// Internal to storage/.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace holdfast::storage {

// Owns a file descriptor; closes it (ignoring errors) unless Release()d.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release();
  // Closes now and reports close(2)'s error, which can be the first word of
  // a failed delayed write on some file systems.
  Status Close(std::string_view path);

 private:
  int fd_ = -1;
};

// kIo "<what>: <strerror(err)>".
Error IoError(std::string_view what, int err);

// Writes all of `iov` (which it modifies), retrying short writes and EINTR.
// Returns 0 or an errno value.
int WriteFully(int fd, iovec* iov, int iov_count);

// Reads into all of `iov` (which it modifies) from `offset`, retrying short
// reads and EINTR. Returns the bytes read (less than asked only at end of
// file) or -errno.
int64_t PreadFully(int fd, iovec* iov, int iov_count, uint64_t offset);

}  // namespace holdfast::storage
