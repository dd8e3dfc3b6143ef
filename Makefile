# Entry points. See README.md.
#   make        build build/holdfast (and the tests)
#   make dev    install dependencies, build, run a local cluster
#   make test   install dependencies, build, run every test
#   make bench  run the codec benchmarks
BUILD_DIR ?= build
JOBS ?= $(shell nproc)

.PHONY: all build setup dev test unit-test e2e-test bench clean

all: build

setup:
	@bash scripts/setup.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD_DIR)/build.ninja
	ninja -C $(BUILD_DIR) -j $(JOBS)

dev: setup build
	$(BUILD_DIR)/holdfast dev --data-dir .holdfast-dev

test: setup build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 1500

bench: build
	$(BUILD_DIR)/bench/ec_bench

clean:
	rm -rf $(BUILD_DIR)
