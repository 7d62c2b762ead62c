# pushstorm build. `make` builds the three programs into bin/; `make test` runs
# unit tests (cmocka, also under ASan/UBSan) and the integration tests; `make demo`
# runs a local campaign. Sources are picked up by directory: a new file in
# agent/ (or in one of controller/'s plan/, run/, report/) is part of its program
# without touching this file.

# The user's variables are added to the project's flags, never replace them
# (Redis's convention): CC, CFLAGS, CPPFLAGS, LDFLAGS, LDLIBS, so that
# `make CFLAGS=-O0` or `make CC=clang` still builds. OPT is the optimisation
# (-O2 -g); WERROR=0 turns -Werror off. PREFIX, BINDIR, MANDIR, UNITDIR and
# DESTDIR place `make install`.
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man/man1
UNITDIR ?= $(PREFIX)/lib/systemd/system
OPT     ?= -O2 -g
WERROR  ?= 1

# Each program links the libraries it calls, by pkg-config name; nng has no
# .pc file on Debian 12. (--as-needed as well: the agent has no use for libcurl
# and its TLS stack, which cost resident memory per process.)
CTL_PKGS   = msgpack sqlite3 libcurl yaml-0.1 libcrypto libmosquitto
AGENT_PKGS = libwebsockets libuv msgpack openssl libcjson
REF_PKGS   = libwebsockets libuv openssl
CTL_LIBS   = $(call pkg,--libs,$(CTL_PKGS)) -lnng
AGENT_LIBS = $(call pkg,--libs,$(AGENT_PKGS)) -lnng
REF_LIBS   = $(call pkg,--libs,$(REF_PKGS))
TEST_LIBS  = $(call pkg,--libs,cmocka)
SYS_LIBS   = -lpthread -lm

# $(call pkg,--libs,PACKAGES): pkg-config's flags; a package it cannot find
# stops the build naming it. Only recipes expand it, so `make deps` (which
# installs the packages) and `make clean` work without them.
pkg = $(foreach p,$(2),$(if $(shell pkg-config --exists '$(p)' && echo y),,$(error pkg-config finds no package "$(p)" (no $(p).pc): run `make deps`, or set PKG_CONFIG_PATH)))$(shell pkg-config $(1) $(2))
# Compiler flags of every package, asked once (on first use).
PKG_CFLAGS = $(eval PKG_CFLAGS := $(call pkg,--cflags,$(sort $(CTL_PKGS) $(AGENT_PKGS) $(REF_PKGS))))$(PKG_CFLAGS)

WARN       = -Wall -Wextra $(if $(filter 0,$(WERROR)),,-Werror)
PS_INC     = -Icommon -Iproto
PS_CFLAGS  = -std=gnu11 $(WARN) $(OPT) -D_GNU_SOURCE
ALL_CFLAGS = $(PS_CFLAGS) $(PS_INC) $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS)
SAN        = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# $(call link,LIBS): the programs and tests, the common archive after their objects.
link = $(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ -Wl,--as-needed $(1) $(SYS_LIBS) $(LDLIBS)

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
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

build/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN) -DPS_TEST_HOOKS -MMD -MP -c $< -o $@

build/controller/%.o build/san/controller/%.o: PS_INC += $(CTL_INC)
# Unit tests reach into each program's modules by name.
build/san/tests/unit/%.o: PS_INC += $(CTL_INC)
build/san/tests/unit/agent/%.o: PS_INC += -Iagent
build/san/tests/unit/refpush/%.o: PS_INC += -Irefpush

obj = $(patsubst %.c,build/%.o,$(1))
sanobj = $(patsubst %.c,build/san/%.o,$(1))

# common/ and proto/ as an archive: each program takes the members it calls,
# so refpush needs neither msgpack (proto) nor anything else it never uses.
build/libps.a: $(call obj,$(COMMON_SRC))
build/san/libps.a: $(call sanobj,$(COMMON_SRC))
build/libps.a build/san/libps.a:
	rm -f $@
	$(AR) rcs $@ $^

bin/pushstorm: $(call obj,$(CTL_SRC)) build/libps.a
	@mkdir -p bin
	$(call link,$(CTL_LIBS))

bin/pushstorm-agent: $(call obj,$(AGENT_SRC)) build/libps.a
	@mkdir -p bin
	$(call link,$(AGENT_LIBS))

bin/refpush: $(call obj,$(REF_SRC)) build/libps.a
	@mkdir -p bin
	$(call link,$(REF_LIBS))

# Sanitizer builds of the programs, used by the integration tests and hostile-server tests.
bin/san/pushstorm: $(call sanobj,$(CTL_SRC)) build/san/libps.a
	@mkdir -p bin/san
	$(call link,$(CTL_LIBS)) $(SAN)
bin/san/pushstorm-agent: $(call sanobj,$(AGENT_SRC)) build/san/libps.a
	@mkdir -p bin/san
	$(call link,$(AGENT_LIBS)) $(SAN)
bin/san/refpush: $(call sanobj,$(REF_SRC)) build/san/libps.a
	@mkdir -p bin/san
	$(call link,$(REF_LIBS)) $(SAN)

# The deliberately misbehaving WebSocket server of tests/integration/test_hostile.sh.
# Built sanitized, so that it too is tested for what the garbage does to it.
HOSTILE_SRC = $(wildcard tests/hostile/*.c)
bin/hostile: $(HOSTILE_SRC) tests/hostile/hostile.h
	@mkdir -p bin
	$(CC) $(ALL_CFLAGS) $(SAN) $(LDFLAGS) -o $@ $(HOSTILE_SRC) $(LDLIBS)

# The impostor agent of tests/integration/test_security.sh (wrong key, spoofed batches, huge requests).
bin/fakeagent: build/tests/security/fakeagent.o build/libps.a
	@mkdir -p bin
	$(call link,$(call pkg,--libs,msgpack libcrypto) -lnng)

# The generator of million-connection results databases (tests/bigdb/bigdb.c)
# for bench/reports.sh and the report and prune tests; optimised, not sanitized.
build/tests/bigdb/%.o: PS_INC += $(CTL_INC)
bin/bigdb: build/tests/bigdb/bigdb.o $(call obj,$(CTL_LIB_SRC)) build/libps.a
	@mkdir -p bin
	$(call link,$(CTL_LIBS))

# The synthetic agents of bench/ingest.sh: many agents in one process that
# join a real controller over nng and report made-up events as fast as it
# takes them (bench/ingest/fakefleet.c). Optimised like the programs it loads.
FLEET_SRC = $(wildcard bench/ingest/*.c)
bin/fakefleet: $(call obj,$(FLEET_SRC)) build/libps.a
	@mkdir -p bin
	$(call link,$(call pkg,--libs,msgpack libcrypto) -lnng)

# One test binary per tests/unit/test_*.c, linked with everything but the mains, sanitized.
# tests/unit/agent/ and tests/unit/refpush/ link those programs' modules instead.
UNIT_BIN = $(patsubst tests/unit/%.c,bin/tests/%,$(UNIT_SRC) $(UNIT_AGENT_SRC) $(UNIT_REF_SRC))
bin/tests/agent/%: build/san/tests/unit/agent/%.o $(call sanobj,$(AGENT_LIB_SRC)) build/san/libps.a
	@mkdir -p $(dir $@)
	$(call link,$(AGENT_LIBS) $(TEST_LIBS)) $(SAN)
# The native engine's socket tests count its send() calls (tests/unit/agent/wsc_peer.h).
bin/tests/agent/test_wsc_engine bin/tests/agent/test_wsc_engine_close: TEST_LIBS += -Wl,--wrap=send
# cJSON is linked into refpush's tests only: test_cmsg_oracle checks refpush's
# own reader against it (refpush/cmsg.c says why refpush does not use it).
bin/tests/refpush/%: build/san/tests/unit/refpush/%.o $(call sanobj,$(REF_LIB_SRC)) build/san/libps.a
	@mkdir -p $(dir $@)
	$(call link,$(REF_LIBS) $(call pkg,--libs,libcjson) $(TEST_LIBS)) $(SAN)
bin/tests/%: build/san/tests/unit/%.o $(call sanobj,$(CTL_LIB_SRC)) build/san/libps.a
	@mkdir -p bin/tests
	$(call link,$(CTL_LIBS) $(TEST_LIBS)) $(SAN)

# libFuzzer targets (tests/fuzz/fuzz_*.c), built by clang with their own
# objects under build/fuzz/ and binaries in bin/fuzz/, apart from the normal
# and sanitized builds. A target links the modules its name says:
# fuzz_refpush_* refpush's, fuzz_plan the controller's, fuzz_wsc the agent's
# WebSocket codec, the others only common/ and proto/. `make fuzz` builds and
# runs each FUZZ_SECONDS (300); `make test` runs each 20 s (tests/fuzz/run.sh).
# clang-14 and its libFuzzer runtime come from `make test-deps`.
FUZZ_CC      ?= clang-14
FUZZ_SECONDS ?= 300
FUZZ_SAN  = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_SRC  = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  = $(patsubst tests/fuzz/%.c,bin/fuzz/%,$(FUZZ_SRC))
fuzzobj = $(patsubst %.c,build/fuzz/%.o,$(1))
fuzzlink = $(FUZZ_CC) $(ALL_CFLAGS) $(LDFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(1) $(SYS_LIBS) $(LDLIBS)

build/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(ALL_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -MMD -MP -c $< -o $@
build/fuzz/controller/%.o: PS_INC += $(CTL_INC)
build/fuzz/tests/fuzz/fuzz_plan.o: PS_INC += $(CTL_INC)
build/fuzz/tests/fuzz/fuzz_refpush_%.o: PS_INC += -Irefpush
build/fuzz/libps.a: $(call fuzzobj,$(COMMON_SRC))
	rm -f $@
	$(AR) rcs $@ $^

# Static pattern rules, one list per kind: a plain pattern rule would let make
# fall back to the common/-only link when one refpush object is not built yet.
FUZZ_REF_BIN = $(filter bin/fuzz/fuzz_refpush_%,$(FUZZ_BIN))
FUZZ_CTL_BIN = bin/fuzz/fuzz_plan
FUZZ_WSC_BIN = bin/fuzz/fuzz_wsc
FUZZ_PS_BIN  = $(filter-out $(FUZZ_REF_BIN) $(FUZZ_CTL_BIN) $(FUZZ_WSC_BIN),$(FUZZ_BIN))
$(FUZZ_REF_BIN): bin/fuzz/%: build/fuzz/tests/fuzz/%.o $(call fuzzobj,$(REF_LIB_SRC)) build/fuzz/libps.a
	@mkdir -p bin/fuzz
	$(call fuzzlink,$(REF_LIBS))
$(FUZZ_CTL_BIN): bin/fuzz/%: build/fuzz/tests/fuzz/%.o $(call fuzzobj,$(CTL_LIB_SRC)) build/fuzz/libps.a
	@mkdir -p bin/fuzz
	$(call fuzzlink,$(CTL_LIBS))
# the agent's WebSocket codec alone: its two files and libcrypto (SHA-1, base64)
$(FUZZ_WSC_BIN): bin/fuzz/%: build/fuzz/tests/fuzz/%.o $(call fuzzobj,agent/wsc_frame.c agent/wsc_http.c)
	@mkdir -p bin/fuzz
	$(call fuzzlink,$(call pkg,--libs,libcrypto))
$(FUZZ_PS_BIN): bin/fuzz/%: build/fuzz/tests/fuzz/%.o build/fuzz/libps.a
	@mkdir -p bin/fuzz
	$(call fuzzlink,$(call pkg,--libs,msgpack))

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@FUZZ_KEEP=1 tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

# Man pages from the programs' own --help (help2man), so they say what the
# option tables say; systemd units from deploy/systemd/*.in with BINDIR filled in.
MAN = $(patsubst bin/%,build/man/%.1,$(BIN))
build/man/%.1: bin/% scripts/manpage.sh
	@mkdir -p build/man
	scripts/manpage.sh $< $@
man: $(MAN)

UNIT_IN = $(wildcard deploy/systemd/*.in)
UNITS   = $(notdir $(UNIT_IN:.in=))

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh test

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

test: test-deps
	@$(MAKE) --no-print-directory all $(SAN_BIN) bin/hostile bin/fakeagent bin/bigdb $(UNIT_BIN)
	@$(MAKE) --no-print-directory fuzz-build || echo "make test: the fuzz targets did not" \
	  "build (they need clang and libFuzzer: make test-deps); they count as failed"
	@tests/run-all.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@PROTOCOL="$(PROTOCOL)" scripts/demo.sh

bench: all bin/bigdb bin/fakefleet
	@bench/run-all.sh

install: all man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/
	install -m 0644 $(MAN) $(DESTDIR)$(MANDIR)/
	for u in $(UNITS); do \
	  sed 's|@BINDIR@|$(BINDIR)|g' deploy/systemd/$$u.in >$(DESTDIR)$(UNITDIR)/$$u.tmp && \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/$$u.tmp && \
	  mv -f $(DESTDIR)$(UNITDIR)/$$u.tmp $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(BIN))) \
	      $(addprefix $(DESTDIR)$(MANDIR)/,$(notdir $(MAN))) \
	      $(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS))

# The Debian package and the fleet's deployment (deploy/debian/ is its debian/
# directory; deploy/ansible/ installs it; docs/deploy.md). `make deb` builds
# build/deb/pushstorm_VERSION_ARCH.deb with dpkg-buildpackage on a copy of the
# tree (the package's rules reuse `make all man` and `make install`) and fails
# on any lintian error; tests/integration/test_deb.sh deploys it with ansible.
deb:
	@scripts/deb.sh
.PHONY: deb

clean:
	rm -rf build bin demo.db demo.db-wal demo.db-shm

.PHONY: all deps test-deps unit test fuzz fuzz-build demo bench man install uninstall clean FORCE
-include $(shell find build -name '*.d' 2>/dev/null)
