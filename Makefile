# The two commands a newcomer needs:
#   make demo   install what is missing, build, run the whole pipeline on the demo preset
#   make test   install what is missing, build, run every test
# Everything else here is a helper for those two.

BUILD      ?= build
BUILD_TYPE ?= Release
CUDA       ?= AUTO
JOBS       ?= $(shell nproc)
PRESET     ?= demo
# Debian packages the build needs (see docs/ARCHITECTURE.md for what each is for).
PACKAGES   := cmake ninja-build g++ catch2 libcxxopts-dev nlohmann-json3-dev libstb-dev \
              libopenblas-dev libkissfft-dev zlib1g-dev libhdf5-dev pkg-config \
              libopenmpi-dev openmpi-bin

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test deps configure build smoke clean crosscheck bench-step fuzz

demo: build
	./$(BUILD)/sdkd demo --preset $(PRESET)

test: build
	cd $(BUILD) && OMP_WAIT_POLICY=passive ctest --output-on-failure -j1
	./$(BUILD)/examples/sdkd_example_embed

smoke: build
	./$(BUILD)/sdkd demo --preset smoke --out $(BUILD)/runs/smoke

deps:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

configure: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DSDKD_CUDA=$(CUDA)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# PyTorch yardstick (bench/reference; installs Debian's python3-torch if no python3 has torch).
# crosscheck: our outputs, losses and gradients against the PyTorch reference, every model and KD loss.
crosscheck: configure
	cmake --build $(BUILD) -j $(JOBS) --target sdkd-crosscheck-dump
	@py=$$(bench/reference/python.sh --install) && rm -rf $(BUILD)/crosscheck && \
	  $(BUILD)/sdkd-crosscheck-dump --out $(BUILD)/crosscheck && \
	  $$py bench/reference/crosscheck.py $(BUILD)/crosscheck

# bench-step: training step / inference / NS step times and peak memory, ours vs PyTorch on the CPU
# (STEP_BENCH_ARGS: e.g. --threads 4 --config configs/paper.json).
bench-step: configure
	cmake --build $(BUILD) -j $(JOBS) --target sdkd-step-bench
	@bench/reference/python.sh --install >/dev/null
	BUILD=$(BUILD) bench/reference/run_step_bench.sh $(STEP_BENCH_ARGS)

# fuzz: the libFuzzer targets (fuzz/) in a clang ASan+UBSan build, each run FUZZ_SECONDS from its
# seed corpus; fails on any crash, leak, timeout or memory blow-up (docs/USAGE.md, "Fuzzing").
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
fuzz:
	@$(MAKE) --no-print-directory deps PACKAGES="$(PACKAGES) clang libomp-dev"
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang \
	  -DCMAKE_CXX_COMPILER=clang++ -DSDKD_CUDA=OFF -DSDKD_BUILD_TESTS=OFF -DSDKD_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target sdkd-fuzz-npy sdkd-fuzz-safetensors sdkd-fuzz-mat5 \
	  sdkd-fuzz-hdf5 sdkd-fuzz-preset
	fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD)
