#include "tools/pipeline/ns_partial.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "sdkd/atomic_file.hpp"
#include "sdkd/error.hpp"
#include "sdkd/npy.hpp"

namespace sdkd::tools {

namespace {

std::string errno_text() { return std::strerror(errno); }

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + ")";
}

void write_all(int fd, const char* p, int64_t bytes, int64_t offset, const std::string& file) {
  while (bytes > 0) {
    const ssize_t n = ::pwrite(fd, p, size_t(bytes), off_t(offset));
    if (n < 0 && errno == EINTR) continue;
    SDKD_CHECK(n > 0, file, ": write failed (disk full or I/O error?): ", n < 0 ? errno_text() : "no progress");
    p += n;
    bytes -= n;
    offset += n;
  }
}

void read_all(int fd, char* p, int64_t bytes, int64_t offset, const std::string& file) {
  while (bytes > 0) {
    const ssize_t n = ::pread(fd, p, size_t(bytes), off_t(offset));
    if (n < 0 && errno == EINTR) continue;
    SDKD_CHECK(n > 0, file, ": read failed: ", n < 0 ? errno_text() : "the file is shorter than its record says");
    p += n;
    bytes -= n;
    offset += n;
  }
}

void sync_parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // some file systems refuse: the rename itself has happened
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

std::string json_differences(const nlohmann::json& was, const nlohmann::json& now) {
  std::string out;
  auto add = [&](const std::string& key, const nlohmann::json& a, const nlohmann::json& b) {
    out += (out.empty() ? "" : ", ") + key + " " + (a.is_null() ? "(none)" : a.dump()) + " -> " +
           (b.is_null() ? "(none)" : b.dump());
  };
  if (!was.is_object() || !now.is_object()) {
    add("identity", was, now);
    return out;
  }
  nlohmann::json keys = now;
  keys.update(was);  // every key of either side
  for (auto it = keys.begin(); it != keys.end(); ++it) {
    const std::string& key = it.key();
    const nlohmann::json a = was.contains(key) ? was.at(key) : nlohmann::json();
    const nlohmann::json b = now.contains(key) ? now.at(key) : nlohmann::json();
    if (a == b) continue;
    if (a.is_object() && b.is_object()) {
      nlohmann::json inner = b;
      inner.update(a);
      for (auto in = inner.begin(); in != inner.end(); ++in)
        if (const std::string& k = in.key(); !a.contains(k) || !b.contains(k) || a.at(k) != b.at(k))
          add(k, a.contains(k) ? a.at(k) : nlohmann::json(), b.contains(k) ? b.at(k) : nlohmann::json());
    } else {
      add(key, a, b);
    }
  }
  return out;
}

PartialNpy::PartialNpy(const std::string& path, const std::vector<int64_t>& shape, const nlohmann::json& identity,
                       bool quiet)
    : path_(path), header_(npy_header_bytes("f4", shape)), shape_(shape), identity_(identity) {
  SDKD_CHECK(!shape.empty() && shape[0] >= 1, path, ": a partial file needs at least one row, got shape ",
             shape_text(shape));
  row_bytes_ = 4;
  for (size_t i = 1; i < shape.size(); ++i) row_bytes_ *= shape[i];
  const std::string partial = partial_path(), record = record_path();
  fd_ = ::open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  SDKD_CHECK(fd_ >= 0, partial, ": cannot open for writing (is the folder writable?): ", errno_text());
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    fd_ = -1;
    throw Error(str_cat(partial, ": another sdkd process is generating ", path, " (wait for it, or stop it first)"));
  }
  struct stat st {};
  SDKD_CHECK(::fstat(fd_, &st) == 0, partial, ": cannot stat: ", errno_text());
  const int64_t size = st.st_size;

  // Why the partial file cannot be resumed ("" when it can).
  std::string problem;
  nlohmann::json rec;
  if (::access(record.c_str(), F_OK) != 0) {
    problem = size > 0 ? "no progress record beside it" : "";
  } else {
    try {
      rec = nlohmann::json::parse(read_text_file(record, 1 << 20));
      const auto shape_was = rec.at("shape").get<std::vector<int64_t>>();
      const int64_t done = rec.at("rows_done").get<int64_t>();
      if (rec.at("identity") != identity_) problem = "started with other settings (" + json_differences(rec.at("identity"), identity_) + ")";
      else if (shape_was != shape_) problem = "started for shape " + shape_text(shape_was) + ", now " + shape_text(shape_);
      else if (done < 0 || done > shape_[0]) problem = "its record counts " + std::to_string(done) + " rows";
      else if (size < int64_t(header_.size()) + done * row_bytes_)
        problem = "holds " + std::to_string(size) + " bytes, fewer than the " + std::to_string(done) + " rows its record counts";
      else {
        std::string head(header_.size(), '\0');
        read_all(fd_, head.data(), int64_t(head.size()), 0, partial);
        if (head != header_) problem = "its .npy header is not the one expected";
      }
      if (problem.empty()) {
        done_ = done;
        seconds_ = rec.value("seconds", 0.0);
      }
    } catch (const std::exception& e) {
      problem = std::string("unreadable progress record (") + e.what() + ")";
    }
  }
  if (problem.empty() && done_ > 0) {
    // Bytes past the last recorded row belong to the batch a kill interrupted: drop them.
    SDKD_CHECK(::ftruncate(fd_, off_t(int64_t(header_.size()) + done_ * row_bytes_)) == 0, partial,
               ": cannot truncate: ", errno_text());
    if (!quiet)
      std::fprintf(stderr, "resuming %s: %lld of %lld done (%s)\n", path.c_str(), (long long)done_,
                   (long long)shape_[0], partial.c_str());
    return;
  }
  if (!problem.empty()) std::fprintf(stderr, "%s: %s: starting over\n", partial.c_str(), problem.c_str());
  start_over();
}

PartialNpy::~PartialNpy() {
  if (fd_ >= 0) ::close(fd_);
}

void PartialNpy::start_over() {
  const std::string partial = partial_path();
  // The record goes first: a kill between the two steps must not leave a record that vouches
  // for rows the truncated file no longer holds.
  std::remove(record_path().c_str());
  SDKD_CHECK(::ftruncate(fd_, 0) == 0, partial, ": cannot truncate: ", errno_text());
  // No sync here: the first append syncs the header with its rows, and a resume checks it.
  write_all(fd_, header_.data(), int64_t(header_.size()), 0, partial);
  done_ = 0;
  seconds_ = 0;
  write_record();
}

void PartialNpy::write_record() const {
  const nlohmann::json rec = {{"writer", "sdkd generate"},
                              {"target", path_},
                              {"identity", identity_},
                              {"shape", shape_},
                              {"dtype", "f4"},
                              {"header_bytes", header_.size()},
                              {"rows_done", done_},
                              {"seconds", seconds_}};
  write_text_atomic(record_path(), rec.dump(2) + "\n");
}

void PartialNpy::append(int64_t first, int64_t count, const float* rows, double seconds) {
  SDKD_CHECK(fd_ >= 0, partial_path(), ": already published or discarded");
  SDKD_CHECK(first == done_ && count >= 0 && first + count <= shape_[0], partial_path(), ": rows [", first, ", ",
             first + count, ") do not follow the ", done_, " done of ", shape_[0]);
  write_all(fd_, reinterpret_cast<const char*>(rows), count * row_bytes_, int64_t(header_.size()) + first * row_bytes_,
            partial_path());
  // The data must be on disk before the record says it is (a crash of the machine, not only a
  // kill of the process, must not leave a record vouching for blocks still in the page cache).
  SDKD_CHECK(::fdatasync(fd_) == 0, partial_path(), ": fdatasync failed: ", errno_text());
  done_ = first + count;
  seconds_ = seconds;
  write_record();
}

void PartialNpy::read(int64_t first, int64_t count, float* rows) const {
  SDKD_CHECK(fd_ >= 0 && first >= 0 && count >= 0 && first + count <= done_, partial_path(), ": rows [", first, ", ",
             first + count, ") are not among the ", done_, " done");
  read_all(fd_, reinterpret_cast<char*>(rows), count * row_bytes_, int64_t(header_.size()) + first * row_bytes_,
           partial_path());
}

void PartialNpy::publish() {
  const std::string partial = partial_path();
  SDKD_CHECK(fd_ >= 0, partial, ": already published or discarded");
  SDKD_CHECK(done_ == shape_[0], partial, ": only ", done_, " of ", shape_[0], " rows are done");
  SDKD_CHECK(::fsync(fd_) == 0, partial, ": fsync failed: ", errno_text());
  SDKD_CHECK(std::rename(partial.c_str(), path_.c_str()) == 0, path_, ": cannot rename ", partial, " to it: ",
             errno_text());
  sync_parent_dir(path_);
  std::remove(record_path().c_str());
  ::close(fd_);  // releases the lock
  fd_ = -1;
}

void PartialNpy::discard() {
  std::remove(record_path().c_str());
  std::remove(partial_path().c_str());
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace sdkd::tools
