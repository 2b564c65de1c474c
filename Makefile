# nstack — userspace TCP/IP stack for unmodified programs (LD_PRELOAD).
#   make            build/libnstack.so and build/nstack
#   make test       unit, sim and e2e tests
#   make deps       install the Debian packages the build and the tests need

CC      ?= gcc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -fPIC -D_GNU_SOURCE -MMD -MP
CPPFLAGS += -I.
B       := build

STACK_SRC   := $(sort $(wildcard stack/*.c))
SHIM_SRC    := $(sort $(wildcard shim/*.c))
PRELOAD_SRC := $(sort $(wildcard preload/*.c))
# the configuration (NSTACK_* and its parsers): the library and the launcher
CONFIG_SRC  := $(sort $(wildcard config/*.c))
# the pieces the unit and sim tests link: pure stack + in-memory device
TESTLIB_SRC := $(STACK_SRC) shim/mem.c shim/gso.c shim/impair.c shim/impair_spec.c

UNIT_SRC := $(sort $(wildcard tests/unit/*_test.c))
SIM_SRC  := $(sort $(wildcard tests/sim/*_test.c))
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(UNIT_SRC))
SIM_BIN  := $(patsubst tests/sim/%.c,$(B)/tests/sim/%,$(SIM_SRC))
HELPER_SRC := $(sort $(wildcard tests/helpers/*.c))
HELPER_BIN := $(patsubst tests/helpers/%.c,$(B)/tests/helpers/%,$(HELPER_SRC))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

# libpython3.11-testsuite: CPython's test_socket, run under nstack (tests/e2e/posix_cpython.bats)
DEB_PACKAGES := build-essential pkg-config liburing-dev libpcap-dev bats bats-assert bats-support \
	iproute2 iputils-ping curl netcat-openbsd socat tcpdump python3 procps sockperf \
	nginx-light wrk util-linux gnuplot-nox \
	redis-server redis-tools iperf3 python3-scapy ethtool bison flex \
	libpython3.11-testsuite strace traceroute iputils-tracepath

.PHONY: all test unit sim e2e deps clean demo bench conformance
.SECONDARY:
all: $(B)/libnstack.so $(B)/nstack

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# Library: everything hidden except the interposed libc names (NST_EXPORT).
$(B)/obj/lib/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fvisibility=hidden -c $< -o $@

LIB_OBJ := $(patsubst %.c,$(B)/obj/lib/%.o,$(STACK_SRC) $(SHIM_SRC) $(CONFIG_SRC) $(PRELOAD_SRC))
$(B)/libnstack.so: $(LIB_OBJ)
	$(CC) -shared -o $@ $^ -luring -ldl -lpthread

# The CLI: every cli/*.c, plus the configuration's parsers it checks its options with
# (config/, and shim/impair_spec.c for --impair).
$(B)/nstack: $(call obj,$(sort $(wildcard cli/*.c)) $(CONFIG_SRC) shim/impair_spec.c)
	$(CC) -o $@ $^

TESTLIB_OBJ := $(call obj,$(TESTLIB_SRC))
$(B)/tests/unit/%: $(B)/obj/tests/unit/%.o $(TESTLIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^
# the shared-memory arena's test: preload/shm.c alone, not the library
$(B)/tests/unit/shm_test: $(B)/obj/tests/unit/shm_test.o $(B)/obj/preload/shm.o
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ -lpthread
$(B)/tests/sim/%: $(B)/obj/tests/sim/%.o $(TESTLIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^
# shim_fork_test drives the whole device layer (dev.c, pcap, io_uring), as do the
# shim_fork, shim_rearm and shim_claim helpers (tests/e2e/dev_fork.bats): they link all of shim/.
SHIM_ALL_OBJ := $(call obj,$(STACK_SRC) $(SHIM_SRC))
$(B)/tests/unit/shim_fork_test: $(B)/obj/tests/unit/shim_fork_test.o $(SHIM_ALL_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ -luring -lpcap
$(B)/tests/helpers/shim_fork: $(B)/obj/tests/helpers/shim_fork.o $(SHIM_ALL_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ -luring -lpcap
$(B)/tests/helpers/shim_rearm: $(B)/obj/tests/helpers/shim_rearm.o $(SHIM_ALL_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ -luring -lpcap -lpthread
$(B)/tests/helpers/shim_claim: $(B)/obj/tests/helpers/shim_claim.o $(SHIM_ALL_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ -luring -lpcap -lpthread
$(B)/tests/helpers/%: $(B)/obj/tests/helpers/%.o
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ -lpthread
# the lossy-link bridge reads its specifications with the NSTACK_IMPAIR parser
$(B)/tests/helpers/impair_bridge: $(B)/obj/tests/helpers/impair_bridge.o $(B)/obj/shim/impair_spec.o
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^

unit: $(UNIT_BIN)
	@tests/run-bins.sh unit $(UNIT_BIN)
sim: $(SIM_BIN)
	@tests/run-bins.sh sim $(SIM_BIN)
e2e: all $(HELPER_BIN)
	@E2E_BUILD="$(abspath $(B))" tests/run-e2e.sh

# TCP conformance (root): packetdrill scripts (tests/conformance/scripts.list) in wire mode, each
# on the kernel and on nstack in the same run; prints the table. PACKETDRILL_SRC (a tarball or a
# source tree) or PACKETDRILL (a binary) point elsewhere; CONF_ARGS e.g. "-n -f nagle/ -v".
conformance: all
	@BUILD="$(abspath $(B))" tests/conformance/run.sh $(CONF_ARGS)

# One summary line at the end: "N passed, N failed".
test: all $(UNIT_BIN) $(SIM_BIN) $(HELPER_BIN) san-bins fuzz-bins
	@E2E_BUILD="$(abspath $(B))" SAN_BINS="$(SAN_BIN)" FUZZ_BINS="$(FUZZ_BIN)" FUZZ_SECONDS="$(FUZZ_SECONDS)" \
		tests/run-all.sh "$(UNIT_BIN)" "$(SIM_BIN)"

# Benchmarks, nstack vs kernel in one lab (root; < 10 min with the defaults):
# bench/results/<date>.{json,md} and <date>-*.png. BENCH_CASES, BENCH_LOSSY: see bench/run.sh.
BENCH_RUNS    ?= 3
BENCH_SECONDS ?= 3
bench: all $(HELPER_BIN)
	BUILD=$(abspath $(B)) bench/run.sh $(BENCH_RUNS) $(BENCH_SECONDS)

# Soak (not part of make test): SOAK_SECONDS (default 1200) of mixed load through nstack,
# RSS and fd samples to bench/results/soak-<date>.csv, a flat/growing verdict (root).
.PHONY: soak
soak: all $(B)/tests/helpers/impair_bridge
	BUILD=$(abspath $(B)) bench/soak.sh

demo: all
	@./demo.sh

# make install [PREFIX=/usr/local] [DESTDIR=]: the library, the CLI and the man pages.
PREFIX ?= /usr/local
.PHONY: install uninstall
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man7
	install -m 0755 $(B)/nstack $(DESTDIR)$(PREFIX)/bin/nstack
	install -m 0755 $(B)/libnstack.so $(DESTDIR)$(PREFIX)/lib/libnstack.so
	install -m 0644 man/nstack.1 $(DESTDIR)$(PREFIX)/share/man/man1/nstack.1
	install -m 0644 man/libnstack.7 $(DESTDIR)$(PREFIX)/share/man/man7/libnstack.7
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/nstack $(DESTDIR)$(PREFIX)/lib/libnstack.so \
		$(DESTDIR)$(PREFIX)/share/man/man1/nstack.1 $(DESTDIR)$(PREFIX)/share/man/man7/libnstack.7

deps:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	 $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $(DEB_PACKAGES)

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# ---- fuzzing and sanitizers (tests/fuzz/README.md) -------------------------------------------
#   make fuzz [FUZZ_SECONDS=60]   each libFuzzer harness for FUZZ_SECONDS, seeded from the corpus
#   make sanitize                 unit and sim tests built with ASan+UBSan into $(B)/san and run
#                                 (both with -DNST_INVARIANTS: tcp_check after input, output, timers)
#   make fuzz-corpus              regenerate tests/fuzz/corpus/ (make_corpus.c)
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
SAN_FLAGS    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -DNST_INVARIANTS
FUZZ_CFLAGS  := -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -MMD -MP -DNST_INVARIANTS
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN     := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRC))
FUZZ_LIB_OBJ := $(patsubst %.c,$(B)/fuzz/obj/%.o,$(TESTLIB_SRC))
SAN_BIN      := $(patsubst $(B)/%,$(B)/san/%,$(UNIT_BIN) $(SIM_BIN))
DEB_PACKAGES += clang libclang-rt-14-dev

.PHONY: fuzz fuzz-bins fuzz-corpus sanitize san-bins test-bins
# the library under coverage instrumentation; only the harness links libFuzzer's main
$(B)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
		-fno-sanitize-recover=all -fno-omit-frame-pointer -c $< -o $@
$(B)/fuzz/%: $(B)/fuzz/obj/tests/fuzz/%.o $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^
$(B)/fuzz/make_corpus: $(B)/obj/tests/fuzz/make_corpus.o $(TESTLIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^
fuzz-bins: $(FUZZ_BIN)
fuzz: $(FUZZ_BIN)
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BIN)
fuzz-corpus: $(B)/fuzz/make_corpus
	$(B)/fuzz/make_corpus tests/fuzz/corpus
# A sub-make with its own build directory: the same sources, sanitizer flags in CC.
san-bins:
	@$(MAKE) --no-print-directory B=$(B)/san CC="$(FUZZ_CC) $(SAN_FLAGS)" test-bins
test-bins: $(UNIT_BIN) $(SIM_BIN)
	@:
sanitize: san-bins
	@tests/run-bins.sh sanitize $(SAN_BIN)
