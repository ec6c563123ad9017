# agentd — build, test and run.  See README.md and docs/HACKING.md.
#
# Conventions that let work land without editing this file:
#   agentd/main.c      -> build/agentd     (daemon entry)
#   agentd/agentctl.c  -> build/agentctl   (CLI entry)
#   agentd/*.c (rest)  -> build/libagentd.a, linked into both binaries and every test
#   tests/unit/test_*.c   -> build/tests/test_*   (cmocka, run by tests/run)
#   tests/fuzz/fuzz_*.c   -> build/fuzz/fuzz_*    (libFuzzer, clang)
#                         -> build/fuzz-replay/fuzz_*  (the corpus replayed, any cc)
#   tests/integration/*.sh, tests/sim/test_*.py  (run by tests/run)

PREFIX      ?= /usr/local
DESTDIR     ?=
BUILD       ?= build
CC          ?= cc
VERSION     := 0.1.0

WITH_SYSTEMD ?= 1

PKGS        := libcurl libcjson yaml-0.1 openssl
ifeq ($(WITH_SYSTEMD),1)
PKGS        += libsystemd
endif

WARN        := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
               -Wformat=2 -Wwrite-strings -Wcast-qual -Werror
CFLAGS      ?= -O2 -g
ALL_CFLAGS   = -std=gnu11 $(WARN) $(CFLAGS) -fno-common \
               $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
ALL_CPPFLAGS = -Iinclude -D_GNU_SOURCE -DAGENTD_VERSION='"$(VERSION)"' \
               -DWITH_SYSTEMD=$(WITH_SYSTEMD) $(CPPFLAGS)
LIBS        := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lev -lm

MAIN_SRCS   := agentd/main.c agentd/agentctl.c
LIB_SRCS    := $(filter-out $(MAIN_SRCS),$(wildcard agentd/*.c))
LIB_OBJS    := $(patsubst agentd/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
REPLAY_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz-replay/%,$(FUZZ_SRCS))

.PHONY: all deps check test-unit fuzz-replay demo bench fuzz sanitize install uninstall clean

all: $(BUILD)/agentd $(BUILD)/agentctl

deps:
	@sh tools/deps.sh

$(BUILD)/obj/%.o: agentd/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libagentd.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $(LIB_OBJS)

$(BUILD)/agentd: $(BUILD)/obj/main.o $(BUILD)/libagentd.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/agentctl: $(BUILD)/obj/agentctl.o $(BUILD)/libagentd.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libagentd.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Wno-missing-prototypes -MMD -MP -MF $@.d \
		$(shell pkg-config --cflags cmocka) -o $@ $< $(BUILD)/libagentd.a \
		$(shell pkg-config --libs cmocka) $(LIBS)

test-unit: $(UNIT_BINS) $(REPLAY_BINS)

# The whole suite: what CI runs (.ci/run) and what README tells a person to run.
# The integration scripts run twice, against this build and against an ASan+UBSan
# build (build-san), CHECK_JOBS at a time; then the unit tests again under valgrind
# (leaks and memory errors fail it).  See docs/HACKING.md, "What make check runs".
CHECK_JOBS ?= 3
SAN_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer
check: deps
	$(MAKE) all test-unit
	$(MAKE) BUILD=build-san CFLAGS="$(SAN_CFLAGS)" LDFLAGS="$(SAN_CFLAGS)" all fuzz-replay
	BUILD=$(BUILD) SAN_BUILD=build-san JOBS=$(CHECK_JOBS) tests/run
	VALGRIND=1 BUILD=$(BUILD) tests/run unit

demo: deps
	$(MAKE) all
	tests/demo.sh

bench: deps
	$(MAKE) all
	tests/bench.sh

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 20
$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(ALL_CPPFLAGS) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
		$(shell pkg-config --cflags $(PKGS)) -o $@ $< $(LIB_SRCS) $(LIBS)

# The corpora replayed without libFuzzer (tests/fuzz/replay.c); tests/run fuzz.
$(BUILD)/fuzz-replay/%: tests/fuzz/%.c tests/fuzz/replay.c $(BUILD)/libagentd.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(BUILD)/libagentd.a $(LIBS)

fuzz-replay: $(REPLAY_BINS)

fuzz: deps $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do \
		n=$$(basename $$f); mkdir -p $(BUILD)/fuzz-corpus/$$n; \
		echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -timeout=5 $(BUILD)/fuzz-corpus/$$n tests/fuzz/corpus/$$n \
			>$(BUILD)/fuzz/$$n.log 2>&1 || { tail -40 $(BUILD)/fuzz/$$n.log; exit 1; }; \
		tail -1 $(BUILD)/fuzz/$$n.log; \
	done

sanitize: deps
	$(MAKE) BUILD=build-san CFLAGS="$(SAN_CFLAGS)" LDFLAGS="-fsanitize=address,undefined" all test-unit
	BUILD=build-san ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 tests/run

# ---- install / uninstall (see docs/operator-guide.md) ----------------------
# The config path is part of the contract (/etc/agentd/agentd.yaml), so
# SYSCONFDIR does not follow PREFIX. systemd searches $(PREFIX)/lib/... for
# units, sysusers.d, tmpfiles.d and catalogs under /usr and /usr/local alike.
UNAME_S       := $(shell uname -s)
BINDIR        ?= $(PREFIX)/bin
SBINDIR       ?= $(PREFIX)/sbin
DATADIR       ?= $(PREFIX)/share
MANDIR        ?= $(DATADIR)/man
SYSCONFDIR    ?= /etc
UNITDIR       ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR   ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR   ?= $(PREFIX)/lib/tmpfiles.d
CATALOGDIR    ?= $(PREFIX)/lib/systemd/catalog
COMPLETIONDIR ?= $(DATADIR)/bash-completion/completions
LAUNCHDDIR    ?= /Library/LaunchDaemons
PKGDATADIR     = $(DATADIR)/agentd
INSTALL       ?= install
# Install paths written into the units and the plist.
SUBST          = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
                     -e 's|@PKGDATADIR@|$(PKGDATADIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

$(BUILD)/subst/%: units/% FORCE
	@mkdir -p $(dir $@)
	$(SUBST) $< > $@

# The shipped config as installed: its relative paths become the installed
# ones, and kubeconfig is left unset so that agentd reads the credential the
# unit passes (LoadCredential=kubeconfig), falling back to the K3s default.
# Rebuilt every time: it depends on PREFIX/DATADIR, which make cannot track.
$(BUILD)/agentd.yaml.installed: config/agentd.yaml FORCE
	@mkdir -p $(dir $@)
	sed -e 's|^manifests: *\.\./manifests|manifests: $(PKGDATADIR)/manifests|' \
	    -e 's|^values: *values\.yaml|values: $(PKGDATADIR)/values.yaml|' \
	    -e 's|^\(kubeconfig:.*\)|# \1   # unset: $$CREDENTIALS_DIRECTORY/kubeconfig first|' $< > $@

install: all $(BUILD)/agentd.yaml.installed $(BUILD)/subst/agentd.service \
		$(BUILD)/subst/io.agentd.agentd.plist
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR)
	$(INSTALL) -m 0755 $(BUILD)/agentd $(DESTDIR)$(SBINDIR)/agentd
	$(INSTALL) -m 0755 $(BUILD)/agentctl $(DESTDIR)$(BINDIR)/agentctl
	$(INSTALL) -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/agentd
	@# An operator's edited config survives a re-install.
	[ -e $(DESTDIR)$(SYSCONFDIR)/agentd/agentd.yaml ] || \
		$(INSTALL) -m 0644 $(BUILD)/agentd.yaml.installed $(DESTDIR)$(SYSCONFDIR)/agentd/agentd.yaml
	$(INSTALL) -d $(DESTDIR)$(PKGDATADIR)
	$(INSTALL) -m 0644 config/values.yaml $(DESTDIR)$(PKGDATADIR)/values.yaml
	find manifests -type f | while IFS= read -r f; do d=$(DESTDIR)$(PKGDATADIR)/$$f; \
		$(INSTALL) -d "$${d%/*}" && $(INSTALL) -m 0644 "$$f" "$$d" || exit 1; done
	$(INSTALL) -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 0644 docs/man/agentctl.1 $(DESTDIR)$(MANDIR)/man1/agentctl.1
	$(INSTALL) -m 0644 docs/man/agentd.yaml.5 $(DESTDIR)$(MANDIR)/man5/agentd.yaml.5
	$(INSTALL) -m 0644 docs/man/agentd.8 $(DESTDIR)$(MANDIR)/man8/agentd.8
	$(INSTALL) -d $(DESTDIR)$(COMPLETIONDIR)
	$(INSTALL) -m 0644 contrib/bash-completion/agentctl $(DESTDIR)$(COMPLETIONDIR)/agentctl
ifeq ($(UNAME_S),Darwin)
	$(INSTALL) -d $(DESTDIR)$(LAUNCHDDIR)
	$(INSTALL) -d -m 0700 $(DESTDIR)/var/db/agentd
	$(INSTALL) -m 0644 $(BUILD)/subst/io.agentd.agentd.plist $(DESTDIR)$(LAUNCHDDIR)/io.agentd.agentd.plist
else
	$(INSTALL) -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(CATALOGDIR)
	$(INSTALL) -m 0644 $(BUILD)/subst/agentd.service $(DESTDIR)$(UNITDIR)/agentd.service
	$(INSTALL) -m 0644 units/agentd.socket $(DESTDIR)$(UNITDIR)/agentd.socket
	$(INSTALL) -m 0644 units/sysusers.d/agentd.conf $(DESTDIR)$(SYSUSERSDIR)/agentd.conf
	$(INSTALL) -m 0644 units/tmpfiles.d/agentd.conf $(DESTDIR)$(TMPFILESDIR)/agentd.conf
	$(INSTALL) -m 0644 docs/catalog/agentd.catalog $(DESTDIR)$(CATALOGDIR)/agentd.catalog
endif

# Removes what install wrote; the config only if it is still the shipped one.
# State (/var/lib/agentd, /var/db/agentd: Vault init material) is left alone.
uninstall: $(BUILD)/agentd.yaml.installed
	rm -f $(DESTDIR)$(SBINDIR)/agentd $(DESTDIR)$(BINDIR)/agentctl
	rm -f $(DESTDIR)$(MANDIR)/man1/agentctl.1 $(DESTDIR)$(MANDIR)/man5/agentd.yaml.5 \
		$(DESTDIR)$(MANDIR)/man8/agentd.8
	rm -f $(DESTDIR)$(COMPLETIONDIR)/agentctl
	rm -f $(DESTDIR)$(UNITDIR)/agentd.service $(DESTDIR)$(UNITDIR)/agentd.socket \
		$(DESTDIR)$(SYSUSERSDIR)/agentd.conf $(DESTDIR)$(TMPFILESDIR)/agentd.conf \
		$(DESTDIR)$(CATALOGDIR)/agentd.catalog $(DESTDIR)$(LAUNCHDDIR)/io.agentd.agentd.plist
	rm -rf $(DESTDIR)$(PKGDATADIR)
	@f=$(DESTDIR)$(SYSCONFDIR)/agentd/agentd.yaml; \
	if [ -e $$f ] && ! cmp -s $$f $(BUILD)/agentd.yaml.installed; then echo "uninstall: keeping modified $$f"; \
	else rm -f $$f; rmdir $(DESTDIR)$(SYSCONFDIR)/agentd 2>/dev/null || true; fi

clean:
	rm -rf build build-san

-include $(LIB_OBJS:.o=.d) $(BUILD)/obj/main.d $(BUILD)/obj/agentctl.d $(UNIT_BINS:=.d)

FORCE:
