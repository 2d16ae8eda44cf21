#pragma once
// Whole-file writes that never leave a partial file behind: the content goes to a temporary
// name beside the target, is flushed to disk, and only then renamed over the target (rename is
// atomic on POSIX within one file system). Readers see the old file or the new one, never half.
#include <functional>
#include <iosfwd>
#include <string>

namespace sdkd {

// Calls writer on a stream to path + ".tmp.<pid>", fsyncs it and renames it to path.
// If the writer throws or any I/O step fails, the temporary file is removed and an
// sdkd::Error naming path is thrown (the writer's own exception is rethrown unchanged).
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& writer);

// write_file_atomic with a fixed string as the content.
void write_text_atomic(const std::string& path, const std::string& text);

// The whole file as a string; throws sdkd::Error naming path if it cannot be opened or read.
std::string read_text_file(const std::string& path);

}  // namespace sdkd
