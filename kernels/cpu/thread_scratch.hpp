#pragma once
// A growing per-thread buffer for one use, named by a tag type. Convolutions run every step
// with the same shapes, so after the first step no allocation (and no page fault) happens on
// the hot path. Each use has its own tag, so two buffers that live at once never alias.
#include <cstdint>
#include <vector>

namespace sdkd::cpu {

template <class T, class Use>
T* thread_scratch(int64_t count) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < size_t(count)) buffer.resize(size_t(count));
  return buffer.data();
}

}  // namespace sdkd::cpu
