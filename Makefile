# libnetmoon - plain GNU make build.
#
#   make            library, programs, libnetmoon.pc
#   make run        build, then netmoon-csv on the sample capture we ship
#   make check      every test suite (unit, corpus, ABI, downstream)
#   make check-valgrind / check-asan / docs / bench / bench-scale / bench-live
#   make install / uninstall
#
# Variables: CC, CFLAGS, PREFIX, LIBDIR, INCLUDEDIR, BINDIR, MANDIR, DESTDIR,
# WERROR=1 (warnings are errors; CI sets it), SANITIZE=address,undefined,
# BUILD (output directory, default build), V=1 (show commands).

CC ?= cc
BUILD ?= build

# The version comes from the header, and only from there.
VERSION_H := include/netmoon/version.h
VER_MAJOR := $(shell sed -n 's/^\#define NETMOON_VERSION_MAJOR \([0-9]*\).*/\1/p' $(VERSION_H))
VER_MINOR := $(shell sed -n 's/^\#define NETMOON_VERSION_MINOR \([0-9]*\).*/\1/p' $(VERSION_H))
VER_PATCH := $(shell sed -n 's/^\#define NETMOON_VERSION_PATCH \([0-9]*\).*/\1/p' $(VERSION_H))
VERSION := $(VER_MAJOR).$(VER_MINOR).$(VER_PATCH)
SONAME := libnetmoon.so.$(VER_MAJOR)
MAP := libnetmoon/libnetmoon.map

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wcast-align -Wformat=2 -Wundef
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
OPT ?= -O2 -g
CFLAGS ?=
BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(OPT) $(WARNINGS) -Iinclude
NO_UNDEFINED := -Wl,--no-undefined
ifneq ($(SANITIZE),)
BASE_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_LDFLAGS := -fsanitize=$(SANITIZE)
# clang leaves the sanitizer runtime to the executable, not the shared library.
NO_UNDEFINED :=
endif
LIB_CFLAGS := $(BASE_CFLAGS) -DNETMOON_BUILDING -fvisibility=hidden $(CFLAGS)
APP_CFLAGS := $(BASE_CFLAGS) $(CFLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRCS := $(sort $(wildcard libnetmoon/*.c))
LIB_HDRS := $(wildcard libnetmoon/*.h) $(wildcard include/netmoon/*.h)
STATIC_OBJS := $(patsubst libnetmoon/%.c,$(BUILD)/obj/static/%.o,$(LIB_SRCS))
SHARED_OBJS := $(patsubst libnetmoon/%.c,$(BUILD)/obj/shared/%.o,$(LIB_SRCS))

STATIC_LIB := $(BUILD)/lib/libnetmoon.a
SHARED_LIB := $(BUILD)/lib/libnetmoon.so.$(VERSION)
PC_FILE := $(BUILD)/libnetmoon.pc

PROGRAMS := $(BUILD)/bin/netmoon-csv $(BUILD)/bin/netmoon-top
TOOLS := $(BUILD)/bin/netmoon-gen
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_SUPPORT := $(wildcard tests/support/*.c)

SAMPLE := tests/fixtures/sample.pcap

.PHONY: all lib programs tests run check check-unit check-corpus check-abi check-symbols \
	check-downstream check-valgrind check-asan docs bench install uninstall clean deps \
	abi-baseline

all: lib programs $(PC_FILE)

lib: $(STATIC_LIB) $(BUILD)/lib/$(SONAME) $(BUILD)/lib/libnetmoon.so

programs: $(PROGRAMS) $(TOOLS)

# --- the library -------------------------------------------------------------

# Refuse to build when the version script has no node for this minor release.
$(BUILD)/.map-checked: $(MAP) $(VERSION_H)
	@grep -q '^NETMOON_$(VER_MAJOR)\.$(VER_MINOR) ' $(MAP) || \
	  { echo "error: $(MAP) has no node NETMOON_$(VER_MAJOR).$(VER_MINOR) for version $(VERSION)"; exit 1; }
	@mkdir -p $(@D) && touch $@

$(BUILD)/obj/static/%.o: libnetmoon/%.c $(LIB_HDRS) $(BUILD)/.map-checked
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(LIB_CFLAGS) -c -o $@ $<

$(BUILD)/obj/shared/%.o: libnetmoon/%.c $(LIB_HDRS) $(BUILD)/.map-checked
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC [PIC] $@")
	$(Q)$(CC) $(LIB_CFLAGS) -fPIC -c -o $@ $<

$(STATIC_LIB): $(STATIC_OBJS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(SHARED_LIB): $(SHARED_OBJS) $(MAP)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -fPIC $(SAN_LDFLAGS) -Wl,-soname,$(SONAME) -Wl,--version-script=$(MAP) \
	  $(NO_UNDEFINED) -o $@ $(SHARED_OBJS) -lpthread

$(BUILD)/lib/$(SONAME): $(SHARED_LIB)
	$(Q)ln -sf libnetmoon.so.$(VERSION) $@

$(BUILD)/lib/libnetmoon.so: $(BUILD)/lib/$(SONAME)
	$(Q)ln -sf $(SONAME) $@

$(PC_FILE): pkgconfig/libnetmoon.pc.in $(VERSION_H)
	@mkdir -p $(@D)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	  -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

# --- programs: public headers and the shared library only --------------------

APP_LDFLAGS := -L$(BUILD)/lib -Wl,-rpath,'$$ORIGIN/../lib' $(SAN_LDFLAGS)

$(BUILD)/bin/netmoon-csv: $(wildcard examples/netmoon-csv/*.c examples/netmoon-csv/*.h \
		examples/common/*.c examples/common/*.h) \
		$(BUILD)/lib/libnetmoon.so
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(APP_CFLAGS) -o $@ $(filter %.c,$^) $(APP_LDFLAGS) -lnetmoon -pthread

CURSES_LIBS := $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw)
CURSES_CFLAGS := $(shell pkg-config --cflags ncursesw 2>/dev/null)

$(BUILD)/bin/netmoon-top: $(wildcard examples/netmoon-top/*.c examples/netmoon-top/*.h \
		examples/common/*.c examples/common/*.h) \
		$(BUILD)/lib/libnetmoon.so
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(APP_CFLAGS) $(CURSES_CFLAGS) -o $@ $(filter %.c,$^) $(APP_LDFLAGS) -lnetmoon \
	  $(CURSES_LIBS)

# The synthetic capture generator used by tests and benchmarks.
$(BUILD)/bin/netmoon-gen: tools/netmoon-gen.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(APP_CFLAGS) -o $@ $< $(SAN_LDFLAGS)

# --- tests -------------------------------------------------------------------

# netmoon-top's formatting helpers: pure code, tested without the library.
$(BUILD)/tests/test_top_format: tests/test_top_format.c examples/netmoon-top/format.c \
		examples/netmoon-top/format.h
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(APP_CFLAGS) -Iexamples/netmoon-top -o $@ tests/test_top_format.c \
	  examples/netmoon-top/format.c $(SAN_LDFLAGS) -lcmocka

# Unit suites link the static library, so they can reach internal helpers.
$(BUILD)/tests/%: tests/%.c $(TEST_SUPPORT) $(wildcard tests/support/*.h) $(STATIC_LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(APP_CFLAGS) -Ilibnetmoon -Itests -o $@ $< $(TEST_SUPPORT) $(STATIC_LIB) \
	  $(SAN_LDFLAGS) -lcmocka -lpthread

# Drivers the check scripts run (tests/check-filter.sh).
TEST_DRIVERS := $(BUILD)/tests/filter-match
tests: $(TESTS) $(TEST_DRIVERS)

deps:
	@tools/deps.sh all

# Dependency checks run first (and alone) so a missing package is named before
# the compiler fails on it.
run:
	@tools/deps.sh build
	@$(MAKE) --no-print-directory all
	$(BUILD)/bin/netmoon-csv -r $(SAMPLE)

check:
	@tools/deps.sh check
	@$(MAKE) --no-print-directory all tests fuzz-replay
	@tools/run-tests.sh $(BUILD)

check-valgrind:
	@tools/deps.sh check
	@$(MAKE) --no-print-directory all tests fuzz-replay
	@NETMOON_VALGRIND=1 tools/run-tests.sh $(BUILD)

check-asan:
	@tools/deps.sh check
	$(MAKE) BUILD=build/asan SANITIZE=address,undefined OPT='-O1 -g' all tests fuzz-replay
	@NETMOON_ASAN=1 tools/run-tests.sh build/asan

# Regenerate the ABI baseline after an intended, announced ABI change.
abi-baseline: lib
	@mkdir -p tests/abi
	abidw --no-corpus-path --headers-dir include/netmoon $(SHARED_LIB) > tests/abi/libnetmoon.abi

docs:
	@tools/deps.sh docs
	$(Q)mkdir -p $(BUILD)/docs && (cat docs/Doxyfile; echo "OUTPUT_DIRECTORY=$(BUILD)/docs"; \
	  echo "PROJECT_NUMBER=$(VERSION)") | doxygen -
	@echo "docs: $(BUILD)/docs/html/index.html"

# The throughput table, then the scaling curves (NETMOON_BENCH_SCALE=0: table only).
bench: all
	@tools/bench.sh $(BUILD)
	@if [ "$${NETMOON_BENCH_SCALE:-1}" != 0 ]; then tools/bench-scale.sh $(BUILD); fi

# --- install -----------------------------------------------------------------

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/netmoon $(DESTDIR)$(PKGCONFIGDIR) \
	  $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libnetmoon.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libnetmoon.so
	install -m 644 include/netmoon/*.h $(DESTDIR)$(INCLUDEDIR)/netmoon/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	  -e 's|@VERSION@|$(VERSION)|' pkgconfig/libnetmoon.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/libnetmoon.pc
	$(CC) $(APP_CFLAGS) -o $(DESTDIR)$(BINDIR)/netmoon-csv examples/netmoon-csv/*.c examples/common/*.c \
	  -L$(BUILD)/lib -Wl,-rpath,$(LIBDIR) -lnetmoon -pthread
	$(CC) $(APP_CFLAGS) $(CURSES_CFLAGS) -o $(DESTDIR)$(BINDIR)/netmoon-top \
	  examples/netmoon-top/*.c examples/common/*.c -L$(BUILD)/lib -Wl,-rpath,$(LIBDIR) -lnetmoon $(CURSES_LIBS)
	install -m 644 docs/netmoon-csv.1 docs/netmoon-top.1 $(DESTDIR)$(MANDIR)/man1/

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libnetmoon.a $(DESTDIR)$(LIBDIR)/libnetmoon.so* \
	  $(DESTDIR)$(PKGCONFIGDIR)/libnetmoon.pc $(DESTDIR)$(BINDIR)/netmoon-csv $(DESTDIR)$(BINDIR)/netmoon-top \
	  $(DESTDIR)$(MANDIR)/man1/netmoon-csv.1 $(DESTDIR)$(MANDIR)/man1/netmoon-top.1
	rm -rf $(DESTDIR)$(INCLUDEDIR)/netmoon

clean:
	rm -rf $(BUILD) build

# --- fuzzing (clang's libFuzzer) ------------------------------------------------

FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/fuzz-*.c))
FUZZ_SECONDS ?= 60
FUZZ_REPLAYS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/replay/%,$(wildcard tests/fuzz/fuzz-*.c))

.PHONY: fuzz fuzz-run fuzz-long fuzz-seeds fuzz-replay check-fuzz-regressions
fuzz: $(FUZZ_TARGETS)

build/fuzz/%: tests/fuzz/%.c $(wildcard tests/fuzz/*.h) $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang -std=gnu11 -D_GNU_SOURCE -DNETMOON_BUILDING -O1 -g -Iinclude -Ilibnetmoon \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $< $(LIB_SRCS) -lpthread

# The same targets as plain programs (any compiler): each argument is one input.
$(BUILD)/fuzz/replay/%: tests/fuzz/%.c $(wildcard tests/fuzz/*.h) tests/fuzz/replay.c $(STATIC_LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(APP_CFLAGS) -o $@ $< tests/fuzz/replay.c $(STATIC_LIB) $(SAN_LDFLAGS) -lpthread
fuzz-replay: $(FUZZ_REPLAYS)

$(BUILD)/fuzz/extract-frames: tests/fuzz/extract-frames.c $(STATIC_LIB)
	@mkdir -p $(@D)
	$(Q)$(CC) $(APP_CFLAGS) -o $@ $< $(STATIC_LIB) $(SAN_LDFLAGS) -lpthread

fuzz-seeds: $(BUILD)/fuzz/extract-frames $(BUILD)/bin/netmoon-gen
	@tests/fuzz/seeds.sh $(BUILD)

# Every target for FUZZ_SECONDS each on its seeds; crashes go to tests/fuzz-regressions/.
fuzz-run fuzz-long: fuzz fuzz-seeds
	@tools/fuzz-long.sh $(FUZZ_SECONDS) build

check-fuzz-regressions: fuzz-replay
	@tests/check-fuzz-regressions.sh $(BUILD)

# Benchmarks (bench/bench.mk reads the variables above).
include bench/bench.mk
