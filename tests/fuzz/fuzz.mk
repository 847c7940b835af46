# libFuzzer targets (tests/fuzz/README.md), included by the Makefile.
# clang with -fsanitize=fuzzer,address,undefined; everything under build-fuzz/.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build-fuzz
FUZZ_CFLAGS  := -O1 -g -std=gnu11 -Wall -Wextra -Werror -Isrc -D_GNU_SOURCE -Ulinux \
                -DCAPSA_VERSION='"$(VERSION)"' -DCAPSA_COMMIT='"$(COMMIT)"' \
                -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
# The library objects (every src file but main.c), instrumented for coverage.
FUZZ_OBJ     := $(filter-out $(FUZZ_BUILD)/obj/main.o,$(SRC:src/%.c=$(FUZZ_BUILD)/obj/%.o))
FUZZ_TARGETS := config process resources state
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

.PHONY: fuzz fuzz-quick fuzz-build
.SECONDARY: $(FUZZ_OBJ)
fuzz-build: $(FUZZ_BIN)

$(FUZZ_BUILD)/obj/%.o: src/%.c $(wildcard src/*/*.h src/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) $(LDLIBS)

# Each target FUZZ_SECONDS seconds from its seed corpus, after replaying the
# inputs that once crashed it (tests/fuzz/regress/<target>/).
fuzz: $(FUZZ_BIN)
	@scripts/fuzz-run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# About two minutes in all: what `make check` runs.
fuzz-quick: $(FUZZ_BIN)
	@scripts/fuzz-run.sh $(FUZZ_BUILD) 30 $(FUZZ_TARGETS)
