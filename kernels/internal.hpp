#pragma once
// kernels/ is private to the engine: every kernel is reached through an engine op declared in
// engine/include/sdkd/ (CMake defines SDKD_KERNELS_INTERNAL for the engine, the kernel
// libraries and the tests and benchmarks that check kernels directly). Anything else that
// includes a kernel header stops here.
#ifndef SDKD_KERNELS_INTERNAL
#error "kernels/ is private to the sdkd engine: call the engine op declared in <sdkd/...> instead (docs/ARCHITECTURE.md)"
#endif
