"""The Istio API-key authorizer, run for real: keys from a Secret volume, rotated without a restart.

The keys directory is laid out the way the kubelet writes a Secret volume: a timestamped folder,
a `..data` symlink to it, and one symlink per key; an update writes a new folder and swaps
`..data` atomically.
"""

import http.client
import importlib.util
import os
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from components.security.auth_istio import SERVER

spec = importlib.util.spec_from_file_location("authz_server", SERVER)
authz = importlib.util.module_from_spec(spec)
spec.loader.exec_module(authz)


def write_secret_volume(root: Path, data: dict[str, str], version: str) -> None:
    folder = root / f"..{version}"
    folder.mkdir()
    for key, value in data.items():
        (folder / key).write_text(value)
    tmp = root / "..data_tmp"
    tmp.symlink_to(folder.name)
    os.replace(tmp, root / "..data")
    for key in data:
        link = root / key
        if not link.is_symlink():
            link.symlink_to(f"..data/{key}")
    for stale in [p for p in root.iterdir() if p.is_symlink() and p.name != "..data" and not p.exists()]:
        stale.unlink()


@pytest.fixture
def server(tmp_path, monkeypatch):
    write_secret_volume(tmp_path, {"api-key": "first-key-0123456789"}, "2026_01_01")
    monkeypatch.setattr(authz, "KEYS_DIR", str(tmp_path))
    monkeypatch.setitem(authz._cache, "stamp", None)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), authz.Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], tmp_path
    httpd.shutdown()


def status(port: int, headers: dict, method: str = "POST", path: str = "/v1/chat/completions") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request(method, path, body=b"" if method == "POST" else None, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status


def test_refuses_without_a_valid_key(server):
    port, _ = server
    assert status(port, {}) == 401
    assert status(port, {"Authorization": "Bearer wrong-key-0123456789"}) == 401
    assert status(port, {"Authorization": "Basic first-key-0123456789"}) == 401
    assert status(port, {"Authorization": "Bearer first-key-0123456789"}) == 200
    assert status(port, {"Authorization": "bearer  first-key-0123456789 "}, method="GET", path="/v1/models") == 200


def test_rotation_without_restart(server):
    """Add the new key, move clients, remove the old one: each step takes effect on the next request."""
    port, root = server
    write_secret_volume(root, {"api-key": "first-key-0123456789", "next": "second-key-0123456789"}, "2026_01_02")
    assert status(port, {"Authorization": "Bearer second-key-0123456789"}) == 200
    assert status(port, {"Authorization": "Bearer first-key-0123456789"}) == 200
    write_secret_volume(root, {"next": "second-key-0123456789"}, "2026_01_03")
    assert status(port, {"Authorization": "Bearer first-key-0123456789"}) == 401
    assert status(port, {"Authorization": "Bearer second-key-0123456789"}) == 200


def test_an_empty_secret_refuses_everything(tmp_path):
    assert authz.load_keys(str(tmp_path)) == []
    assert not authz.allowed("Bearer anything", [])
