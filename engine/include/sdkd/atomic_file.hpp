#pragma once
// Whole-file writes that never leave a partial file behind: the content goes to a temporary
// name beside the target, is flushed to disk, and only then renamed over the target (rename is
// atomic on POSIX within one file system). Readers see the old file or the new one, never half.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

namespace sdkd {

// Calls writer on a stream to path + ".tmp.<pid>", fsyncs it and renames it to path.
// If the writer throws or any I/O step fails, the temporary file is removed and an
// sdkd::Error naming path is thrown (the writer's own exception is rethrown unchanged).
// A process killed mid-write cannot clean up, so each write of path first removes the
// path + ".tmp.<pid>" files whose process no longer exists (a live writer's file is left).
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& writer);

// write_file_atomic with a fixed string as the content.
void write_text_atomic(const std::string& path, const std::string& text);

// The whole file as a string; throws sdkd::Error naming path if it cannot be opened or read,
// or if it holds more than max_bytes (checked before reading).
std::string read_text_file(const std::string& path, size_t max_bytes = SIZE_MAX);

// Creates the folder dir (and its parents) for a run's outputs; an existing file that is not a
// folder, or a folder that cannot be created or written into, is an sdkd::Error naming dir.
void make_output_dir(const std::string& dir);
// The same checks without creating anything, for commands that validate before any work: dir
// is a writable folder, or the nearest existing folder above it is writable.
void check_output_dir(const std::string& dir);

}  // namespace sdkd
