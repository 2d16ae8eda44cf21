#include "sdkd/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sdkd/error.hpp"

namespace sdkd {
namespace {

std::string errno_text() { return std::strerror(errno); }

// Flushes the file's data to the device so that the rename below cannot publish a file whose
// blocks are still only in the page cache (a crash then would leave an empty target).
void fsync_path(const std::string& tmp, const std::string& path) {
  int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  SDKD_CHECK(fd >= 0, path, ": cannot reopen temporary file ", tmp, " to sync it: ", errno_text());
  int rc = ::fsync(fd);
  std::string why = rc != 0 ? errno_text() : "";
  ::close(fd);
  SDKD_CHECK(rc == 0, path, ": fsync failed: ", why);
}

// Makes the rename itself durable; failure here is not an error for the caller (some file
// systems refuse fsync on directories) since the data is already in place.
void fsync_parent_dir(const std::string& path) {
  auto slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomic(const std::string& path,
                       const std::function<void(std::ostream&)>& writer) {
  SDKD_CHECK(!path.empty(), "write_file_atomic: empty output path");
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  try {
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      SDKD_CHECK(out.is_open(), path, ": cannot open ", tmp,
                 " for writing (does the directory exist and is it writable?): ", errno_text());
      writer(out);
      out.flush();
      SDKD_CHECK(out.good(), path, ": write failed (disk full or I/O error?)");
      out.close();
      SDKD_CHECK(!out.fail(), path, ": closing the file failed (disk full or I/O error?)");
    }
    fsync_path(tmp, path);
    SDKD_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, path, ": cannot rename ", tmp,
               " to it: ", errno_text());
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  fsync_parent_dir(path);
}

void write_text_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, [&](std::ostream& out) {
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  });
}

std::string read_text_file(const std::string& path) {
  std::error_code ec;
  SDKD_CHECK(!std::filesystem::is_directory(path, ec), path, ": is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  SDKD_CHECK(in.is_open(), path, ": cannot open file for reading: ", errno_text());
  std::ostringstream content;
  content << in.rdbuf();
  SDKD_CHECK(!in.bad(), path, ": read failed");
  return content.str();
}

}  // namespace sdkd
