# Thin wrapper over meson/ninja: the two commands a new user needs are
#   make demo   - build, then run carve on the embedded default (SQLite + a simulated host)
#   make check  - build and run every test tier that this machine can run
BUILD ?= build
ASAN_BUILD ?= build-asan
MESON_OPTS ?=

.PHONY: all deps build demo check check-unit check-asan asan fuzz bench clean golden deb

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	@scripts/install-deps
	meson setup $(BUILD) $(MESON_OPTS)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

demo: build
	@scripts/demo $(BUILD)

check: build
	@scripts/check $(BUILD)

check-unit: build
	meson test -C $(BUILD) --print-errorlogs

$(ASAN_BUILD)/build.ninja:
	@scripts/install-deps
	CC=clang meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true $(MESON_OPTS)

asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

check-asan: asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C $(ASAN_BUILD) --print-errorlogs

golden: build
	@scripts/regen-golden $(BUILD)

# The Debian package (debian/), built from a copy of the tree, checked by
# lintian and run from a throw-away root; the .deb lands in build-deb/.
deb:
	@tests/deb/run build-deb

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz build-deb
