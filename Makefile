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
#   make install PREFIX=/usr/local DESTDIR=
#   make fresh-check  the README's two commands in a new minimal Debian 12 root
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

SAN_BUILD  ?= build/san
TSAN_BUILD ?= build/tsan

# The sanitizer trees have their own variables: `make BUILD=x san` must not
# put sanitizer objects into the normal tree x.
ifeq ($(SAN),1)
override BUILD := $(SAN_BUILD)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -DHFS_SANITIZE
endif
ifeq ($(TSAN),1)
override BUILD := $(TSAN_BUILD)
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer -DHFS_SANITIZE
endif

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
CFLAGS  ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -Wvla $(CFLAGS) -fPIC -fvisibility=hidden -pthread $(SANFLAGS)
# no frame of the library above 16 KiB: a host thread's stack may be small (sanitizer redzones inflate frames)
$(BUILD)/obj/core/%.o $(BUILD)/obj/lib/%.o: ALL_CFLAGS += $(if $(SANFLAGS),,-Wframe-larger-than=16384)
DEPFLAGS   := -MMD -MP

CORE_SRC     := $(filter-out shim/core/cjson_bind.c,$(wildcard shim/core/*.c))
LIB_SRC      := $(wildcard shim/lib/*.c)
LAUNCHER_SRC := $(wildcard shim/launcher/*.c)
UNIT_SRC     := $(wildcard tests/unit/test_*.c)
PROG_SRC     := $(wildcard tests/progs/*.c)
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
RULES        := $(wildcard rules/*.json)

OBJ := $(BUILD)/obj
CORE_OBJ     := $(CORE_SRC:shim/core/%.c=$(OBJ)/core/%.o)
LIB_OBJ      := $(LIB_SRC:shim/lib/%.c=$(OBJ)/lib/%.o) $(OBJ)/core/cjson_bind_dl.o
LAUNCHER_OBJ := $(LAUNCHER_SRC:shim/launcher/%.c=$(OBJ)/launcher/%.o) $(OBJ)/core/cjson_bind.o

LIBSO    := $(BUILD)/lib/libhfshim.so
LAUNCHER := $(BUILD)/bin/hfshim
STAGED_RULES := $(RULES:rules/%=$(BUILD)/share/hfshim/rules/%)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
PROG_BIN := $(PROG_SRC:tests/progs/%.c=$(BUILD)/progs/%)

.PHONY: all san tsan test unit integration demo bench bench-deps deps install uninstall fuzz clean check-exports fresh-check

all: $(LIBSO) $(LAUNCHER) $(STAGED_RULES) $(PROG_BIN)

# header dependencies come from the compiler (-MMD -MP: one .d per object)
$(OBJ)/core/%.o: shim/core/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OBJ)/core/cjson_bind_dl.o: shim/core/cjson_bind.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -DHFS_CJSON_DLOPEN -c $< -o $@

$(OBJ)/lib/%.o: shim/lib/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OBJ)/launcher/%.o: shim/launcher/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

-include $(wildcard $(OBJ)/*/*.d)

# PCRE2 is linked in statically with its symbols hidden (--exclude-libs);
# cJSON is opened privately at run time (shim/core/cjson_bind.c). Only the
# hooks are exported. The archive's path is asked of the compiler here, when
# the recipe runs (after `deps` installed libpcre2-dev), not at parse time.
$(LIBSO): $(CORE_OBJ) $(LIB_OBJ)
	@mkdir -p $(@D)
	@pcre2=$$($(CC) -print-file-name=libpcre2-8.a); \
	case "$$pcre2" in /*) ;; *) echo "libpcre2-8.a not found: install libpcre2-dev (make deps)" >&2; exit 1;; esac; \
	echo "$(CC) -shared -o $@ … $$pcre2 …"; \
	$(CC) -shared -o $@ $^ $(SANFLAGS) -Wl,--exclude-libs,ALL "$$pcre2" -ldl -pthread -Wl,-z,now -Wl,--no-undefined

$(LAUNCHER): $(CORE_OBJ) $(LAUNCHER_OBJ)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(SANFLAGS) -lcjson -lpcre2-8 -lcurl -pthread

$(BUILD)/share/hfshim/rules/%.json: rules/%.json
	@mkdir -p $(@D)
	cp $< $@

$(BUILD)/tests/%: tests/unit/%.c $(CORE_OBJ) $(OBJ)/core/cjson_bind.o tests/unit/unit.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Ishim/core -o $@ $< $(CORE_OBJ) $(OBJ)/core/cjson_bind.o -lcmocka -lcjson -lpcre2-8

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

check-exports: $(LIBSO)
	@bad=$$(nm -D --defined-only $(LIBSO) | awk '{print $$3}' | grep -v -x -f shim/lib/exports.txt || true); \
	if [ -n "$$bad" ]; then echo "unexpected exported symbols:"; echo "$$bad"; exit 1; fi

unit: all $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do $$t; done

# The README's test command: installs what is missing, builds the normal
# and the ASan+UBSan trees, runs the unit tests under both, then the
# integration tests (real programs under the preload) under both.
test: deps
	$(MAKE) all $(UNIT_BIN) check-exports
	$(MAKE) san
	$(MAKE) tsan
	HFSHIM_BUILD=$(BUILD) HFSHIM_SAN_BUILD=$(SAN_BUILD) HFSHIM_TSAN_BUILD=$(TSAN_BUILD) \
	  $(PYTHON) -m pytest -q -p no:cacheprovider tests

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

# Heavy and optional, so neither `make deps` (CI) nor `make bench` installs
# it: mitmproxy, for bench's "requests through mitmproxy" comparison row.
bench-deps: deps
	@dpkg-query -W -f='$${Status}' mitmproxy 2>/dev/null | grep -q "ok installed" || { \
	  SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  echo "bench-deps: installing mitmproxy"; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends mitmproxy >/dev/null; }

fuzz: $(FUZZ_SRC)
	@mkdir -p build/fuzz
	@set -e; for f in $(FUZZ_SRC); do \
	  n=$$(basename $$f .c); \
	  clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Ishim/core -o build/fuzz/$$n $$f \
	    $(filter-out shim/core/log.c,$(wildcard shim/core/*.c)) -lcjson -lpcre2-8 -pthread; \
	  mkdir -p build/fuzz/corpus-$$n; \
	  cp -n tests/fuzz/corpus/$$n/* build/fuzz/corpus-$$n/ 2>/dev/null || true; \
	  echo "fuzzing $$n for $(FUZZ_SECONDS)s"; \
	  build/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 -artifact_prefix=build/fuzz/$$n- build/fuzz/corpus-$$n >build/fuzz/$$n.log 2>&1 \
	    || { tail -40 build/fuzz/$$n.log; exit 1; }; \
	  grep -h "Done" build/fuzz/$$n.log | tail -1; \
	done

deps:
	@bash .ci/deps.sh

install: $(LIBSO) $(LAUNCHER) $(STAGED_RULES)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/share/hfshim/rules
	install -m 0755 $(LAUNCHER) $(DESTDIR)$(PREFIX)/bin/hfshim
	install -m 0755 $(LIBSO) $(DESTDIR)$(PREFIX)/lib/libhfshim.so
	install -m 0644 $(RULES) $(DESTDIR)$(PREFIX)/share/hfshim/rules/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/hfshim $(DESTDIR)$(PREFIX)/lib/libhfshim.so
	rm -rf $(DESTDIR)$(PREFIX)/share/hfshim

clean:
	rm -rf build
