"""ASan/UBSan reports from the runtime under test (`make integration SANITIZE=1`).

A sanitizer build prints its report on stderr and exits non-zero, which a test that
expects capsa to fail (bad input) would take for the expected failure; and a leak
found at exit by a process whose exit code nobody checks would go unseen. So with
an instrumented $CAPSA every report goes to a file (log_path) in a session
directory, and a test during which a new report file appears fails with it.

Processes that capsa forks inherit the options. A report from a container's init
after pivot_root cannot reach the directory; the sanitizer then dies with "Can't
open file", which fails that test too.
"""
import glob
import os
import tempfile


def instrumented(binary):
    """Was binary linked with AddressSanitizer (or UBSan's runtime)?"""
    try:
        with open(binary, "rb") as f:
            data = f.read()
    except OSError:
        return False
    return b"__asan_init" in data or b"__ubsan_handle_" in data


class Reports:
    def __init__(self, binary):
        self.enabled = instrumented(binary)
        self.dir = None
        if not self.enabled:
            return
        self.dir = tempfile.mkdtemp(prefix="capsa-sanitizer-")
        log = os.path.join(self.dir, "report")
        # exitcode: ASan's default (1) is also capsa's failure code.
        os.environ["ASAN_OPTIONS"] = (f"log_path={log}:exitcode=86:detect_leaks=1:"
                                      "abort_on_error=0:allocator_may_return_null=0")
        os.environ["UBSAN_OPTIONS"] = f"log_path={log}:print_stacktrace=1:halt_on_error=1"
        os.environ["LSAN_OPTIONS"] = f"log_path={log}"

    def snapshot(self):
        return set(glob.glob(os.path.join(self.dir, "report*"))) if self.enabled else set()

    def new_since(self, before):
        """Text of the reports written since snapshot() returned before."""
        out = []
        for p in sorted(self.snapshot() - before):
            with open(p, errors="replace") as f:
                out.append(f"{p}:\n{f.read()}")
        return out
