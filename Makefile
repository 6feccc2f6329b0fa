# Two commands matter: `make run` and `make test` (see README.md).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps deps-test build run test unit asan fuzz fuzz-long e2e bench format clean container-test

all: build

deps:
	@scripts/install-deps.sh run

deps-test:
	@scripts/install-deps.sh test

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# Only what the server needs (no tests, benchmarks or tools): the first
# build on a fresh 2-core machine takes about 5 minutes.
run: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) --target live-stream-server -j $(JOBS)
	$(BUILD)/live-stream-server

# Everything: unit tests, ASan+UBSan unit tests, short fuzz runs, end to end.
test: deps-test
	@scripts/test-all.sh

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

asan:
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLSS_SANITIZE=ON -DLSS_SERVER=OFF
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS) -L unit

# Fuzz each parser for FUZZ_SECONDS (default 20; `make fuzz-long` for 10 minutes each).
FUZZ_SECONDS ?= 20
fuzz:
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLSS_FUZZ=ON -DLSS_SERVER=OFF
	cmake --build build-fuzz -j $(JOBS)
	scripts/run-fuzzers.sh build-fuzz $(FUZZ_SECONDS)

fuzz-long:
	$(MAKE) fuzz FUZZ_SECONDS=600

e2e: build
	scripts/run-e2e.sh $(BUILD)

# The Dockerfile built and run with podman (slow: not part of `make test`).
container-test:
	scripts/container-test.sh

# Hot-path micro benchmarks (Google Benchmark).
bench: $(BUILD)/build.ninja
	cmake --build $(BUILD) --target lss-bench -j $(JOBS)
	LSS_BENCH_BIN=$(BUILD)/lss-bench bench/run-hot-path

# Memory that stays per viewer after its DTLS handshake (bench/viewer_memory.cpp).
.PHONY: bench-memory
bench-memory: $(BUILD)/build.ninja
	cmake --build $(BUILD) --target lss-viewer-memory -j $(JOBS)
	$(BUILD)/lss-viewer-memory --sites

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build build-asan build-fuzz

# Fan-out benchmark (one publisher, 100..1000 viewers) and the comparison with
# Janus; each writes its table into bench/RESULTS.md.
.PHONY: bench-fanout bench-janus
bench-fanout: deps-test
	BUILD=$(BUILD) bench/fanout

bench-janus: deps-test
	BUILD=$(BUILD) bench/vs-janus
