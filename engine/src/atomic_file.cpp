#include "sdkd/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

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

// The temporary files of path left by killed writers: path + ".tmp.<pid>" whose pid names no
// running process (kill(pid, 0) fails with ESRCH). Best effort: a folder we cannot list or a
// file we cannot remove is left as it was, and the write itself reports real I/O problems.
void remove_stale_temps(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string prefix = target.filename().string() + ".tmp.";
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    long long pid = 0;
    const char* first = name.data() + prefix.size();
    const char* last = name.data() + name.size();
    const auto [end_of_number, err] = std::from_chars(first, last, pid);
    if (err != std::errc() || end_of_number != last || pid <= 0 || pid > INT_MAX || pid == ::getpid()) continue;
    if (::kill(pid_t(pid), 0) == 0 || errno != ESRCH) continue;  // alive (EPERM: alive, not ours)
    std::error_code ignored;
    fs::remove(it->path(), ignored);
  }
}

}  // namespace

void write_file_atomic(const std::string& path,
                       const std::function<void(std::ostream&)>& writer) {
  SDKD_CHECK(!path.empty(), "write_file_atomic: empty output path");
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  remove_stale_temps(path);
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

std::string read_text_file(const std::string& path, size_t max_bytes) {
  std::error_code ec;
  SDKD_CHECK(!std::filesystem::is_directory(path, ec), path, ": is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  SDKD_CHECK(in.is_open(), path, ": cannot open file for reading: ", errno_text());
  // Counted while reading, not from the file's size, so /dev/zero or a pipe stops too.
  std::string content;
  char chunk[1 << 16];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    content.append(chunk, size_t(in.gcount()));
    SDKD_CHECK(content.size() <= max_bytes, path, ": more than the ", max_bytes,
               " bytes this kind of file may hold (the wrong file?)");
  }
  SDKD_CHECK(!in.bad(), path, ": read failed");
  return content;
}

void check_output_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  SDKD_CHECK(!fs::exists(dir, ec) || fs::is_directory(dir, ec), dir,
             ": exists and is not a folder (expected a folder for the run's outputs)");
  // The nearest folder that exists is where the missing ones would be created.
  fs::path existing = fs::absolute(dir, ec);
  while (!existing.empty() && !fs::exists(existing, ec)) {
    if (existing == existing.parent_path()) break;
    existing = existing.parent_path();
  }
  SDKD_CHECK(fs::is_directory(existing, ec), dir, ": cannot create the output folder: ", existing.string(),
             " is not a folder");
  SDKD_CHECK(::access(existing.c_str(), W_OK | X_OK) == 0, dir, ": cannot ",
             existing == fs::absolute(dir, ec) ? "write into the output folder: " : "create the output folder in " +
             existing.string() + ": ", errno_text());
}

void make_output_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  SDKD_CHECK(!fs::exists(dir, ec) || fs::is_directory(dir, ec), dir,
             ": exists and is not a folder (expected a folder for the run's outputs)");
  fs::create_directories(dir, ec);
  SDKD_CHECK(!ec, dir, ": cannot create the output folder: ", ec.message());
  // Now, not when the first result is written after hours of work.
  SDKD_CHECK(::access(dir.c_str(), W_OK | X_OK) == 0, dir, ": cannot write into the output folder: ", errno_text());
}

}  // namespace sdkd
