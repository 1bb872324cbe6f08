# preforkd — see README.md. `make run` serves, `make test` tests.
# Everything builds into $(BUILD); the sanitizer pass uses BUILD=build/asan SAN=1.

BUILD   ?= build
SAN     ?=
CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
PYTHON  ?= /usr/bin/python3

PKGS     = libbsd openssl

# What the build needs is kept apart from what a caller may set: `make
# CFLAGS=-O0` or CPPFLAGS/LDLIBS from the environment add to these, never
# drop the standard, the warnings or the header dependencies.
CFLAGS  ?= -O2 -g
REQ_CPPFLAGS = -D_GNU_SOURCE -I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
REQ_CFLAGS   = -std=c11 -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers -MMD -MP
REQ_LDLIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lrt
ifeq ($(SAN),1)
SAN_FLAGS = -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
REQ_LDFLAGS = -fsanitize=address,undefined
endif
COMPILE = $(CC) $(REQ_CPPFLAGS) $(CPPFLAGS) $(REQ_CFLAGS) $(CFLAGS) $(SAN_FLAGS)
LINK    = $(CC) $(REQ_LDFLAGS) $(LDFLAGS)

# Three static libraries, one per layer: each binary links what it calls.
# preforkctl takes the control client's own objects and libipc only.
IPC_SRC    = $(wildcard ipc/*.c ipc/base/*.c)
SERVER_SRC = $(wildcard server/*.c)
SUP_SRC    = $(filter-out supervisor/main.c,$(wildcard supervisor/*.c))
CTL_SRC    = $(wildcard supervisor/ctl/*.c)
UNIT_SRC   = $(wildcard tests/unit/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIBIPC    = $(BUILD)/libipc.a
LIBSERVER = $(BUILD)/libserver.a
LIBSUP    = $(BUILD)/libsupervisor.a
CTL_OBJ   = $(call obj,$(CTL_SRC))

.SECONDARY:
.PHONY: all run test unit integration check-asan test-asan deps deps-test bench chaos fuzz fuzz-short install clean

all: $(BUILD)/preforkd $(BUILD)/preforkctl

deps:
	@scripts/install-deps build
deps-test:
	@scripts/install-deps test

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(COMPILE) -c -o $@ $<

$(LIBIPC): $(call obj,$(IPC_SRC))
$(LIBSERVER): $(call obj,$(SERVER_SRC))
$(LIBSUP): $(call obj,$(SUP_SRC))
$(LIBIPC) $(LIBSERVER) $(LIBSUP):
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/preforkd: $(call obj,supervisor/main.c) $(LIBSUP) $(LIBSERVER) $(LIBIPC)
	$(LINK) -o $@ $^ $(REQ_LDLIBS) $(LDLIBS)

$(BUILD)/preforkctl: $(CTL_OBJ) $(LIBIPC)
	$(LINK) -o $@ $^ $(REQ_LDLIBS) $(LDLIBS)

$(BUILD)/unit-tests: $(call obj,$(UNIT_SRC)) $(filter-out %/preforkctl.o,$(CTL_OBJ)) $(LIBSUP) $(LIBSERVER) $(LIBIPC)
	$(LINK) -o $@ $^ $(REQ_LDLIBS) $(LDLIBS) $(shell pkg-config --libs criterion 2>/dev/null || echo -lcriterion)

run: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/preforkd $(ARGS)

# Unit tests, then integration tests, then the same again under ASan+UBSan.
test: deps-test
	@$(MAKE) --no-print-directory unit integration
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 unit integration
	@$(MAKE) --no-print-directory fuzz-short

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests --jobs 2

integration: all
	PREFORKD_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -rs -p no:cacheprovider tests/integration

# The fuzz targets are built by clang with libFuzzer into $(BUILD)/fuzz,
# from their own instrumented copy of the libraries (config parser included).
FUZZ_SRC  = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  = $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_OBJ  = $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(IPC_SRC) $(SERVER_SRC) $(wildcard supervisor/config*.c))
FUZZ_LIB  = $(BUILD)/fuzz/libfuzzed.a
FUZZ_CC   = clang $(REQ_CPPFLAGS) $(CPPFLAGS) -std=c11 -g -O1 -MMD -MP \
            -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_SECS ?= 60

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/fuzz/%: $(BUILD)/fuzz/obj/tests/fuzz/%.o $(FUZZ_LIB)
	$(FUZZ_CC) -fsanitize=fuzzer -o $@ $^ $(REQ_LDLIBS) $(LDLIBS)

fuzz: deps-test $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p $(BUILD)/fuzz/corpus-$$n; \
	  echo "fuzz: $$n for $(FUZZ_SECS)s"; \
	  $$f -max_total_time=$(FUZZ_SECS) -print_final_stats=0 $(BUILD)/fuzz/corpus-$$n tests/fuzz/corpus/$$n \
	    > $(BUILD)/fuzz/$$n.log 2>&1 || { tail -40 $(BUILD)/fuzz/$$n.log; exit 1; }; done; echo "fuzz: no crash"

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECS=10

bench: deps
	@scripts/install-deps bench
	@$(MAKE) --no-print-directory all
	scripts/bench
	scripts/bench_static

chaos: deps-test
	@$(MAKE) --no-print-directory all
	scripts/chaos

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/etc/init.d \
	  $(DESTDIR)/etc/logrotate.d $(DESTDIR)/lib/systemd/system $(DESTDIR)$(PREFIX)/share/doc/preforkd
	install -m 0755 $(BUILD)/preforkd $(DESTDIR)$(PREFIX)/sbin/preforkd
	install -m 0755 $(BUILD)/preforkctl $(DESTDIR)$(PREFIX)/bin/preforkctl
	sed 's|/usr/local|$(PREFIX)|g' scripts/preforkd.init > $(DESTDIR)/etc/init.d/preforkd && chmod 0755 $(DESTDIR)/etc/init.d/preforkd
	sed 's|/usr/local|$(PREFIX)|g' scripts/preforkd.service > $(DESTDIR)/lib/systemd/system/preforkd.service && chmod 0644 $(DESTDIR)/lib/systemd/system/preforkd.service
	install -m 0644 scripts/preforkd.socket $(DESTDIR)/lib/systemd/system/preforkd.socket
	install -m 0644 scripts/preforkd.default $(DESTDIR)$(PREFIX)/share/doc/preforkd/preforkd.default
	sed 's|/usr/local|$(PREFIX)|g' scripts/preforkd.logrotate > $(DESTDIR)/etc/logrotate.d/preforkd && chmod 0644 $(DESTDIR)/etc/logrotate.d/preforkd
	install -m 0644 scripts/preforkd.conf.example $(DESTDIR)$(PREFIX)/share/doc/preforkd/preforkd.conf.example
	install -d $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 docs/man/preforkd.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/preforkd.conf.5
	install -m 0644 docs/man/preforkd.8 docs/man/preforkctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj $(BUILD)/fuzz/obj -name '*.d' 2>/dev/null)
