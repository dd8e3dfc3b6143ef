#include "storage/posix_io.h"

#include <errno.h>
#include <unistd.h>

#include <system_error>

namespace holdfast::storage {
namespace {

// Drops leading empty iovecs and then `bytes` bytes from the front of `iov`.
void Advance(iovec*& iov, int& iov_count, size_t bytes) {
  while (iov_count > 0 && (bytes > 0 || iov->iov_len == 0)) {
    size_t take = bytes < iov->iov_len ? bytes : iov->iov_len;
    iov->iov_base = static_cast<char*>(iov->iov_base) + take;
    iov->iov_len -= take;
    bytes -= take;
    if (iov->iov_len == 0) {
      ++iov;
      --iov_count;
    }
  }
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.Release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

int UniqueFd::Release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

Status UniqueFd::Close(std::string_view path) {
  // close(2) must not be retried on EINTR on Linux: the descriptor is gone.
  if (fd_ >= 0 && ::close(Release()) != 0) {
    return IoError("closing " + std::string(path), errno);
  }
  return Status::Ok();
}

Error IoError(std::string_view what, int err) {
  // std::generic_category().message is thread-safe, unlike strerror.
  return MakeError(Errc::kIo, std::string(what) + ": " +
                                  std::error_code(err, std::generic_category()).message());
}

int WriteFully(int fd, iovec* iov, int iov_count) {
  Advance(iov, iov_count, 0);
  while (iov_count > 0) {
    ssize_t written = ::writev(fd, iov, iov_count);
    if (written < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (written == 0) return EIO;  // no progress on a non-empty write
    Advance(iov, iov_count, static_cast<size_t>(written));
  }
  return 0;
}

int64_t PreadFully(int fd, iovec* iov, int iov_count, uint64_t offset) {
  int64_t total = 0;
  Advance(iov, iov_count, 0);
  while (iov_count > 0) {
    ssize_t got = ::preadv(fd, iov, iov_count, static_cast<off_t>(offset + total));
    if (got < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (got == 0) break;  // end of file
    total += got;
    Advance(iov, iov_count, static_cast<size_t>(got));
  }
  return total;
}

}  // namespace holdfast::storage
