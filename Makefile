# pushstorm build. `make` builds the three programs into bin/; `make test` runs
# unit tests (cmocka, also under ASan/UBSan) and the integration tests; `make demo`
# runs a local campaign. Sources are picked up by directory: a new file in
# agent/ (or in one of controller/'s plan/, run/, report/) is part of its program
# without touching this file.

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
PKGS     = libuv libwebsockets msgpack sqlite3 libcurl yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# --as-needed: each program loads only the libraries it calls (the agent has no
# use for libcurl and its TLS stack, which cost resident memory per process)
PKG_LIBS   := -Wl,--as-needed $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lnng -lpthread -lm
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

OPT     ?= -O2 -g
CFLAGS  += $(OPT) -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Icommon -Iproto $(PKG_CFLAGS)
SAN      = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

COMMON_SRC = $(wildcard common/*.c) $(wildcard proto/*.c)
AGENT_SRC  = $(wildcard agent/*.c)
CTL_SRC    = $(wildcard controller/*.c controller/*/*.c)
REF_SRC    = $(wildcard refpush/*.c)
UNIT_SRC   = $(wildcard tests/unit/test_*.c)
UNIT_AGENT_SRC = $(wildcard tests/unit/agent/test_*.c)
UNIT_REF_SRC   = $(wildcard tests/unit/refpush/test_*.c)

# The controller's halves (plan/, run/, report/) include each other's headers.
CTL_INC = -Icontroller $(addprefix -I,$(sort $(patsubst %/,%,$(dir $(wildcard controller/*/*.h)))))

# Each program's objects minus its main, so unit tests can link its modules.
CTL_LIB_SRC = $(filter-out controller/main.c,$(CTL_SRC))
AGENT_LIB_SRC = $(filter-out agent/main.c,$(AGENT_SRC))
REF_LIB_SRC = $(filter-out refpush/main.c,$(REF_SRC))

BIN = bin/pushstorm bin/refpush bin/pushstorm-agent
SAN_BIN = bin/san/pushstorm bin/san/refpush bin/san/pushstorm-agent

all: $(BIN)

build/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

build/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -DPS_TEST_HOOKS -MMD -MP -c $< -o $@

build/controller/%.o build/san/controller/%.o: CFLAGS += $(CTL_INC)
# Unit tests reach into each program's modules by name.
build/san/tests/unit/%.o: CFLAGS += $(CTL_INC)
build/san/tests/unit/agent/%.o: CFLAGS += -Iagent
build/san/tests/unit/refpush/%.o: CFLAGS += -Irefpush

obj = $(patsubst %.c,build/%.o,$(1))
sanobj = $(patsubst %.c,build/san/%.o,$(1))

bin/pushstorm: $(call obj,$(CTL_SRC) $(COMMON_SRC))
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

bin/pushstorm-agent: $(call obj,$(AGENT_SRC) $(COMMON_SRC))
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

bin/refpush: $(call obj,$(REF_SRC) $(COMMON_SRC))
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

# Sanitizer builds of the programs, used by the integration tests and hostile-server tests.
bin/san/pushstorm: $(call sanobj,$(CTL_SRC) $(COMMON_SRC))
	@mkdir -p bin/san
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(PKG_LIBS)
bin/san/pushstorm-agent: $(call sanobj,$(AGENT_SRC) $(COMMON_SRC))
	@mkdir -p bin/san
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(PKG_LIBS)
bin/san/refpush: $(call sanobj,$(REF_SRC) $(COMMON_SRC))
	@mkdir -p bin/san
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(PKG_LIBS)

# The deliberately misbehaving WebSocket server of tests/integration/test_hostile.sh.
bin/hostile: tests/hostile/hostile.c
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $<

# One test binary per tests/unit/test_*.c, linked with everything but the mains, sanitized.
# tests/unit/agent/ and tests/unit/refpush/ link those programs' modules instead.
UNIT_BIN = $(patsubst tests/unit/%.c,bin/tests/%,$(UNIT_SRC) $(UNIT_AGENT_SRC) $(UNIT_REF_SRC))
bin/tests/agent/%: build/san/tests/unit/agent/%.o $(call sanobj,$(COMMON_SRC) $(AGENT_LIB_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)
bin/tests/refpush/%: build/san/tests/unit/refpush/%.o $(call sanobj,$(COMMON_SRC) $(REF_LIB_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)
bin/tests/%: build/san/tests/unit/%.o $(call sanobj,$(COMMON_SRC) $(CTL_LIB_SRC))
	@mkdir -p bin/tests
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh test

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

test: test-deps
	@$(MAKE) --no-print-directory all $(SAN_BIN) bin/hostile $(UNIT_BIN)
	@tests/run-all.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

bench: all
	@bench/run-all.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build bin demo.db demo.db-wal demo.db-shm

.PHONY: all deps test-deps unit test demo bench install clean FORCE
-include $(shell find build -name '*.d' 2>/dev/null)
