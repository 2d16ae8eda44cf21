# The kernels are private to the engine (kernels/internal.hpp): a file that includes a kernel
# header without SDKD_KERNELS_INTERNAL must fail to compile with the guard's message, and the
# same file must compile once the define is given (so the failure is the guard, not a typo).
# Run by ctest: cmake -DCXX=<compiler> -DROOT=<source dir> -DWORK=<scratch dir> -P kernels_private.cmake
file(MAKE_DIRECTORY ${WORK})
foreach(header kernels/cpu/fft.hpp kernels/cuda/gemm.hpp kernels/common/pointwise_loss.hpp)
  string(MAKE_C_IDENTIFIER ${header} _id)
  set(_src ${WORK}/${_id}.cpp)
  file(WRITE ${_src} "#include \"${header}\"\nint main() { return 0; }\n")
  execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only -I${ROOT} -I${ROOT}/engine/include ${_src}
                  RESULT_VARIABLE _rc ERROR_VARIABLE _err OUTPUT_QUIET)
  if(_rc EQUAL 0)
    message(FATAL_ERROR "${header} compiled outside the engine: the privacy guard did not fire")
  endif()
  if(NOT _err MATCHES "kernels/ is private to the sdkd engine")
    message(FATAL_ERROR "${header} failed outside the engine, but not with the guard's message:\n${_err}")
  endif()
  execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only -DSDKD_KERNELS_INTERNAL=1 -I${ROOT} -I${ROOT}/engine/include
                          ${_src}
                  RESULT_VARIABLE _rc ERROR_VARIABLE _err OUTPUT_QUIET)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "${header} does not compile even with SDKD_KERNELS_INTERNAL:\n${_err}")
  endif()
  message(STATUS "${header}: refused outside the engine, accepted inside")
endforeach()
