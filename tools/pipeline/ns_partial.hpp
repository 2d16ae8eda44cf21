#pragma once
// A float32 .npy file filled batch by batch along its first axis, so that a killed run loses at
// most the batch in flight and a rerun resumes after the last complete one:
//   <path>.partial       the .npy being filled: the header of the full shape, then the rows done
//   <path>.partial.json  the progress record: what is being made (identity, shape) and how many
//                        rows are complete, rewritten atomically after each batch's data is on disk
// The final name <path> appears only through publish() (a rename), so a reader never takes a
// partial file for a complete one. The partial file is locked (flock) while a writer holds it:
// a second writer of the same path gets one error instead of corrupting it.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sdkd::tools {

// What differs between two JSON records, as "seed 0 -> 1, device cpu -> cuda" (objects one
// level deep are compared key by key, so a changed parameter is named, not the whole block).
std::string json_differences(const nlohmann::json& was, const nlohmann::json& now);

class PartialNpy {
 public:
  // Resumes <path>.partial when its record has the same identity and shape and the file holds
  // the rows the record counts; otherwise (no record, another identity, a damaged file) starts
  // over, saying why on stderr (a fresh start with nothing left over says nothing).
  PartialNpy(const std::string& path, const std::vector<int64_t>& shape, const nlohmann::json& identity, bool quiet);
  ~PartialNpy();
  PartialNpy(const PartialNpy&) = delete;
  PartialNpy& operator=(const PartialNpy&) = delete;

  int64_t rows_done() const { return done_; }
  double seconds() const { return seconds_; }  // time the earlier runs spent on it
  std::string partial_path() const { return path_ + ".partial"; }
  std::string record_path() const { return path_ + ".partial.json"; }

  // Writes rows [first, first + count) (first must be rows_done()), syncs them to disk, then
  // records rows_done = first + count and `seconds` (the total time spent so far).
  void append(int64_t first, int64_t count, const float* rows, double seconds);
  // Reads rows [first, first + count) back (first + count <= rows_done()).
  void read(int64_t first, int64_t count, float* rows) const;
  // All rows done: renames the partial file to <path> and removes the record.
  void publish();
  // Removes the partial file and its record (the content is unusable).
  void discard();

 private:
  void start_over();
  void write_record() const;

  std::string path_, header_;
  std::vector<int64_t> shape_;
  nlohmann::json identity_;
  int64_t row_bytes_ = 0;
  int64_t done_ = 0;
  double seconds_ = 0;
  int fd_ = -1;
};

}  // namespace sdkd::tools
