# sentrix - Linux-native sandbox for AI agents.
#
#   make             build into build/
#   make install     install under PREFIX (default /usr/local), honours DESTDIR
#   make man         man pages into build/man/ (scdoc; install and check need them)
#   make check       unit tests (no root) + integration tests (root)
#   make asan        build with ASan+UBSan into build/ (then `make check`)
#   make bench       benchmarks
#   make format      clang-format the tree; `make check` verifies it
#   make deb         Debian package $(BUILD)/sentrix_VERSION_ARCH.deb (packaging/debian/)
#   make image       bootable disk image $(BUILD)/sentrix-VERSION-amd64.raw (root; docs/image.md)
#   make check-image boot it under qemu (minutes; not part of `make check`)

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
SBINDIR   ?= $(PREFIX)/sbin
DATADIR   ?= $(PREFIX)/share/sentrix
DOCDIR    ?= $(PREFIX)/share/doc/sentrix
MANDIR    ?= $(PREFIX)/share/man
UNITDIR   ?= $(PREFIX)/lib/systemd/system
# systemd's own: sysusers.d and tmpfiles.d live under lib/ of the prefix.
SYSUSERSDIR  ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR  ?= $(PREFIX)/lib/tmpfiles.d
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR   ?=
CC        ?= cc
BUILD     ?= build
VERSION   := 0.1.0

# sentrix-setup: libnl and SQLite linked statically, libsystemd and
# libnftables opened on demand (src/setup/dlsyms.h): in a VM most of a short
# run is spent mapping shared libraries, and `exec` starts every sandboxed
# command.  See bench/.
PKGS_SETUP   := libnl-3.0 libnl-route-3.0 libnftables libsystemd libcjson sqlite3 libseccomp
SETUP_LIBS   := -Wl,-Bstatic -lnl-route-3 -lnl-3 -lsqlite3 -Wl,-Bdynamic \
		$(shell pkg-config --libs libcjson libseccomp) -lm -ldl -lpthread
# The patrol's detection engine (src/gateway/scan.c): Vectorscan finds,
# PCRE2 confirms, utf8proc normalises.  The gateway runs it; `sentrix
# policy check` compiles the packs with it too.
PKGS_DETECT  := libhs libpcre2-8 libutf8proc
PKGS_CLI     := libcjson libwebsockets $(PKGS_DETECT)
# sentrix-gateway: libmicrohttpd (listening side, external epoll), libcurl
# multi-socket (upstream), sd-event (the one loop), cJSON, c-ares (async
# DNS), ldns (DNS messages), http-parser (egress proxy request heads; no
# pkg-config file, hence GW_LIBS).
PKGS_GW      := libmicrohttpd libcurl libsystemd libcjson sqlite3 libcares ldns openssl libwebsockets $(PKGS_DETECT)
GW_LIBS      := -lhttp_parser
PKGS_TEST    := cmocka libcjson sqlite3 openssl libcurl $(PKGS_DETECT)

# _FORTIFY_SOURCE=2 unless the caller's flags choose a level (dpkg-buildflags
# does): a second, different definition is an error under -Werror.  -U first:
# some compilers define it themselves (Ubuntu's gcc, level 3).
CPPFLAGS    ?=
FORTIFY     := $(if $(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),,-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2)
CFLAGS_BASE := -std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	       -Wno-unused-parameter -fno-strict-aliasing $(FORTIFY) \
	       -fstack-protector-strong \
	       -DSX_PREFIX='"$(PREFIX)"' -DSX_BINDIR='"$(BINDIR)"' -DSX_SBINDIR='"$(SBINDIR)"' \
	       -DSX_DATADIR='"$(DATADIR)"' -DSX_UNITDIR='"$(UNITDIR)"' -DSX_VERSION='"$(VERSION)"'
SANITIZE    ?=
CFLAGS      ?=
ALL_CFLAGS  := $(CFLAGS_BASE) $(SANITIZE) $(CPPFLAGS) $(CFLAGS)
LDFLAGS     ?=
ALL_LDFLAGS := $(SANITIZE) $(LDFLAGS)

LIB_SRC   := $(wildcard src/lib/*.c)
SETUP_SRC := $(wildcard src/setup/*.c)
CLI_SRC   := $(wildcard src/cli/*.c)
GW_SRC    := $(wildcard src/gateway/*.c)
HDRS      := $(wildcard src/*/*.h)

LIB_OBJ   := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
SETUP_OBJ := $(SETUP_SRC:src/%.c=$(BUILD)/obj/%.o)
CLI_OBJ   := $(CLI_SRC:src/%.c=$(BUILD)/obj/%.o)
GW_OBJ    := $(GW_SRC:src/%.c=$(BUILD)/obj/%.o)

# Setup objects the unit tests link (pure logic, no kernel access at load).
SETUP_TESTABLE := $(BUILD)/obj/setup/openclaw.o $(BUILD)/obj/setup/options.o
# Gateway objects the unit tests link (capture records: pure functions; the
# browser bridge certificate, in a scratch directory; the judge's answer
# parsing, hence libcurl in PKGS_TEST).
GW_TESTABLE    := $(BUILD)/obj/gateway/sse.o $(BUILD)/obj/gateway/assemble.o $(BUILD)/obj/gateway/record.o $(BUILD)/obj/gateway/llmreq.o \
		  $(BUILD)/obj/gateway/bridgecert.o $(BUILD)/obj/gateway/bridgemsg.o $(BUILD)/obj/gateway/ocproto.o \
		  $(BUILD)/obj/gateway/devicekey.o $(BUILD)/obj/gateway/scan.o $(BUILD)/obj/gateway/police.o \
		  $(BUILD)/obj/gateway/judge.o

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test-*.c))

.PHONY: all install uninstall check check-unit check-integration check-format asan bench format clean fuzz

# Test helpers the integration tests and benchmarks run (never installed).
TEST_HELPERS := $(BUILD)/tests/mock-llm $(BUILD)/tests/patrol-scan $(BUILD)/tests/upclient-drive

all: $(BUILD)/sentrix $(BUILD)/sentrix-setup $(BUILD)/sentrix-gateway

$(BUILD)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC $<"; $(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags $(PKGS_SETUP) $(PKGS_GW)) -c -o $@ $<

$(BUILD)/sentrix-setup: $(SETUP_OBJ) $(LIB_OBJ)
	$(CC) $(ALL_LDFLAGS) -Wl,-O1,--as-needed -o $@ $^ $(SETUP_LIBS)

$(BUILD)/sentrix: $(CLI_OBJ) $(LIB_OBJ) $(BUILD)/obj/gateway/scan.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(shell pkg-config --libs $(PKGS_CLI) sqlite3)

$(BUILD)/sentrix-gateway: $(GW_OBJ) $(LIB_OBJ)
	$(CC) $(ALL_LDFLAGS) -Wl,-O1,--as-needed -o $@ $^ $(shell pkg-config --libs $(PKGS_GW)) $(GW_LIBS) -lm

$(BUILD)/tests/mock-llm: tests/helpers/mock-llm.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(shell pkg-config --cflags --libs libmicrohttpd libcjson) -lpthread

$(BUILD)/tests/patrol-scan: tests/helpers/patrol-scan.c $(LIB_OBJ) $(BUILD)/obj/gateway/scan.o $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -Isrc -o $@ $< $(LIB_OBJ) $(BUILD)/obj/gateway/scan.o \
		$(shell pkg-config --libs $(PKGS_DETECT) libcjson sqlite3) -lm

# The upstream HTTP client's driver (tests/integration/test-upclient.sh).
$(BUILD)/tests/upclient-drive: tests/helpers/upclient-drive.c $(BUILD)/obj/gateway/upclient.o \
		$(BUILD)/obj/gateway/evloop.o $(BUILD)/obj/gateway/resolver.o $(LIB_OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -Isrc -o $@ $< $(filter %.o,$^) \
		$(shell pkg-config --cflags --libs libsystemd libcares openssl libcjson sqlite3) $(GW_LIBS) -lm

$(BUILD)/tests/%: tests/unit/%.c tests/unit/testutil.h $(LIB_OBJ) $(SETUP_TESTABLE) $(GW_TESTABLE) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -Isrc -o $@ $< $(LIB_OBJ) $(SETUP_TESTABLE) $(GW_TESTABLE) \
		$(shell pkg-config --cflags --libs $(PKGS_TEST))

# Units and setup's templates name the programs' directories: @bindir@,
# @sbindir@ and @docdir@ become the build's.
SUBST := sed -e 's|@bindir@|$(BINDIR)|g' -e 's|@sbindir@|$(SBINDIR)|g' -e 's|@docdir@|$(DOCDIR)|g'

install: all install-man install-completion
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(DATADIR)/templates $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	install -m 0755 $(BUILD)/sentrix $(DESTDIR)$(BINDIR)/sentrix
	install -m 0755 $(BUILD)/sentrix-setup $(DESTDIR)$(SBINDIR)/sentrix-setup
	install -m 0755 $(BUILD)/sentrix-gateway $(DESTDIR)$(BINDIR)/sentrix-gateway
	for u in units/*; do \
		$(SUBST) $$u > $(DESTDIR)$(UNITDIR)/$$(basename $$u); \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$u); \
	done
	install -m 0644 packaging/sysusers.d/sentrix.conf $(DESTDIR)$(SYSUSERSDIR)/sentrix.conf
	install -m 0644 packaging/tmpfiles.d/sentrix.conf $(DESTDIR)$(TMPFILESDIR)/sentrix.conf
	install -m 0644 templates/* $(DESTDIR)$(DATADIR)/templates/
	for p in policy/*; do \
		install -d $(DESTDIR)$(DATADIR)/$$p; \
		install -m 0644 $$p/* $(DESTDIR)$(DATADIR)/$$p/; \
	done
	install -d $(DESTDIR)$(DATADIR)/patrol
	install -m 0644 patrol/*.json $(DESTDIR)$(DATADIR)/patrol/
	# The units' Documentation= points here.
	install -d $(DESTDIR)$(DOCDIR)/docs
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/docs/

uninstall: uninstall-man uninstall-completion
	rm -f $(DESTDIR)$(BINDIR)/sentrix $(DESTDIR)$(BINDIR)/sentrix-gateway $(DESTDIR)$(SBINDIR)/sentrix-setup
	for u in units/*; do rm -f $(DESTDIR)$(UNITDIR)/$$(basename $$u); done
	rm -f $(DESTDIR)$(SYSUSERSDIR)/sentrix.conf $(DESTDIR)$(TMPFILESDIR)/sentrix.conf
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR)

# The whole suite: format, unit (no root), integration (root).  The last
# line is the summary "N passed, N failed, N skipped".
check: all man $(UNIT_TESTS) $(TEST_HELPERS)
	@BUILD=$(BUILD) tests/run-all.sh

check-unit: all $(UNIT_TESTS)
	@BUILD=$(BUILD) tests/run-all.sh unit

check-integration: all $(TEST_HELPERS)
	@BUILD=$(BUILD) tests/run-all.sh integration

asan:
	$(MAKE) clean
	$(MAKE) all $(UNIT_TESTS) $(TEST_HELPERS) SANITIZE="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"

$(BUILD)/bench/seccomp-export: bench/seccomp-export.c $(BUILD)/obj/setup/seccomp.o $(LIB_OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -Isrc -o $@ $< $(BUILD)/obj/setup/seccomp.o $(LIB_OBJ) \
		$(shell pkg-config --cflags --libs libseccomp libcjson sqlite3)

# The load client of bench/egress.sh (new CONNECT tunnels per second).
$(BUILD)/bench/connect-rate: bench/connect-rate.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< -lpthread

bench: all $(BUILD)/bench/seccomp-export $(BUILD)/bench/connect-rate $(TEST_HELPERS)
	@BUILD=$(BUILD) bench/updown.sh
	@BUILD=$(BUILD) bench/exec.sh
	@BUILD=$(BUILD) bench/llm.sh
	@BUILD=$(BUILD) bench/egress.sh
	@BUILD=$(BUILD) bench/turn.sh
	@BUILD=$(BUILD) bench/bridge.sh
	@BUILD=$(BUILD) bench/patrol.sh

format:
	clang-format -i $(wildcard src/*/*.c src/*/*.h tests/unit/*.c tests/unit/*.h)

clean:
	rm -rf $(BUILD)

# ---- man pages and bash completion -----------------------------------------
# man/*.scd are the pages' one source (scdoc): rendered into $(BUILD)/man/ by
# `make man`, which install and check depend on (packaging/install-deps.sh
# installs scdoc; a plain `make` does not need it).  @VERSION@ and @bindir@,
# @sbindir@, @datadir@, @docdir@, @unitdir@ become the build's; the pages
# are rendered again when those change.  Their date is SOURCE_DATE_EPOCH's
# (dpkg sets it), else the last commit to man/'s, so one tree renders the
# same bytes.  Installed uncompressed (the package's dh_compress compresses).
# packaging/completion/sentrix completes all three programs: installed once,
# with sentrix-setup and sentrix-gateway as symlinks to it for the
# bash-completion loader, which looks a completion up by the command's name.
MAN_SRC    := $(wildcard man/*.scd)
MAN_PAGES  := $(MAN_SRC:man/%.scd=$(BUILD)/man/%)
MAN_EPOCH  := $(or $(SOURCE_DATE_EPOCH),$(shell git log -1 --format=%ct -- man 2>/dev/null))
MAN_VARS   := $(VERSION) $(BINDIR) $(SBINDIR) $(DATADIR) $(DOCDIR) $(UNITDIR)
MAN_SUBST  := sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@bindir@|$(BINDIR)|g' \
	      -e 's|@sbindir@|$(SBINDIR)|g' -e 's|@datadir@|$(DATADIR)|g' \
	      -e 's|@docdir@|$(DOCDIR)|g' -e 's|@unitdir@|$(UNITDIR)|g'
COMPLETION_LINKS := sentrix-setup sentrix-gateway

.PHONY: man install-man uninstall-man install-completion uninstall-completion man-vars-force

man: $(MAN_PAGES)

$(BUILD)/man/.vars: man-vars-force
	@mkdir -p $(dir $@)
	@echo '$(MAN_VARS)' | cmp -s - $@ || echo '$(MAN_VARS)' >$@

$(BUILD)/man/%: man/%.scd $(BUILD)/man/.vars
	@command -v scdoc >/dev/null || { echo "make: scdoc is missing; run packaging/install-deps.sh (Debian package scdoc)" >&2; exit 1; }
	@echo "  SCDOC $<"; $(MAN_SUBST) $< | $(if $(MAN_EPOCH),SOURCE_DATE_EPOCH=$(MAN_EPOCH)) scdoc >$@.tmp && mv $@.tmp $@

# sentrix.8 goes to man8, sentrix.policy.5 to man5: the section is the suffix.
install-man: man
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	for p in $(MAN_PAGES); do \
		install -m 0644 $$p $(DESTDIR)$(MANDIR)/man$${p##*.}/$$(basename $$p); \
	done

uninstall-man:
	for p in $(MAN_PAGES); do rm -f $(DESTDIR)$(MANDIR)/man$${p##*.}/$$(basename $$p); done

install-completion:
	install -d $(DESTDIR)$(COMPLETIONDIR)
	install -m 0644 packaging/completion/sentrix $(DESTDIR)$(COMPLETIONDIR)/sentrix
	for l in $(COMPLETION_LINKS); do ln -sf sentrix $(DESTDIR)$(COMPLETIONDIR)/$$l; done

uninstall-completion:
	for c in sentrix $(COMPLETION_LINKS); do rm -f $(DESTDIR)$(COMPLETIONDIR)/$$c; done

# ---- fuzzing: libFuzzer harnesses for the parsers the sandbox reaches -------
# (tests/fuzz/, docs/fuzzing.md).  Built with clang and
# -fsanitize=fuzzer,address,undefined from the same sources as the programs,
# into their own object directory; an archive lets each harness link only
# what it calls.
#
#   make fuzz                   every harness for FUZZ_SECS seconds (default 300)
#   make fuzz FUZZ_SECS=60 FUZZ_ONLY="dns egress"
#   make fuzz-build             build them only (tests/run-all.sh's fuzz tier)
FUZZ_CC     ?= clang
FUZZ_SECS   ?= 300
FUZZ_ONLY   ?=
FUZZ_DIR    := $(BUILD)/fuzz
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := $(filter-out -O2 -D_FORTIFY_SOURCE=2,$(CFLAGS_BASE)) -O1 $(FUZZ_SAN)
# The gateway's and the front door's parsers (no main()), and the LLM
# port's HTTP server with its epoll loop (httpserv.c, evloop.c, listen.c;
# sd-event, from libsystemd, underneath).
FUZZ_SRC    := $(LIB_SRC) $(addprefix src/gateway/,llmreq.c egresshead.c egresslog.c metrics.c dnsmsg.c \
		sse.c assemble.c record.c bridgemsg.c ocproto.c devicekey.c httpserv.c evloop.c listen.c) \
		src/cli/logs.c
FUZZ_OBJ    := $(FUZZ_SRC:src/%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(wildcard tests/fuzz/fuzz-*.c))
FUZZ_LIBS   := $(shell pkg-config --libs libsystemd libcjson ldns sqlite3 openssl) -lhttp_parser -lm

.PHONY: fuzz-build

$(FUZZ_DIR)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC $<"; $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
		$(shell pkg-config --cflags $(PKGS_SETUP) $(PKGS_GW)) -c -o $@ $<

$(FUZZ_DIR)/libsentrix-fuzz.a: $(FUZZ_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(FUZZ_DIR)/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/fuzz.h $(FUZZ_DIR)/libsentrix-fuzz.a $(HDRS)
	@echo "  FUZZLD $@"; $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Isrc \
		$(shell pkg-config --cflags libmicrohttpd libcjson ldns) -o $@ $< \
		-Wl,--as-needed $(FUZZ_DIR)/libsentrix-fuzz.a $(FUZZ_LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@BUILD=$(BUILD) FUZZ_SECS=$(FUZZ_SECS) tests/fuzz/run.sh $(FUZZ_ONLY)

# ---- Debian package ---------------------------------------------------------
# dpkg-buildpackage -b with packaging/debian/ in a copy of the tree under
# $(BUILD)/deb (packaging/build-deb.sh): the checkout is not written to.
# The package is $(BUILD)/sentrix_$(VERSION)_ARCH.deb; the version comes
# from packaging/debian/changelog, which must match VERSION.
.PHONY: deb

deb:
	@packaging/build-deb.sh "$(BUILD)" "$(VERSION)"

# ---- disk image ---------------------------------------------------------------
# A bootable raw disk (BIOS and UEFI, x86_64) of Debian 12 with the package installed
# and a first-boot unit that provisions the instance of IMAGE_CONF
# (packaging/image/build-image.sh, docs/image.md): $(BUILD)/sentrix-$(VERSION)-amd64.raw.
# Needs root (loop devices, mounts, chroot).  `make check-image` builds it
# and boots it under qemu with software emulation, which takes minutes: it
# is not part of `make check`.  IMAGE_KERNEL=linux-image-amd64 for real
# hardware (default: Debian's cloud kernel, 300 MB smaller).
IMAGE_SIZE   ?= 2G
IMAGE_CONF   ?= packaging/image/image.conf
IMAGE_KERNEL ?= linux-image-cloud-amd64
.PHONY: image check-image

image: deb
	@IMAGE_SIZE='$(IMAGE_SIZE)' IMAGE_CONF='$(IMAGE_CONF)' IMAGE_KERNEL='$(IMAGE_KERNEL)' \
		packaging/image/build-image.sh "$(BUILD)" "$(VERSION)"

check-image:
	@BUILD=$(BUILD) tests/image/test-image.sh
