// The limits every file reader of the engine keeps (issue 11 item 7): JSON nesting before any
// parse, numbers the header cannot hold, shapes whose strides overflow, checked metadata
// conversions, output folders, bounded text reads and the temp files killed writers leave.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "common/toy.hpp"
#include "sdkd/atomic_file.hpp"
#include "sdkd/checkpoint.hpp"
#include "sdkd/error.hpp"
#include "sdkd/safetensors.hpp"

using Catch::Matchers::Contains;
using namespace sdkd;
using test::read_bytes;
using test::TempDir;
using test::write_bytes;

namespace {

// A safetensors file: u64 little-endian header length, the header padded to 8, the buffer.
std::string st_bytes(std::string header, const std::string& buffer = "") {
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + buffer;
}

std::string nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// The pid of a child that has exited and been reaped: a process that no longer exists.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

}  // namespace

TEST_CASE("JSON nesting is limited to kMaxJsonDepth before parsing, strings do not count", "[safetensors][limits]") {
  CHECK_NOTHROW(check_json_depth(nested(kMaxJsonDepth), "x.json"));
  CHECK_THROWS_WITH(check_json_depth(nested(kMaxJsonDepth + 1), "x.json"),
                    "x.json: JSON nested deeper than 64 levels (arrays/objects); refusing it");
  CHECK_THROWS_WITH(check_json_depth("{\"a\": " + nested(100000) + "}", "x.json"), Contains("deeper than 64"));
  // Brackets inside strings, escaped quotes included, are text, not nesting.
  CHECK_NOTHROW(check_json_depth("{\"a\": \"" + std::string(1000, '[') + "\\\"" + std::string(1000, '{') + "\"}", "x"));
  CHECK_THROWS(check_json_depth("[\"\\\\\"" + nested(kMaxJsonDepth) + "]", "x"));  // \\ ends the escape
}

TEST_CASE("safetensors: hostile headers are one error naming the file", "[safetensors][limits]") {
  TempDir tmp("st_limits");
  auto expect = [&](const std::string& name, const std::string& bytes, const std::string& part) {
    write_bytes(tmp / name, bytes);
    REQUIRE_THROWS_WITH(load_safetensors(tmp / name), Contains(tmp / name) && Contains(part));
  };
  expect("e400.safetensors", st_bytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[1e400],\"data_offsets\":[0,8]}}", "12345678"),
         "header is not valid JSON: [json.exception.out_of_range.406] number overflow parsing '1e400'");
  expect("deep.safetensors", st_bytes("{\"__metadata__\":{},\"x\":" + nested(100000) + "}"), "header: JSON nested deeper");
  // An empty tensor whose other dimensions overflow: its strides would.
  expect("strides.safetensors",
         st_bytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[0,4611686018427387904,8],\"data_offsets\":[0,0]}}"),
         "byte count overflows 64 bits");
  expect("bigoff.safetensors", st_bytes("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1e3]}}", "1"),
         "data_offsets must be non-negative integers");
  expect("dtype.safetensors", st_bytes("{\"w\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,1]}}", "1"),
         "unknown dtype 'Q4'");
}

TEST_CASE("checkpoint metadata numbers are converted with checks naming the file and the key", "[checkpoint][limits]") {
  const Metadata meta = {{"epoch", "7"}, {"bad", "abc"}, {"tail", "12x"}, {"empty", ""}, {"loss", "0.25"},
                         {"huge", "99999999999999999999"}};
  CHECK(metadata_int(meta, "epoch", "run/last.safetensors") == 7);
  CHECK(metadata_number(meta, "loss", "f") == 0.25);
  CHECK(metadata_value(meta, "bad", "f") == "abc");
  CHECK_THROWS_WITH(metadata_int(meta, "bad", "run/last.safetensors"),
                    "run/last.safetensors: metadata 'bad' must be an integer, got 'abc'");
  CHECK_THROWS_WITH(metadata_int(meta, "tail", "f"), Contains("'tail' must be an integer, got '12x'"));
  CHECK_THROWS_WITH(metadata_int(meta, "empty", "f"), Contains("'empty' must be an integer"));
  CHECK_THROWS_WITH(metadata_int(meta, "huge", "f"), Contains("'huge' must be an integer"));
  CHECK_THROWS_WITH(metadata_number(meta, "bad", "f"), Contains("f: metadata 'bad' must be a number, got 'abc'"));
  CHECK_THROWS_WITH(metadata_int(meta, "missing", "run/last.safetensors"),
                    Contains("run/last.safetensors: no 'missing' entry in the metadata"));
}

TEST_CASE("make_output_dir refuses a file and creates nested folders", "[atomic_file][limits]") {
  TempDir tmp("outdir");
  write_bytes(tmp / "file", "x");
  REQUIRE_THROWS_WITH(make_output_dir(tmp / "file"), (tmp / "file") + ": exists and is not a folder (expected a "
                                                                      "folder for the run's outputs)");
  REQUIRE_THROWS_WITH(make_output_dir(tmp / "file/sub"), Contains(tmp / "file/sub") && Contains("cannot create"));
  make_output_dir(tmp / "a/b");
  CHECK(std::filesystem::is_directory(tmp / "a/b"));
  make_output_dir(tmp / "a/b");  // an existing folder is fine
}

TEST_CASE("read_text_file stops at its size limit, counted while reading", "[atomic_file][limits]") {
  TempDir tmp("readlimit");
  write_bytes(tmp / "t.json", std::string(100, 'x'));
  CHECK(read_text_file(tmp / "t.json", 100).size() == 100);
  CHECK_THROWS_WITH(read_text_file(tmp / "t.json", 99), Contains("t.json: more than the 99 bytes"));
  CHECK_THROWS_WITH(read_text_file("/dev/zero", 1000), Contains("/dev/zero: more than the 1000 bytes"));
}

TEST_CASE("a write removes the temp files of dead writers of the same name, and only those", "[atomic_file][limits]") {
  TempDir tmp("stale");
  const std::string target = tmp / "last.safetensors";
  const std::string dead = target + ".tmp." + std::to_string(dead_pid());
  const std::string alive = target + ".tmp." + std::to_string(::getppid());  // the test runner
  const std::string other = tmp / "best.safetensors.tmp.1";                   // another name
  const std::string not_pid = target + ".tmp.abc";
  for (const auto& p : {dead, alive, other, not_pid}) write_bytes(p, "half a checkpoint");
  write_text_atomic(target, "new");
  CHECK(read_bytes(target) == "new");
  CHECK_FALSE(std::filesystem::exists(dead));
  CHECK(std::filesystem::exists(alive));
  CHECK(std::filesystem::exists(other));
  CHECK(std::filesystem::exists(not_pid));
}
