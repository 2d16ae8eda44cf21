#pragma once
// What every fuzz target shares: the parsers under test take a path, so each input is handed
// to them as an in-memory file (memfd, no disk I/O), and the only outcome allowed besides
// success is sdkd::Error. Anything else (another exception, a crash, a sanitizer report, a
// timeout) is a finding.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "sdkd/error.hpp"

namespace sdkd::fuzz {

// An anonymous in-memory file holding the input, open for the lifetime of the object.
class MemFile {
 public:
  MemFile(const uint8_t* data, size_t size) {
    fd_ = memfd_create("sdkd-fuzz", 0);
    if (fd_ < 0) std::abort();
    for (size_t done = 0; done < size;) {
      const ssize_t n = write(fd_, data + done, size - done);
      if (n <= 0) std::abort();
      done += size_t(n);
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemFile() { close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

// Runs f(path) on the input; sdkd::Error is the expected way to reject bad bytes.
template <class F>
int run_on_file(const uint8_t* data, size_t size, F&& f) {
  const MemFile file(data, size);
  try {
    f(file.path());
  } catch (const sdkd::Error&) {
  }
  return 0;
}

}  // namespace sdkd::fuzz
