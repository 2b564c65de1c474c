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
# the pieces the unit and sim tests link: pure stack + in-memory device
TESTLIB_SRC := $(STACK_SRC) shim/mem.c

UNIT_SRC := $(sort $(wildcard tests/unit/*_test.c))
SIM_SRC  := $(sort $(wildcard tests/sim/*_test.c))
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(UNIT_SRC))
SIM_BIN  := $(patsubst tests/sim/%.c,$(B)/tests/sim/%,$(SIM_SRC))
HELPER_SRC := $(sort $(wildcard tests/helpers/*.c))
HELPER_BIN := $(patsubst tests/helpers/%.c,$(B)/tests/helpers/%,$(HELPER_SRC))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

DEB_PACKAGES := build-essential pkg-config liburing-dev libpcap-dev bats bats-assert bats-support \
	iproute2 iputils-ping curl netcat-openbsd socat tcpdump python3 procps

.PHONY: all test unit sim e2e deps clean demo
.SECONDARY:
all: $(B)/libnstack.so $(B)/nstack

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# Library: everything hidden except the interposed libc names (NST_EXPORT).
$(B)/obj/lib/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fvisibility=hidden -c $< -o $@

LIB_OBJ := $(patsubst %.c,$(B)/obj/lib/%.o,$(STACK_SRC) $(SHIM_SRC) $(PRELOAD_SRC))
$(B)/libnstack.so: $(LIB_OBJ)
	$(CC) -shared -o $@ $^ -luring -lpcap -ldl -lpthread

$(B)/nstack: $(call obj,cli/nstack.c)
	$(CC) -o $@ $^

TESTLIB_OBJ := $(call obj,$(TESTLIB_SRC))
$(B)/tests/unit/%: $(B)/obj/tests/unit/%.o $(TESTLIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^
$(B)/tests/sim/%: $(B)/obj/tests/sim/%.o $(TESTLIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^
$(B)/tests/helpers/%: $(B)/obj/tests/helpers/%.o
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ -lpthread

unit: $(UNIT_BIN)
	@tests/run-bins.sh unit $(UNIT_BIN)
sim: $(SIM_BIN)
	@tests/run-bins.sh sim $(SIM_BIN)
e2e: all $(HELPER_BIN)
	@tests/run-e2e.sh

# One summary line at the end: "N passed, N failed".
test: all $(UNIT_BIN) $(SIM_BIN) $(HELPER_BIN)
	@tests/run-all.sh "$(UNIT_BIN)" "$(SIM_BIN)"

demo: all
	@./demo.sh

deps:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	 $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $(DEB_PACKAGES)

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
