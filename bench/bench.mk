# Benchmark programs, included by the top-level Makefile (include bench/bench.mk).
# Uses its variables: BUILD, CC, APP_CFLAGS, STATIC_LIB, SAN_LDFLAGS, Q.
#
#   make bench            build these, then tools/bench.sh $(BUILD)
#   make bench-scale      build everything, then tools/bench-scale.sh $(BUILD):
#                         throughput and memory from 1 k to 4 M flows and from
#                         1 M to 50 M packets (TSVs and a gnuplot PNG)
#   make bench-programs   only build them
#
# pcap-empty-loop needs libpcap's headers (libpcap-dev); without them it is
# left out and tools/bench.sh skips its row and says what to install.

# Included before the Makefile's first rule, a rule here would become the
# default goal: keep it "all" whatever the include's position.
ifeq ($(.DEFAULT_GOAL),)
.DEFAULT_GOAL := all
endif

BENCH_DIR := $(BUILD)/bench
BENCH_PROGRAMS := $(BENCH_DIR)/minimal-tracker $(BENCH_DIR)/bench-core $(BENCH_DIR)/rusage-run \
	$(BENCH_DIR)/bench-live

# Probe for libpcap only when a bench target is asked for: every other
# make run stays free of the extra compiler call.
ifneq ($(filter bench bench-live bench-scale bench-programs $(BENCH_DIR)/%,$(MAKECMDGOALS)),)
BENCH_HAVE_PCAP := $(shell printf '\043include <pcap/pcap.h>\n' | \
	$(CC) -E -x c - >/dev/null 2>&1 && echo 1)
ifeq ($(BENCH_HAVE_PCAP),1)
BENCH_PROGRAMS += $(BENCH_DIR)/pcap-empty-loop
endif
endif

.PHONY: bench-programs bench-live bench-scale
bench-programs: $(BENCH_PROGRAMS)

# Scaling curves (tools/bench-scale.sh): needs netmoon-gen and netmoon-csv
# too, hence "all".  Without root the missing packages are only named (by
# deps.sh) and the run goes on: the script skips the libpcap rows or the plot.
bench-scale: all $(BENCH_PROGRAMS)
	@tools/deps.sh bench || echo "bench-scale: going on without them" >&2
	tools/bench-scale.sh $(BUILD)

# Live capture under a trafgen blast between two network namespaces (root).
bench-live: $(BENCH_DIR)/bench-live $(BENCH_DIR)/rusage-run
	@tools/deps.sh bench-live
	tools/bench-live.sh $(BUILD)

bench: $(BENCH_PROGRAMS)

# The same flags as everything else (-O2 -g, no -march=native), so the
# numbers describe the code users build.
$(BENCH_DIR)/bench-core $(BENCH_DIR)/bench-live: $(BENCH_DIR)/%: bench/%.c $(STATIC_LIB) $(wildcard include/netmoon/*.h)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(APP_CFLAGS) -o $@ $< $(STATIC_LIB) $(SAN_LDFLAGS) -lpthread

$(BENCH_DIR)/pcap-empty-loop: bench/pcap-empty-loop.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(APP_CFLAGS) -o $@ $< $(SAN_LDFLAGS) -lpcap

$(BENCH_DIR)/minimal-tracker $(BENCH_DIR)/rusage-run: $(BENCH_DIR)/%: bench/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(APP_CFLAGS) -o $@ $< $(SAN_LDFLAGS)
