# hfshim: builds libhfshim.so and the hfshim launcher into a staged tree
# ($(BUILD)/{bin,lib,share/hfshim/rules}) laid out like an installation,
# and runs the tests, the demo, the benchmarks and the fuzzers.
#
#   make            build            make test     deps + build + all tests
#   make demo       deps + demo      make bench    speed/memory ratios
#   make deps       Debian packages  make fuzz     fuzz every parser
#   make bench-deps mitmproxy, for bench's comparison row (not in `make deps`)
#   make san        ASan+UBSan build into $(SAN_BUILD) (build/san)
#   make tsan       ThreadSanitizer build of the library into $(TSAN_BUILD)
#   make man        the man pages into $(BUILD)/share/man (scdoc)
#   make install PREFIX=/usr/local DESTDIR=
#   make deb        hfshim_VERSION_ARCH.deb in $(BUILD)   make deb-check  it, in a Debian 12 root
#   make wheel      the Python package (pytest plugin) in $(BUILD)/wheel
#   make fresh-check  the README's two commands in a new minimal Debian 12 root
#   make legacy-check the portable build in a minimal Debian 11 root
#   make check-exports  only hooks exported; the portable build's imports
#
# Targets that need the Debian packages (demo, test, bench) run `deps` first
# and build in a sub-make afterwards, so nothing compiles before the
# packages are there, also under -j. Toolchain paths (libpcre2-8.a) are
# probed when the recipe runs, not when make reads this file.

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc
PYTHON  ?= /usr/bin/python3
FUZZ_SECONDS ?= 30

# PORTABLE=1 (the normal build): libhfshim.so and hfshim need nothing at
# run time but glibc >= 2.17 (docs/portable-build.md): cJSON and PCRE2
# linked in with hidden symbols, every glibc import pinned to an old
# version (shim/compat/glibc217.h), libcurl opened by the launcher on use.
# The sanitizer builds run on this machine only: PORTABLE=0.
PORTABLE ?= 1
CJSON_DIR ?= .deps/cjson

# the one version string: `hfshim --version`, the .deb and the wheel
VERSION := $(shell cat VERSION)

SAN_BUILD  ?= build/san
TSAN_BUILD ?= build/tsan

# The sanitizer trees have their own variables: `make BUILD=x san` must not
# put sanitizer objects into the normal tree x.
ifeq ($(SAN),1)
override BUILD := $(SAN_BUILD)
override PORTABLE := 0
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -DHFS_SANITIZE
endif
ifeq ($(TSAN),1)
override BUILD := $(TSAN_BUILD)
override PORTABLE := 0
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer -DHFS_SANITIZE
endif

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
CFLAGS  ?= -O2 -g
ifeq ($(PORTABLE),1)
COMPAT_FLAGS := -include shim/compat/glibc217.h
# libdl and libpthread are not named NEEDED (see glibc217.h): -ldl below
# is the build machine's empty libdl.a (glibc >= 2.34)
COMPAT_LIBS  :=
COMPAT_START := $(BUILD)/obj/compat/start217.o
endif
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -Wvla $(CFLAGS) -fPIC -fvisibility=hidden -pthread $(SANFLAGS) \
              -I$(CJSON_DIR)/include $(COMPAT_FLAGS) -DHFS_VERSION='"$(VERSION)"'
# no frame above 16 KiB: a host thread's stack may be small, and the
# launcher keeps the same rule (sanitizer redzones inflate frames)
$(BUILD)/obj/core/%.o $(BUILD)/obj/lib/%.o $(BUILD)/obj/launcher/%.o: ALL_CFLAGS += $(if $(SANFLAGS),,-Wframe-larger-than=16384)
DEPFLAGS   := -MMD -MP

CORE_SRC     := $(wildcard shim/core/*.c)
LIB_SRC      := $(wildcard shim/lib/*.c)
LAUNCHER_SRC := $(wildcard shim/launcher/*.c)
UNIT_SRC     := $(wildcard tests/unit/test_*.c)
PROG_SRC     := $(wildcard tests/progs/*.c)
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
RULES        := $(wildcard rules/*.json)

OBJ := $(BUILD)/obj
CORE_OBJ     := $(CORE_SRC:shim/core/%.c=$(OBJ)/core/%.o)
LIB_OBJ      := $(LIB_SRC:shim/lib/%.c=$(OBJ)/lib/%.o)
LAUNCHER_OBJ := $(LAUNCHER_SRC:shim/launcher/%.c=$(OBJ)/launcher/%.o) $(COMPAT_START)
CJSON_OBJ    := $(OBJ)/third/cJSON.o

LIBSO    := $(BUILD)/lib/libhfshim.so
LAUNCHER := $(BUILD)/bin/hfshim
STAGED_RULES := $(RULES:rules/%=$(BUILD)/share/hfshim/rules/%)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# The man pages hfshim(1) and hfshim-rules(5) are written in scdoc
# (docs/man/*.scd): a small, well-kept converter in Debian (package scdoc,
# one C program, no dependencies) whose source reads as plain text and
# whose roff is plain man(7). pandoc would do it too, but pulls in a
# Haskell runtime of ~200 MB for two pages.
MAN_SRC  := $(wildcard docs/man/*.scd)
MAN_PAGES := $(foreach s,$(MAN_SRC),$(BUILD)/share/man/man$(subst .,,$(suffix $(basename $(s))))/$(notdir $(basename $(s))))
PROG_BIN := $(PROG_SRC:tests/progs/%.c=$(BUILD)/progs/%)

.PHONY: all san tsan test unit integration demo bench bench-deps deps install uninstall fuzz fuzz-build clean check-exports fresh-check legacy-check lint man deb deb-check wheel

all: $(LIBSO) $(LAUNCHER) $(STAGED_RULES) $(PROG_BIN) $(MAN_PAGES)

man: $(MAN_PAGES)

$(BUILD)/share/man/man1/%: docs/man/%.scd
	@mkdir -p $(@D)
	@command -v scdoc >/dev/null || { echo "make man: scdoc missing (make deps, or apt-get install scdoc)" >&2; exit 1; }
	scdoc <$< >$@.tmp && mv $@.tmp $@

$(BUILD)/share/man/man5/%: docs/man/%.scd
	@mkdir -p $(@D)
	@command -v scdoc >/dev/null || { echo "make man: scdoc missing (make deps, or apt-get install scdoc)" >&2; exit 1; }
	scdoc <$< >$@.tmp && mv $@.tmp $@

# header dependencies come from the compiler (-MMD -MP: one .d per object)
$(OBJ)/core/%.o: shim/core/%.c $(OBJ)/cflags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

# cJSON: Debian's source package (.ci/cjson-src.sh, run by `make deps`, or
# here when it is missing), compiled with the project's flags and hidden
# symbols; its own warnings are its own
$(CJSON_DIR)/cJSON.c:
	bash .ci/cjson-src.sh
$(CJSON_DIR)/include/cjson/cJSON.h: $(CJSON_DIR)/cJSON.c

$(CJSON_OBJ): $(CJSON_DIR)/cJSON.c $(OBJ)/cflags
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE $(CFLAGS) -fPIC -fvisibility=hidden $(SANFLAGS) $(COMPAT_FLAGS) -w -c $< -o $@

$(OBJ)/compat/%.o: shim/compat/%.c $(OBJ)/cflags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

# every object includes <cjson/cJSON.h> through cjson_bind.h or not at all
$(CORE_OBJ) $(LIB_OBJ) $(LAUNCHER_OBJ): | $(CJSON_DIR)/include/cjson/cJSON.h

$(OBJ)/lib/%.o: shim/lib/%.c $(OBJ)/cflags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OBJ)/launcher/%.o: shim/launcher/%.c $(OBJ)/cflags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

-include $(wildcard $(OBJ)/*/*.d)

# the compiler flags the objects were built with: a change (PORTABLE, CFLAGS,
# a tree built before the portable build) rebuilds them all
$(OBJ)/cflags: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(ALL_CFLAGS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS)' >$@
FORCE:

# PCRE2 (Debian's libpcre2-8.a) and cJSON are linked in with their
# symbols hidden (--exclude-libs, -fvisibility=hidden): only the hooks are
# exported. The archive's path is asked of the compiler here, when the
# recipe runs (after `deps` installed libpcre2-dev), not at parse time.
PCRE2_A = pcre2=$$($(CC) -print-file-name=libpcre2-8.a); \
	case "$$pcre2" in /*) ;; *) echo "libpcre2-8.a not found: install libpcre2-dev (make deps)" >&2; exit 1;; esac

# The export list and the version script come from shim/lib/hooks.def (the
# one table of hooks): every HFS_HOOK line, and each HFS_SSL line marked
# HOOK. The version script exports those names and hides the rest.
$(OBJ)/exports.txt: shim/lib/hooks.def
	@mkdir -p $(@D)
	awk -F'[(,]' '/^HFS_HOOK\(/ || (/^HFS_SSL\(/ && $$3 ~ /HOOK/) { gsub(/ /, "", $$2); print $$2 }' $< >$@.tmp
	mv $@.tmp $@
$(OBJ)/hfshim.map: $(OBJ)/exports.txt
	{ echo '{'; echo '  global:'; sed 's/.*/    &;/' $<; echo '  local: *;'; echo '};'; } >$@.tmp
	mv $@.tmp $@

$(LIBSO): $(CORE_OBJ) $(LIB_OBJ) $(CJSON_OBJ) $(OBJ)/hfshim.map
	@mkdir -p $(@D)
	@$(PCRE2_A); \
	echo "$(CC) -shared -o $@ … $$pcre2 …"; \
	$(CC) -shared -o $@ $(filter %.o,$^) $(SANFLAGS) -Wl,--exclude-libs,ALL "$$pcre2" $(COMPAT_LIBS) -ldl -pthread \
	  -Wl,--version-script=$(OBJ)/hfshim.map -Wl,-z,now -Wl,--no-undefined

# libcurl is opened on use (shim/launcher/curldl.c), not linked
$(LAUNCHER): $(CORE_OBJ) $(LAUNCHER_OBJ) $(CJSON_OBJ)
	@mkdir -p $(@D)
	@$(PCRE2_A); \
	echo "$(CC) -o $@ … $$pcre2 …"; \
	$(CC) -o $@ $^ $(SANFLAGS) "$$pcre2" $(COMPAT_LIBS) -ldl -pthread

$(BUILD)/share/hfshim/rules/%.json: rules/%.json
	@mkdir -p $(@D)
	cp $< $@

$(BUILD)/tests/%: tests/unit/%.c $(CORE_OBJ) $(CJSON_OBJ) tests/unit/unit.h tests/unit/unit_rules.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Ishim/core -o $@ $< $(CORE_OBJ) $(CJSON_OBJ) -lcmocka -lpcre2-8

$(BUILD)/progs/%: tests/progs/%.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g -pthread -o $@ $< -ldl

# test programs on libcurl (tests/progs/curl_*.c)
$(BUILD)/progs/curl_%: tests/progs/curl_%.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g -pthread -o $@ $< -lcurl

# exports its own pcre2/cJSON entry points (tests/test_install_symbols.py)
$(BUILD)/progs/symclash: tests/progs/symclash.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g -rdynamic -o $@ $<

san:
	$(MAKE) SAN=1 all $(addprefix $(SAN_BUILD)/tests/,$(notdir $(UNIT_SRC:.c=)))

# ThreadSanitizer build of the library (tests/test_tsan.py runs the
# threaded workloads with it)
tsan:
	$(MAKE) TSAN=1 all

# only the hooks exported; and the portable build's promise: no import
# newer than GLIBC_2.17, none GLIBC_PRIVATE, NEEDED only the C library
# (tests/portable_check.sh; docs/portable-build.md)
# (the version script hides what hooks.def does not list, so "unexpected"
# means a symbol that came another way; "not exported" a hook whose
# function is missing or hidden)
check-exports: $(LIBSO) $(LAUNCHER) $(OBJ)/exports.txt
	@bad=$$(nm -D --defined-only $(LIBSO) | awk '{print $$3}' | grep -v -x -F -f $(OBJ)/exports.txt || true); \
	if [ -n "$$bad" ]; then echo "unexpected exported symbols:"; echo "$$bad"; exit 1; fi
	@gone=$$(nm -D --defined-only $(LIBSO) | awk '{print $$3}' | grep -v -x -F -f - $(OBJ)/exports.txt || true); \
	if [ -n "$$gone" ]; then echo "hooks in shim/lib/hooks.def but not exported by $(LIBSO):"; echo "$$gone"; exit 1; fi
	@unlisted=$$(readelf -W -s $(CORE_OBJ) $(LIB_OBJ) | awk '($$5 == "GLOBAL" || $$5 == "WEAK") && $$6 == "DEFAULT" && $$7 != "UND" {print $$8}' | \
	  grep -v -x -F -f $(OBJ)/exports.txt || true); \
	if [ -n "$$unlisted" ]; then echo "HFS_EXPORT functions missing from shim/lib/hooks.def (the version script hides them):"; echo "$$unlisted"; exit 1; fi
	@if [ "$(PORTABLE)" = 1 ]; then bash tests/portable_check.sh $(LIBSO) $(LAUNCHER); fi

# Style and layering: the C format (.clang-format), calls of hooked names
# and include cycles (tests/test_banned_calls.py, test_include_graph.py),
# the export list both ways and the portable symbol check.
C_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
lint: all san
	@command -v clang-format >/dev/null || { echo "lint: clang-format missing (make deps)"; exit 1; }
	clang-format --dry-run -Werror $(C_FILES)
	$(MAKE) check-exports
	HFSHIM_BUILD=$(BUILD) HFSHIM_SAN_BUILD=$(SAN_BUILD) $(PYTHON) -m pytest -q -p no:cacheprovider \
	  tests/test_banned_calls.py tests/test_include_graph.py

unit: all $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do $$t; done

# The README's test command: installs what is missing, builds the normal
# and the ASan+UBSan trees, runs the unit tests under both, then the
# integration tests (real programs under the preload) under both.
# TEST_JOBS pytest workers (pytest-xdist), one test file per worker at a
# time (--dist loadfile: a file's tests share fixtures and run in order);
# at most 4, as the tests' own programs need the other cores.
# TEST_JOBS=0 runs them in this process, one after another.
TEST_JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 4 ] && n=4; echo $$n)
TEST_PAR   = $(if $(filter-out 0 1,$(TEST_JOBS)),-n $(TEST_JOBS) --dist loadfile,)
test: deps
	$(MAKE) all $(UNIT_BIN) check-exports
	$(MAKE) san
	$(MAKE) tsan
	HFSHIM_BUILD=$(BUILD) HFSHIM_SAN_BUILD=$(SAN_BUILD) HFSHIM_TSAN_BUILD=$(TSAN_BUILD) \
	  $(PYTHON) -m pytest -q -p no:cacheprovider $(TEST_PAR) tests

demo: deps
	$(MAKE) all
	bash examples/demo.sh $(BUILD)

bench: deps
	$(MAKE) all
	$(PYTHON) bench/bench.py --build $(BUILD)

# The README's set-up, tried as a new user would: a minimal Debian 12 root
# (mmdebstrap), the README's first install line, a clean clone of HEAD, then
# `make demo` and `make test` inside it (tests/fresh_machine.sh).
fresh-check:
	bash tests/fresh_machine.sh

# The portable build where it must work: a minimal Debian 11 root (glibc
# 2.31, its own python3 and curl, nothing of ours installed), built once
# with mmdebstrap and cached under ~/.cache/hfshim (tests/legacyroot.py),
# then the library, the launcher and examples/container in it. `make test`
# runs the same tests when that root is cached (about 20 s), and skips
# them when it is not.
legacy-check: all
	HFSHIM_BUILD=$(BUILD) HFSHIM_LEGACY_ROOT=1 $(PYTHON) -m pytest -q -p no:cacheprovider \
	  tests/test_legacy_root.py tests/test_examples_container.py

# Heavy and optional, so neither `make deps` (CI) nor `make bench` installs
# it: mitmproxy, for bench's "requests through mitmproxy" comparison row.
bench-deps: deps
	@dpkg-query -W -f='$${Status}' mitmproxy 2>/dev/null | grep -q "ok installed" || { \
	  SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  echo "bench-deps: installing mitmproxy"; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends mitmproxy >/dev/null; }

# The fuzzers: the core (and cJSON) compiled once with the sanitizers and
# fuzzer instrumentation into build/fuzz/obj, each target linked against it
# (compiling the whole core per target took most of CI's fuzz step).
FUZZ_CORE := $(filter-out shim/core/log.c,$(wildcard shim/core/*.c))
FUZZ_OBJ  := $(patsubst shim/core/%.c,build/fuzz/obj/%.o,$(FUZZ_CORE)) build/fuzz/obj/cJSON.o
FUZZ_BIN  := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
.SECONDARY: $(FUZZ_OBJ)  # objects of the fuzz core: kept, not deleted as intermediates
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Ishim/core -I$(CJSON_DIR)/include

build/fuzz/obj/%.o: shim/core/%.c
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c -o $@ $<

build/fuzz/obj/cJSON.o: $(CJSON_DIR)/cJSON.c
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<

build/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_OBJ) -lpcre2-8 -pthread

-include $(wildcard build/fuzz/obj/*.d)

fuzz-build: $(FUZZ_BIN)

# Each fuzz target for FUZZ_SECONDS, FUZZ_JOBS of them at a time (one per
# core by default); a crash prints the end of that target's log and fails.
FUZZ_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
FUZZ_RUNS := $(addprefix fuzz-run/,$(notdir $(FUZZ_BIN)))
fuzz: fuzz-build
	@$(MAKE) --no-print-directory -j$(FUZZ_JOBS) $(FUZZ_RUNS)

fuzz-run/%: build/fuzz/%
	@mkdir -p build/fuzz/corpus-$*
	@cp -n tests/fuzz/corpus/$*/* build/fuzz/corpus-$*/ 2>/dev/null || true
	@echo "fuzzing $* for $(FUZZ_SECONDS)s"
	@$< -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 -artifact_prefix=build/fuzz/$*- build/fuzz/corpus-$* \
	  >build/fuzz/$*.log 2>&1 || { tail -40 build/fuzz/$*.log; echo "fuzz: $* failed"; exit 1; }
	@echo "$*: $$(grep -h "Done" build/fuzz/$*.log | tail -1)"

deps:
	@bash .ci/deps.sh

install: $(LIBSO) $(LAUNCHER) $(STAGED_RULES) $(MAN_PAGES)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/share/hfshim/rules \
	  $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 0755 $(LAUNCHER) $(DESTDIR)$(PREFIX)/bin/hfshim
	install -m 0755 $(LIBSO) $(DESTDIR)$(PREFIX)/lib/libhfshim.so
	install -m 0644 $(RULES) $(DESTDIR)$(PREFIX)/share/hfshim/rules/
	install -m 0644 $(BUILD)/share/man/man1/hfshim.1 $(DESTDIR)$(PREFIX)/share/man/man1/hfshim.1
	install -m 0644 $(BUILD)/share/man/man5/hfshim-rules.5 $(DESTDIR)$(PREFIX)/share/man/man5/hfshim-rules.5

# Three ways in, one tree: the .deb, the wheel and examples/container's
# layer stage all wrap what `make install` installs (packaging/README.md).
# The .deb: packaging/deb/build.sh (dpkg-shlibdeps, dpkg-deb).
deb: $(LIBSO) $(LAUNCHER) $(STAGED_RULES)
	@bash packaging/deb/build.sh $(BUILD) $(BUILD)

# The .deb installed, used and purged in a minimal Debian 12 root
# (tests/test_deb.py; the root is built once with mmdebstrap and cached
# under ~/.cache/hfshim, as legacy-check's; `make test` runs the same test
# when it is cached and skips it otherwise).
deb-check: deb
	HFSHIM_BUILD=$(BUILD) HFSHIM_DEB_ROOT=1 $(PYTHON) -m pytest -q -p no:cacheprovider tests/test_deb.py

# The wheel: packaging/python with `make install`'s tree as hfshim/_native,
# built by Debian's python3-build/setuptools/wheel (no index). Tagged
# manylinux2014_x86_64 (glibc 2.17) when the portable check passes on
# x86-64, else linux_<arch>.
WHEEL_DIR := $(BUILD)/wheel
wheel: $(LIBSO) $(LAUNCHER) $(STAGED_RULES)
	@rm -rf $(WHEEL_DIR) && mkdir -p $(WHEEL_DIR)
	@cp -r packaging/python $(WHEEL_DIR)/src && find $(WHEEL_DIR)/src -name __pycache__ -prune -exec rm -rf {} +
	@$(MAKE) -s install PREFIX= DESTDIR=$(abspath $(WHEEL_DIR))/src/hfshim/_native >/dev/null
	@cp VERSION $(WHEEL_DIR)/src/hfshim/VERSION
	@plat=linux_$$(uname -m); \
	if [ "$(PORTABLE)" = 1 ] && [ "$$(uname -m)" = x86_64 ] && bash tests/portable_check.sh $(LIBSO) $(LAUNCHER) >/dev/null; \
	then plat=manylinux2014_x86_64; fi; \
	cd $(WHEEL_DIR)/src && HFSHIM_WHEEL_PLAT=$$plat $(PYTHON) -m build --no-isolation --wheel --outdir .. . >../build.log 2>&1 \
	  || { tail -30 ../build.log; exit 1; }
	@ls $(WHEEL_DIR)/*.whl

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/hfshim $(DESTDIR)$(PREFIX)/lib/libhfshim.so
	rm -f $(DESTDIR)$(PREFIX)/share/man/man1/hfshim.1 $(DESTDIR)$(PREFIX)/share/man/man5/hfshim-rules.5
	rm -rf $(DESTDIR)$(PREFIX)/share/hfshim

clean:
	rm -rf build
