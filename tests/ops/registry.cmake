# The op registry library (tests/ops): one list of op cases and their bench-scale perf entries,
# shared by sdkd_test_ops (grad / backend modes), sdkd-op-coverage and sdkd-bench (perf mode).
# Catch2-free, on the engine's public API only. Included by bench/ and tests/; the first include
# defines it, so the benchmark builds with the tests switched off too.
include_guard(GLOBAL)
add_library(sdkd_op_registry STATIC ${CMAKE_CURRENT_LIST_DIR}/op_registry.cpp ${CMAKE_CURRENT_LIST_DIR}/perf_registry.cpp
                                    ${CMAKE_CURRENT_LIST_DIR}/coverage.cpp)
target_link_libraries(sdkd_op_registry PUBLIC sdkd_engine)
# "ops/op_registry.hpp", "common/numeric.hpp" (header-only) from tests/.
target_include_directories(sdkd_op_registry PUBLIC ${CMAKE_CURRENT_LIST_DIR}/..)
