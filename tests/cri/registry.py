#!/usr/bin/python3
"""A read-only registry (Docker Registry HTTP API v2, pull only) for the store
images.py writes, on 127.0.0.1 only.

    registry.py STORE PORT

GET/HEAD /v2/, /v2/<repo>/manifests/<tag|digest>, /v2/<repo>/blobs/<digest>.
The registry host of an image reference never reaches the server (containerd's
hosts.toml sends every registry here), so repositories are keyed by path."""
import http.server
import json
import os
import re
import sys

STORE, PORT = sys.argv[1], int(sys.argv[2])
with open(os.path.join(STORE, "repos.json")) as f:
    REPOS = json.load(f)
MANIFEST = re.compile(r"^/v2/(.+)/manifests/([^/]+)$")
BLOB = re.compile(r"^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def blob(digest):
    try:
        with open(os.path.join(STORE, "blobs", "sha256", digest[7:]), "rb") as f:
            return f.read()
    except OSError:
        return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s\n" % (fmt % args))

    def reply(self, code, body=b"{}", ctype="application/json", digest=None):
        self.send_response(code)
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if digest:
            self.send_header("Docker-Content-Digest", digest)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, code, what, msg):
        self.reply(code, json.dumps({"errors": [{"code": what, "message": msg}]}).encode())

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path in ("/v2", "/v2/"):
            return self.reply(200)
        m = MANIFEST.match(path)
        if m:
            tags = REPOS.get(m.group(1), {})
            ref = m.group(2)
            digest = ref if ref in tags.values() else tags.get(ref)
            if not digest:
                return self.error(404, "MANIFEST_UNKNOWN", "manifest unknown: " + path)
            return self.reply(200, blob(digest), OCI_MANIFEST, digest)
        m = BLOB.match(path)
        if m and m.group(1) in REPOS:
            data = blob(m.group(2))
            if data is not None:
                return self.reply(200, data, "application/octet-stream", m.group(2))
        return self.error(404, "BLOB_UNKNOWN", "not found: " + path)

    do_HEAD = do_GET

    def refuse(self):
        self.error(405, "UNSUPPORTED", "read-only registry")

    do_POST = do_PUT = do_PATCH = do_DELETE = refuse


if __name__ == "__main__":
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    srv.daemon_threads = True
    srv.serve_forever()
