"""`make static`: a capsa that runs in any image, e.g. `capsa limits` inside a container."""
import json
import os
import shutil

import pytest

STATIC = os.environ.get("CAPSA_STATIC", "")


@pytest.mark.skipif(not os.path.exists(STATIC), reason="no static build (make static)")
def test_static_limits_inside_busybox_image(ct):
    def tweak(c):
        res = c["linux"].setdefault("resources", {})
        res["memory"] = {"limit": 48 << 20}
        res["pids"] = {"limit": 21}
    b = ct.bundle(args=["/capsa", "limits", "--format", "json"], tweak=tweak)
    # copied into the image: no host libraries, no bind mount
    shutil.copy(STATIC, os.path.join(b.rootfs, "capsa"))
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["memory"]["limit"] == 48 << 20, doc
    assert doc["pids"]["limit"] == 21, doc
