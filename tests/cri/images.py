#!/usr/bin/python3
"""Local equivalents of the images critest (cri-tools v1.26.1) pulls, plus the
pause image, as OCI images in a directory that registry.py serves.

    images.py OUTDIR DEBDIR

Sources, all from this machine or Debian's archive (no container registry):
- busybox: Debian's *dynamic* `busybox` package (busybox-static prefers its own
  applets, so `sh -c ls` never runs /bin/ls and the MaskedPaths spec fails),
  with hard links in /bin as in the upstream image; plus the host's pgrep and
  ipcs with their libraries (Debian's busybox has neither; critest needs both);
- nginx: the binary of Debian's `nginx` package and its libraries;
- pause and nonewprivs: tests/cri/src/*.c, compiled static here.
The .debs are taken from apt's cache or fetched with `apt-get download` into
DEBDIR. Layers are deterministic (sorted, fixed mtimes, gzip mtime 0): the same
inputs give the same digests. OUTDIR gets blobs/sha256/*, repos.json
({repo path: {tag: manifest digest}}) and images.txt (one "ref digest" a line).
Exit status 3 with one line on stderr when a source cannot be had."""
import glob
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
MTIME = 1600000000
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
E2E = "registry.k8s.io/e2e-test-images/"
CRI = "gcr.io/k8s-staging-cri-tools/"


class Missing(Exception):
    pass


def deb(pkg, debdir):
    """Extracted tree of Debian package pkg."""
    out = os.path.join(debdir, "x-" + pkg)
    if os.path.isdir(out):
        return out
    os.makedirs(debdir, exist_ok=True)
    found = [f for f in glob.glob("/var/cache/apt/archives/%s_*.deb" % pkg) +
             glob.glob(os.path.join(debdir, "%s_*.deb" % pkg))]
    if not found:
        r = subprocess.run(["apt-get", "download", pkg], cwd=debdir,
                           capture_output=True, text=True)
        found = glob.glob(os.path.join(debdir, "%s_*.deb" % pkg))
        if r.returncode != 0 or not found:
            raise Missing("cannot get Debian's %s package (apt-get download %s: %s)"
                          % (pkg, pkg, (r.stderr.strip().splitlines() or ["failed"])[-1]))
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run(["dpkg-deb", "-x", sorted(found)[-1], tmp], check=True)
    os.rename(tmp, out)
    return out


def copy_libs(dest, *binaries):
    """Copy the shared libraries ldd lists for binaries into the tree dest."""
    out = subprocess.run(["ldd", *binaries], capture_output=True, text=True).stdout
    libs = set()
    for line in out.splitlines():
        f = line.split()
        if "=>" in f and len(f) > 2 and f[2].startswith("/"):
            libs.add(f[2])
        elif len(f) > 1 and f[0].startswith("/") and f[1].startswith("("):
            libs.add(f[0])
    for lib in sorted(libs):
        d = dest + os.path.dirname(lib)
        os.makedirs(d, exist_ok=True)
        shutil.copy(os.path.realpath(lib), dest + lib)


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""
GROUP = "".join("%s:x:%d:%s\n" % g for g in [
    ("root", 0, ""), ("daemon", 1, ""), ("bin", 2, ""), ("sys", 3, ""), ("adm", 4, ""),
    ("tty", 5, ""), ("disk", 6, ""), ("lp", 7, ""), ("mail", 8, ""), ("kmem", 9, ""),
    ("wheel", 10, "root"), ("cdrom", 11, ""), ("dialout", 18, ""), ("floppy", 19, ""),
    ("video", 28, ""), ("audio", 29, ""), ("tape", 32, ""), ("www-data", 33, ""),
    ("operator", 37, ""), ("utmp", 43, ""), ("plugdev", 46, ""), ("staff", 50, ""),
    ("lock", 54, ""), ("netdev", 82, ""), ("users", 100, ""), ("nogroup", 65534, "")])


def busybox_layer(w, debdir):
    bb = deb("busybox", debdir)
    b = os.path.join(w, "busybox")
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "etc", "root", "home",
              "var/spool/mail", "var/www", "run", "proc", "sys", "dev", "tmp", "var/tmp"):
        os.makedirs(os.path.join(b, d), exist_ok=True)
    os.chmod(os.path.join(b, "tmp"), 0o1777)
    os.chmod(os.path.join(b, "var/tmp"), 0o1777)
    os.chmod(os.path.join(b, "root"), 0o700)
    os.symlink("../run", os.path.join(b, "var/run"))
    shutil.copy(os.path.join(bb, "bin/busybox"), os.path.join(b, "bin/busybox"))
    os.chmod(os.path.join(b, "bin/busybox"), 0o755)
    applets = subprocess.run([os.path.join(b, "bin/busybox"), "--list"], capture_output=True,
                             text=True, check=True).stdout.split()
    for a in applets:
        if a != "busybox" and "/" not in a:
            os.link(os.path.join(b, "bin/busybox"), os.path.join(b, "bin", a))
    for tool in ("pgrep", "ipcs"):
        src = shutil.which(tool)
        if not src:
            raise Missing("the host has no %s (procps / util-linux) to put in the busybox image"
                          % tool)
        shutil.copy(src, os.path.join(b, "usr/bin", tool))
    copy_libs(b, os.path.join(b, "bin/busybox"), shutil.which("pgrep"), shutil.which("ipcs"))
    write(os.path.join(b, "etc/passwd"), PASSWD)
    write(os.path.join(b, "etc/group"), GROUP)
    write(os.path.join(b, "etc/shadow"), "root:*::0:::::\nnobody:*::0:::::\n", 0o600)
    write(os.path.join(b, "etc/nsswitch.conf"), "passwd: files\ngroup: files\nhosts: files dns\n")
    return b


NGINX_CONF = """user nginx;
worker_processes 1;
error_log /var/log/nginx/error.log warn;
pid /var/run/nginx.pid;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /var/log/nginx/access.log;
    sendfile on;
    keepalive_timeout 65;
    include /etc/nginx/conf.d/*.conf;
}
"""


def site(port):
    return ("server {\n    listen %d;\n    server_name localhost;\n"
            "    location / { root /usr/share/nginx/html; index index.html; }\n}\n" % port)


def nginx_layers(w, debdir, base):
    ng = deb("nginx", debdir)
    n = os.path.join(w, "nginx")
    for d in ("usr/sbin", "etc/nginx/conf.d", "usr/share/nginx/html", "var/log/nginx",
              "var/lib/nginx", "var/cache/nginx"):
        os.makedirs(os.path.join(n, d), exist_ok=True)
    shutil.copy(os.path.join(ng, "usr/sbin/nginx"), os.path.join(n, "usr/sbin/nginx"))
    copy_libs(n, os.path.join(ng, "usr/sbin/nginx"))
    for dirpath, _, files in os.walk(n):  # libraries the busybox layer already has
        for f in files:
            rel = os.path.relpath(os.path.join(dirpath, f), n)
            if rel.startswith(("lib", "usr/lib")) and os.path.exists(os.path.join(base, rel)):
                os.unlink(os.path.join(dirpath, f))
    os.symlink("/dev/stdout", os.path.join(n, "var/log/nginx/access.log"))
    os.symlink("/dev/stderr", os.path.join(n, "var/log/nginx/error.log"))
    write(os.path.join(n, "etc/passwd"), PASSWD + "nginx:x:101:101:nginx:/nonexistent:/bin/false\n")
    write(os.path.join(n, "etc/group"), GROUP + "nginx:x:101:\n")
    write(os.path.join(n, "etc/nginx/nginx.conf"), NGINX_CONF)
    write(os.path.join(n, "etc/nginx/mime.types"),
          "types {\n    text/html html htm;\n    text/plain txt;\n}\n")
    write(os.path.join(n, "etc/nginx/conf.d/default.conf"), site(80))
    write(os.path.join(n, "usr/share/nginx/html/index.html"),
          "<html><body><h1>Welcome to nginx!</h1></body></html>\n")
    h = os.path.join(w, "hostnet-nginx")  # gcr.io/k8s-staging-cri-tools/hostnet-nginx: port 12003
    write(os.path.join(h, "etc/nginx/conf.d/default.conf"), site(12003))
    return n, h


def httpd_layer(w):
    h = os.path.join(w, "httpd")
    write(os.path.join(h, "usr/local/apache2/htdocs/index.html"),
          "<html><body><h1>It works!</h1></body></html>\n")
    # critest reads Apache's "Command line" line from the container's log
    write(os.path.join(h, "usr/local/bin/httpd-foreground"),
          "#!/bin/sh\n"
          "echo \"[core:notice] [pid $$] AH00094: Command line: 'httpd -D FOREGROUND'\" >&2\n"
          "exec httpd -f -p 80 -h /usr/local/apache2/htdocs\n", 0o755)
    return h


def compile_static(src, out):
    r = subprocess.run(["gcc", "-O2", "-static", "-o", out, src], capture_output=True, text=True)
    if r.returncode != 0:
        raise Missing("cannot compile %s statically: %s" % (src, r.stderr.strip()[:200]))


def small_layers(w):
    nn = os.path.join(w, "nonewprivs")
    os.makedirs(os.path.join(nn, "usr/local/bin"))
    compile_static(os.path.join(HERE, "src/nnp.c"), os.path.join(nn, "usr/local/bin/nnp"))
    os.chmod(os.path.join(nn, "usr/local/bin/nnp"), 0o4755)
    p = os.path.join(w, "pause")
    os.makedirs(p)
    compile_static(os.path.join(HERE, "src/pause.c"), os.path.join(p, "pause"))
    pg = os.path.join(w, "predefined-group")
    write(os.path.join(pg, "etc/passwd"),
          PASSWD + "default-user:x:1000:1000:Default:/home/default-user:/bin/sh\n")
    write(os.path.join(pg, "etc/group"),
          GROUP + "default-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n")
    os.makedirs(os.path.join(pg, "home/default-user"))
    os.chown(os.path.join(pg, "home/default-user"), 1000, 1000)
    return nn, p, pg


def file_layer(w, name):
    d = os.path.join(w, "file-" + name)
    write(os.path.join(d, name), "")
    return d


# --- OCI ---------------------------------------------------------------------

def tar_tree(root):
    buf = io.BytesIO()

    def norm(ti):
        ti.mtime = MTIME
        ti.uname = ti.gname = ""
        return ti
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name in sorted(os.listdir(root)):
            tf.add(os.path.join(root, name), arcname=name, filter=norm)
    return buf.getvalue()


class Store:
    def __init__(self, out):
        self.out = out
        self.blobs = os.path.join(out, "blobs", "sha256")
        os.makedirs(self.blobs, exist_ok=True)
        self.layers = {}
        self.repos = {}
        self.lines = []

    def put(self, data):
        d = hashlib.sha256(data).hexdigest()
        p = os.path.join(self.blobs, d)
        if not os.path.exists(p):
            with open(p, "wb") as f:
                f.write(data)
        return "sha256:" + d, len(data)

    def layer(self, tree):
        if tree not in self.layers:
            raw = tar_tree(tree)
            self.layers[tree] = ("sha256:" + hashlib.sha256(raw).hexdigest(),
                                 *self.put(gzip.compress(raw, 6, mtime=0)))
        return self.layers[tree]

    def image(self, refs, trees, config):
        ls = [self.layer(t) for t in trees]
        cfg = {"created": "2020-09-13T12:26:40Z", "architecture": "amd64", "os": "linux",
               "config": config, "rootfs": {"type": "layers", "diff_ids": [x[0] for x in ls]}}
        cd, cs = self.put(json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode())
        man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                          "digest": cd, "size": cs},
               "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                           "digest": x[1], "size": x[2]} for x in ls]}
        md, _ = self.put(json.dumps(man, sort_keys=True, separators=(",", ":")).encode())
        for ref in refs:
            path = ref.split("/", 1)[1]
            repo, _, tag = path.rpartition(":") if ":" in path.rsplit("/", 1)[-1] \
                else (path, "", "latest")
            self.repos.setdefault(repo, {})[tag] = md
            self.lines.append("%s %s" % (ref, md))

    def finish(self):
        with open(os.path.join(self.out, "repos.json"), "w") as f:
            json.dump(self.repos, f, indent=1, sort_keys=True)
        with open(os.path.join(self.out, "images.txt"), "w") as f:
            f.write("\n".join(self.lines) + "\n")


def build(out, debdir):
    w = out + ".work"
    shutil.rmtree(w, ignore_errors=True)
    os.makedirs(w)
    base = busybox_layer(w, debdir)
    ngx, hostnet = nginx_layers(w, debdir, base)
    httpd = httpd_layer(w)
    nnp, pause, pgroup = small_layers(w)
    tmp = out + ".new"
    shutil.rmtree(tmp, ignore_errors=True)
    s = Store(tmp)
    sh = {"Env": [PATH_ENV], "Cmd": ["sh"]}
    ngc = {"Env": [PATH_ENV], "Cmd": ["nginx", "-g", "daemon off;"],
           "ExposedPorts": {"80/tcp": {}}, "StopSignal": "SIGTERM"}
    s.image([E2E + "busybox:1.29-2"], [base], sh)
    s.image([E2E + "nginx:1.14-2"], [base, ngx], ngc)
    s.image([CRI + "hostnet-nginx-amd64:latest"], [base, ngx, hostnet], ngc)
    s.image([E2E + "httpd:2.4.39-4"], [base, httpd],
            {"Env": [PATH_ENV], "Cmd": ["httpd-foreground"], "ExposedPorts": {"80/tcp": {}}})
    s.image([E2E + "nonewprivs:1.3"], [base, nnp],
            {"Env": [PATH_ENV], "Cmd": ["/usr/local/bin/nnp"], "User": "1000"})
    s.image(["registry.k8s.io/pause:3.6"], [pause], {"Entrypoint": ["/pause"]})
    for name, user in (("uid", "1002"), ("username", "www-data"), ("uid-group", "1003:1004"),
                       ("username-group", "www-data:1004")):
        s.image([CRI + "test-image-user-" + name], [base], dict(sh, User=user))
    s.image([CRI + "test-image-predefined-group:latest"], [base, pgroup], dict(sh, User="1000"))
    for t in ("1", "2", "3", "latest", "digest"):
        s.image([CRI + "test-image-%s:latest" % t], [base, file_layer(w, "test-image-" + t)], sh)
    s.image([CRI + "test-image-tags:%d" % i for i in (1, 2, 3)],
            [base, file_layer(w, "same-image")], sh)
    s.image([CRI + "test-image-tag:test"], [base, file_layer(w, "test")], sh)
    s.image([CRI + "test-image-tag:all"], [base, file_layer(w, "all")], sh)
    s.finish()
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    shutil.rmtree(w, ignore_errors=True)


def main():
    try:
        build(sys.argv[1], sys.argv[2])
    except Missing as e:
        print("images: %s" % e, file=sys.stderr)
        sys.exit(3)


if __name__ == "__main__":
    main()
