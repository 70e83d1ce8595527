"""API-key authorizer for Istio's HTTP ext_authz: 200 when the request carries a valid key, else 401.

Standard library only; runs in a stock Python image with this file from a ConfigMap. Envoy
forwards each request's method, path and `Authorization` header (Istio 1.28 meshConfig
`extensionProviders[].envoyExtAuthzHttp`, istio/istio@1.28.1:pilot/pkg/security/authz/builder/extauthz.go).

Every file in KEYS_DIR (a mounted Secret: one file per key) is a valid key, read again when the
directory changes, so keys rotate by editing the Secret: the kubelet updates the files in place, and
neither this server nor the model servers restart. Clients send `Authorization: Bearer <key>`.
"""

import hmac
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KEYS_DIR = os.environ.get("KEYS_DIR", "/keys")
PORT = int(os.environ.get("PORT", "8080"))
_cache = {"stamp": None, "keys": []}


def load_keys(directory=None):
    """Every non-empty file's content (a Secret volume's visible entries; `..data` links are hidden)."""
    directory = directory or KEYS_DIR
    keys = []
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return keys
    for name in names:
        path = os.path.join(directory, name)
        if name.startswith(".") or not os.path.isfile(path):
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                value = handle.read().strip()
        except OSError:  # swapped away mid-read: the next request reads the new version
            continue
        if value:
            keys.append(value.encode())
    return keys


def current_keys():
    # A Secret volume swaps its `..data` symlink on update; its target names the version.
    try:
        stamp = os.path.realpath(os.path.join(KEYS_DIR, "..data")), os.stat(KEYS_DIR).st_mtime_ns
    except OSError:
        stamp = None
    if stamp != _cache["stamp"] or not _cache["keys"]:
        _cache["keys"], _cache["stamp"] = load_keys(), stamp
    return _cache["keys"]


def allowed(header, keys):
    scheme, _, presented = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return False
    presented = presented.strip().encode()
    # Compare against every key, in constant time per key.
    return any([hmac.compare_digest(presented, key) for key in keys])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10

    def check(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 1 << 20))
        ok = allowed(self.headers.get("Authorization"), current_keys())
        body = b"" if ok else b'{"error":"a valid API key is required: Authorization: Bearer <key>"}'
        self.send_response(200 if ok else 401)
        if not ok:
            self.send_header("Content-Type", "application/json")
            self.send_header("WWW-Authenticate", "Bearer")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = check

    def log_message(self, fmt, *args):  # no request lines: paths may carry user data
        pass


def main():
    if not current_keys():
        print(f"no keys in {KEYS_DIR}; every request will be refused", file=sys.stderr, flush=True)
    ThreadingHTTPServer(("", PORT), Handler).serve_forever()


if __name__ == "__main__":
    main()
