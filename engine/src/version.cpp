// The release this library was built as (<sdkd/version.hpp>, generated from CMakeLists.txt):
// a program can compare it with the SDKD_VERSION it was compiled against.
#include "sdkd/version.hpp"

namespace sdkd {
const char* version() { return SDKD_VERSION; }
}  // namespace sdkd
