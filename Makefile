# Two commands matter: `make run` and `make test` (see README.md).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps deps-test build e2e-build run test unit san-build asan asan-e2e tsan-build tsan-e2e fuzz fuzz-long e2e bench format clean container-test

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

# One clang build with ASan+UBSan and libFuzzer coverage (build-san) serves
# the unit tests, the server's e2e subset and the fuzzers alike.
SAN_BUILD ?= build-san
$(SAN_BUILD)/build.ninja:
	CC=clang CXX=clang++ cmake -S . -B $(SAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
	  -DLSS_SANITIZE=ON -DLSS_FUZZ=ON

san-build: $(SAN_BUILD)/build.ninja
	cmake --build $(SAN_BUILD) -j $(JOBS)

asan: san-build
	cd $(SAN_BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

# The e2e tests that cross every thread (publish/watch, recording, Socket.IO)
# against the sanitized server; a sanitizer report in its log fails the test.
asan-e2e: san-build
	LSS_SANITIZED=1 scripts/run-e2e.sh $(SAN_BUILD) ./publish_watch.test.mjs ./recording.test.mjs ./socketio.test.mjs

# ThreadSanitizer: the server alone (build-tsan, clang), running the e2e test
# where streams and their viewers' relays cross both media workers, the
# recording thread and the uploader, and the cluster test (its Redis
# thread); a TSan report in its log fails it.
TSAN_BUILD ?= build-tsan
$(TSAN_BUILD)/build.ninja:
	CC=clang CXX=clang++ cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DLSS_TSAN=ON

tsan-build: $(TSAN_BUILD)/build.ninja
	cmake --build $(TSAN_BUILD) --target live-stream-server -j $(JOBS)

# lss-load (the crowd of viewers) comes from the normal build: it is not under test.
tsan-e2e: tsan-build
	cmake --build $(BUILD) --target lss-load -j $(JOBS)
	LSS_SANITIZED=tsan LSS_LOAD_BIN=$(CURDIR)/$(BUILD)/lss-load scripts/run-e2e.sh $(TSAN_BUILD) ./workers.test.mjs ./cluster.test.mjs

# Fuzz each parser for FUZZ_SECONDS (default 12). `make fuzz-long`: each
# until 10^7 executions or 10 minutes, whichever first, its new finds merged
# into fuzz/corpus/<name>/ (commit them). FUZZERS="fuzz_a fuzz_b" runs only those.
FUZZ_SECONDS ?= 12
FUZZ_LONG_SECONDS ?= 600
FUZZ_LONG_RUNS ?= 10000000
fuzz: san-build
	scripts/run-fuzzers.sh $(SAN_BUILD) $(FUZZ_SECONDS)

fuzz-long: san-build
	scripts/run-fuzzers.sh $(SAN_BUILD) $(FUZZ_LONG_SECONDS) $(FUZZ_LONG_RUNS)

# What the e2e tests run: the server and the load generator, not the unit
# tests (`make test` runs those in the sanitizer build only).
e2e-build: $(BUILD)/build.ninja
	cmake --build $(BUILD) --target live-stream-server lss-load -j $(JOBS)

e2e: e2e-build
	scripts/run-e2e.sh $(BUILD)

# The Dockerfile built and run with podman (slow: not part of `make test`).
container-test:
	scripts/container-test.sh

# Hot-path micro benchmarks (Google Benchmark).
bench: $(BUILD)/build.ninja
	cmake --build $(BUILD) --target lss-bench -j $(JOBS)
	LSS_BENCH_BIN=$(BUILD)/lss-bench bench/run-hot-path

# The kernel's UDP send paths for a fan-out (plain, GSO, connected sockets,
# io_uring, AF_XDP) toward tun, veth and ifb devices, and the server's SEND_PATH
# settings side by side on the fan-out (writes bench/RESULTS.md).
.PHONY: bench-send-path bench-send-paths
bench-send-path: deps-test
	cmake --build $(BUILD) --target lss-send-bench lss-xdp-send-bench -j $(JOBS)
	LSS_SEND_BENCH_BIN=$(BUILD)/lss-send-bench bench/run-send-path --benchmark_min_time=0.2 \
	  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
	LSS_XDP_SEND_BENCH_BIN=$(BUILD)/lss-xdp-send-bench LSS_SEND_BENCH_BIN=$(BUILD)/lss-send-bench \
	  LSS_XDP_SEND_DEVICES="veth ifb" \
	  bench/run-xdp-send --benchmark_min_time=0.2 --benchmark_repetitions=3 \
	  --benchmark_report_aggregates_only=true

bench-send-paths: deps-test
	BUILD=$(BUILD) bench/send-paths

# PACING off and on for a Chromium viewer behind a slow link with a shallow
# queue, and what pacing costs at 500 viewers (writes bench/RESULTS.md).
.PHONY: bench-pacing
bench-pacing: deps-test
	BUILD=$(BUILD) bench/pacing

# Memory that stays per viewer after its DTLS handshake (bench/viewer_memory.cpp).
.PHONY: bench-memory
bench-memory: $(BUILD)/build.ninja
	cmake --build $(BUILD) --target lss-viewer-memory -j $(JOBS)
	$(BUILD)/lss-viewer-memory --sites

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build build-san build-tsan build-asan build-fuzz

# Fan-out benchmark (one publisher, 100..1000 viewers) and the comparison with
# Janus; each writes its table into bench/RESULTS.md.
.PHONY: bench-fanout bench-janus
bench-fanout: deps-test
	BUILD=$(BUILD) bench/fanout

bench-janus: deps-test
	BUILD=$(BUILD) bench/vs-janus
