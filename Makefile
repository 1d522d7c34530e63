# Postbote - see README.md. `make help` lists the targets.

PREFIX	?= /usr/local
DESTDIR	?=
CC	?= cc
B	:= build

PKGS	:= sqlite3 jansson libidn2 libcrypto libssl gumbo libcares \
	   libmicrohttpd gmime-3.0 libcurl icu-i18n
# Debian packages the build and the tests need; `make deps` installs the
# missing ones.
DEB_BUILD := build-essential pkg-config libsqlite3-dev libjansson-dev \
	libcsv-dev libidn2-dev libunistring-dev libssl-dev libcmocka-dev \
	libgumbo-dev libopendkim-dev libc-ares-dev libmicrohttpd-dev \
	libgmime-3.0-dev libcurl4-openssl-dev libicu-dev
DEB_TEST  := sqlite3 clang python3 python3-dkim dnsmasq-base python3-aiosmtpd openssl \
	curl chromium
DEB_FUZZ  := libclang-rt-14-dev
DEBS	:= $(DEB_BUILD) $(DEB_TEST) $(DEB_FUZZ)
# Only `make bench` needs Postfix, for smtp-sink and smtp-source.
DEB_BENCH := postfix

WARN	:= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
OPT	?= -O2 -g
CFLAGS	?= $(OPT)
ALL_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE $(WARN) $(CFLAGS) \
	   -iquote engine $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS	= $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcsv -lunistring -lm \
	  -lpthread

ifeq ($(SAN),1)
B	:= build-san
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	      -fno-sanitize-recover=undefined
LDSAN	:= -fsanitize=address,undefined
endif

ENGINE_SRC := $(wildcard engine/*.c)
CLI_SRC	   := $(wildcard cli/*.c)
SCHEMA	   := $(sort $(wildcard schema/*.sql))
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(B)/%.o) $(B)/schema_gen.o $(B)/lint_words.o
CLI_OBJ	   := $(CLI_SRC:%.c=$(B)/%.o)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
TOOLS_SRC  := $(wildcard tests/tools/*.c)
TOOLS_BIN  := $(TOOLS_SRC:tests/tools/%.c=$(B)/tools/%)
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN   := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)

BIN	:= $(B)/postbote
LIB	:= $(B)/libpostbote.a

.PHONY: all deps deps-bench test unit integration demo bench lint fuzz install clean help

all: $(BIN)

help:
	@echo "make deps     install the Debian packages building and testing need"
	@echo "make          build $(BIN)"
	@echo "make test     unit and integration tests (SAN=1: under ASan+UBSan)"
	@echo "make demo     a demo database, campaign and report"
	@echo "make bench    benchmarks (tests/bench), figures for the README"
	@echo "make lint     -Werror with gcc and clang, banned-call check"
	@echo "make fuzz     each libFuzzer target for FUZZ_SECONDS (60)"
	@echo "make install  PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)"

# Installs only what is missing; without root it prints the command.
# Postfix's package would start a mail server where init lets it; the
# policy-rc.d of containers and CI denies that, and the bench only runs
# its test tools.
define install_missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" \
	    || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "missing packages; run: sudo apt-get install -y$$missing"; exit 1; fi; \
	echo "installing:$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null
endef

deps:
	$(call install_missing,$(DEBS))

deps-bench: deps
	$(call install_missing,$(DEB_BENCH))

$(B)/%.o: %.c $(wildcard engine/*.h cli/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The migrations are compiled into the binary, so an installed postbote
# needs no schema/ directory beside it.
$(B)/schema_gen.c: $(SCHEMA) tests/schema_gen.sh
	@mkdir -p $(B)
	sh tests/schema_gen.sh $(SCHEMA) > $@

$(B)/schema_gen.o: $(B)/schema_gen.c $(wildcard engine/*.h)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# So are lint's word lists (templates/lint/*.txt).
$(B)/lint_words.c: $(wildcard templates/lint/*.txt) tests/lint_gen.sh
	@mkdir -p $(B)
	sh tests/lint_gen.sh $(wildcard templates/lint/*.txt) > $@

$(B)/lint_words.o: $(B)/lint_words.c engine/lint.h
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(ENGINE_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(LDSAN) -o $@ $(CLI_OBJ) $(LIB) $(LIBS)

$(B)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LIBS) -lcmocka $(LDSAN)

# Benchmark programs (tests/bench/*.c), run by tests/bench/run.sh.
$(B)/bench/%: tests/bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LIBS) $(LDSAN)

# Test programs the integration scripts drive (tests/tools/*.c).
$(B)/tools/%: tests/tools/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LIBS) $(LDSAN)

# libopendkim is only the tests' second DKIM verifier.
$(B)/tools/dkim_verify: tests/tools/dkim_verify.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags opendkim) -o $@ $< \
	    $(shell pkg-config --libs opendkim) $(LDSAN)

# Each fuzz target with a plain main() (tests/fuzz/replay.c) and the normal
# compiler and flags, so `make test` (and SAN=1) replays every seed and
# regress-* reproducer without libFuzzer: tests/integration/fuzz_corpus.sh.
$(B)/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< tests/fuzz/replay.c $(LIB) $(LIBS) $(LDSAN)

test: deps
	$(MAKE) all $(UNIT_BIN) $(TOOLS_BIN) $(FUZZ_BIN)
	@sh tests/run.sh $(B)

demo: deps all
	@sh tests/demo.sh $(BIN)

bench: deps-bench all $(B)/bench/render_bench
	@sh tests/bench/run.sh $(BIN)

BANNED := '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|sscanf)[[:space:]]*\('
lint: deps
	@if grep -nE $(BANNED) engine/*.[ch] cli/*.[ch]; then \
	  echo "lint: banned calls above (STYLE.md rule 5)"; exit 1; fi
	$(MAKE) B=build-lint-gcc CC=gcc CFLAGS="-O2 -Werror" all $(UNIT_BIN:$(B)/%=build-lint-gcc/%)
	$(MAKE) B=build-lint-clang CC=clang CFLAGS="-O2 -Werror" all $(UNIT_BIN:$(B)/%=build-lint-clang/%)
	@echo "lint: clean"

FUZZ_SECONDS ?= 60
fuzz: deps
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/postbote
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/postbote
	cp -R templates/. $(DESTDIR)$(PREFIX)/share/postbote/

clean:
	rm -rf build build-san build-lint-gcc build-lint-clang build-fuzz
