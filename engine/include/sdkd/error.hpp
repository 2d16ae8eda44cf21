#pragma once
// One error type for the whole project: library code throws sdkd::Error with a message that
// names what was wrong and what was expected; the tools catch it and print one line.
#include <sstream>
#include <stdexcept>
#include <string>

namespace sdkd {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
inline void format_into(std::ostringstream&) {}
template <typename T, typename... Rest>
void format_into(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  format_into(os, rest...);
}
}  // namespace detail

// Concatenates its arguments with operator<< into one message.
template <typename... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  detail::format_into(os, args...);
  return os.str();
}

}  // namespace sdkd

// SDKD_CHECK(cond, msg...) throws sdkd::Error(msg...) when cond is false.
#define SDKD_CHECK(cond, ...)                                   \
  do {                                                          \
    if (!(cond)) throw ::sdkd::Error(::sdkd::str_cat(__VA_ARGS__)); \
  } while (0)
