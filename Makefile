# capsa — build, test, demo. See README.md.
VERSION  := 0.1.0
COMMIT   := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
PREFIX   ?= /usr/local
CC       ?= gcc
PYTHON   ?= /usr/bin/python3
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Isrc -D_GNU_SOURCE -Ulinux \
            -DCAPSA_VERSION='"$(VERSION)"' -DCAPSA_COMMIT='"$(COMMIT)"'
# libmicrohttpd (capsa exporter), libcriu (checkpoint) and libsystemd (--systemd-cgroup)
# are loaded with dlopen when those are used: every create/run stays free of them.
LDLIBS    = -ljansson -lseccomp -lcap
# no relocations in code: selfexe_swap relies on code pages equal to the file's
LDFLAGS  += -Wl,-z,text
BUILD    := build
ifeq ($(SANITIZE),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=address,undefined
BUILD    := build-san
endif

SRC      := $(wildcard src/*.c src/*/*.c)
OBJ      := $(SRC:src/%.c=$(BUILD)/obj/%.o)
LIBOBJ   := $(filter-out $(BUILD)/obj/main.o,$(OBJ))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BIN      := $(BUILD)/capsa

.PHONY: all deps demo check unit integration security clients vm install clean bench static \
        conformance valgrind compat cri vm-systemd cri-tools
all: $(BIN)

$(BIN): $(OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A static capsa to copy into any image (`capsa limits` inside a container).
static: $(BUILD)/capsa-static
$(BUILD)/capsa-static: $(OBJ)
	$(CC) $(LDFLAGS) -static -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*/*.h src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIBOBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(LIBOBJ) $(LDLIBS) -lcmocka

deps:
	@scripts/deps.sh

demo:
	@scripts/deps.sh --demo
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh $(BIN)

unit: $(UNIT_BIN)
	@scripts/run-unit.sh $(UNIT_BIN)

integration: $(BIN)
	CAPSA=$(abspath $(BIN)) CAPSA_STATIC=$(abspath $(BUILD)/capsa-static) $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration $(PYTEST_ARGS)

# runtime-spec v1.2 conformance (tests/conformance; docs/conformance.md is generated
# from it by scripts/gen-conformance.py).
conformance: $(BIN)
	CAPSA=$(abspath $(BIN)) $(PYTHON) -m pytest -q -p no:cacheprovider tests/conformance $(PYTEST_ARGS)

# Escape attempts against the default spec, each with a control (tests/security).
security: $(BIN)
	CAPSA=$(abspath $(BIN)) $(PYTHON) -m pytest -q -p no:cacheprovider tests/security $(PYTEST_ARGS)

# The runtime under valgrind memcheck (tests/integration/test_valgrind.py).
valgrind: $(BIN)
	CAPSA=$(abspath $(BIN)) CAPSA_VALGRIND=1 $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration/test_valgrind.py $(PYTEST_ARGS)

# Configs and command sequences that others write, run by capsa and by runc side by side
# (tests/compat; the differences that stay are listed in docs/compat.md).
compat: $(BIN)
	CAPSA=$(abspath $(BIN)) $(PYTHON) -m pytest -q -p no:cacheprovider tests/compat $(PYTEST_ARGS)

# Kubernetes' CRI validation suite (critest) through a private containerd, capsa and
# runc as handlers (tests/cri/README.md); a skipped line without go/containerd/cri-tools.
cri: $(BIN)
	$(PYTHON) tests/cri/run.py --capsa $(abspath $(BIN)) $(CRI_ARGS)

# podman and containerd driving capsa (tests/clients).
clients: $(BIN)
	CAPSA=$(abspath $(BIN)) $(PYTHON) -m pytest -q -p no:cacheprovider tests/clients $(PYTEST_ARGS)

# The pure cgroup v2 suite in a qemu guest (tests/vm/README.md); SKIPPED without qemu.
vm: $(BIN)
	CAPSA=$(abspath $(BIN)) $(PYTHON) tests/vm/run.py $(VM_ARGS)

# The systemd cgroup driver in a guest whose PID 1 is systemd (tests/vm/systemd): capsa
# --systemd-cgroup and runc side by side, podman and containerd with systemd cgroups.
# Boots the unified layout, then the legacy one (about 1-1.7 min under TCG; up to 200 s
# on a loaded host); VM_SYSTEMD_ARGS="--layout unified|legacy|hybrid|both".
# `make check` boots both (they run one after the other, never beside another guest).
# crictl for the guest's CRI test (tests/vm/systemd/test_cri_systemd.py): built on the
# host from ../shared/vendor (kept in build/cri; go compiles through its own build cache,
# ~/.cache/go-build: 1-2.5 min cold, 5 s in a fresh clone after that); without the tarball
# or go the test skips with one line.
VM_SYSTEMD_ARGS ?= --layout both
CRI_TOOLS_TARBALL ?= $(abspath ../shared/vendor/cri-tools-1.26.1.tar.gz)
cri-tools:
	@if [ -f "$(CRI_TOOLS_TARBALL)" ] && command -v go >/dev/null; then \
	  tests/cri/build-tools.sh "$(CRI_TOOLS_TARBALL)" "$(CURDIR)/build/cri"; \
	else echo "cri-tools: no $(CRI_TOOLS_TARBALL) or no go: crictl not built (the CRI tests skip)"; fi
vm-systemd: $(BIN) cri-tools
	CAPSA=$(abspath $(BIN)) $(PYTHON) tests/vm/systemd/run.py $(VM_SYSTEMD_ARGS)

# capsa against crun and runc, interleaved (bench/bench.py); BENCH_ARGS="--runs 50".
bench: $(BIN)
	@scripts/deps.sh --bench
	CAPSA=$(abspath $(BIN)) $(PYTHON) bench/bench.py $(BENCH_ARGS)

# Every suite; integration last, so pytest's summary is the closing line. With
# SANITIZE=1: the ASan+UBSan build through the unit and integration suites.
check: deps
ifeq ($(SANITIZE),1)
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration
else
	@$(MAKE) --no-print-directory all static
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory fuzz-quick
	@$(MAKE) --no-print-directory vm
	@$(MAKE) --no-print-directory vm-systemd
	@$(MAKE) --no-print-directory security
	@$(MAKE) --no-print-directory clients
	@$(MAKE) --no-print-directory cri
	@$(MAKE) --no-print-directory conformance
	@$(MAKE) --no-print-directory compat
	@$(MAKE) --no-print-directory valgrind
	@$(MAKE) --no-print-directory bench BENCH_ARGS="--runs 3 --seq 3 --par 3"
	@$(MAKE) --no-print-directory integration
endif

install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/capsa
	install -d $(DESTDIR)$(PREFIX)/share/doc/capsa
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/capsa/

clean:
	rm -rf build build-san build-fuzz

include tests/fuzz/fuzz.mk
