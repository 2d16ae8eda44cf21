#include "sdkd/threads.hpp"

#include <omp.h>

#include "sdkd/error.hpp"

#ifdef SDKD_WITH_CBLAS
extern "C" void openblas_set_num_threads(int);
#endif

namespace sdkd {

void set_num_threads(int n) {
  SDKD_CHECK(n >= 1, "thread count must be >= 1, got ", n);
  omp_set_num_threads(n);
#ifdef SDKD_WITH_CBLAS
  openblas_set_num_threads(n);
#endif
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace sdkd
