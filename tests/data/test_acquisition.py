"""The shared data mechanism against a loopback HTTP server and a local mirror folder."""

from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
from pathlib import Path
from typing import ClassVar

import pytest

from advanced_dl.data import acquisition
from advanced_dl.data.acquisition import DataAcquisitionError, extract_archive, fetch

PAYLOAD = b"timestamp,value\n2014-04-01 00:00:00,1.0\n" * 200
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD at /good.csv; /truncated.csv promises more bytes than it sends."""

    requests: ClassVar[list[str]] = []  # shared by the handler instances the server creates

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        if self.path.endswith("good.csv"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)
        elif self.path.endswith("truncated.csv"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 3])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.send_error(404)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    """An HTTP server on a free loopback port, stopped after the test."""
    _Handler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def no_mirror(monkeypatch):
    monkeypatch.delenv(acquisition.MIRROR_ENV_VAR, raising=False)


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_downloads_verifies_and_reuses_without_network(server, tmp_path, monkeypatch):
    monkeypatch.setitem(acquisition.SOURCES, "nab", f"{server}/nab/")
    local = fetch(
        "nab", "data/good.csv", sha256=PAYLOAD_SHA256, raw_dir=tmp_path, progressbar=False
    )
    assert local == tmp_path / "nab" / "data" / "good.csv"
    assert local.read_bytes() == PAYLOAD
    assert _Handler.requests == ["/nab/data/good.csv"]

    # Second call: the local copy is trusted, the server is not asked again.
    monkeypatch.setitem(acquisition.SOURCES, "nab", "http://127.0.0.1:9/unreachable/")
    again = fetch(
        "nab", "data/good.csv", sha256=PAYLOAD_SHA256, raw_dir=tmp_path, progressbar=False
    )
    assert again == local
    assert _Handler.requests == ["/nab/data/good.csv"]


def test_checksum_mismatch_leaves_no_file(server, tmp_path, monkeypatch):
    monkeypatch.setitem(acquisition.SOURCES, "nab", f"{server}/nab/")
    with pytest.raises(DataAcquisitionError, match="Checksum mismatch"):
        fetch("nab", "data/good.csv", sha256="0" * 64, raw_dir=tmp_path, progressbar=False)
    assert _files_under(tmp_path) == []


def test_interrupted_transfer_leaves_no_file(server, tmp_path, monkeypatch):
    monkeypatch.setitem(acquisition.SOURCES, "nab", f"{server}/nab/")
    with pytest.raises(DataAcquisitionError, match=r"truncated\.csv"):
        fetch("nab", "data/truncated.csv", raw_dir=tmp_path, progressbar=False)
    assert _files_under(tmp_path) == []


def test_offline_error_names_url_target_and_variable(tmp_path, monkeypatch):
    monkeypatch.setitem(acquisition.SOURCES, "cora", "http://127.0.0.1:9/lbc/")
    with pytest.raises(DataAcquisitionError) as raised:
        fetch("cora", "cora.tgz", raw_dir=tmp_path, progressbar=False)
    message = str(raised.value)
    assert "http://127.0.0.1:9/lbc/cora.tgz" in message
    assert str(tmp_path / "cora" / "cora.tgz") in message
    assert "ADVANCED_DL_DATA_MIRROR" in message
    assert _files_under(tmp_path) == []


def test_mirror_directory_from_environment(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "nab" / "data").mkdir(parents=True)
    (mirror / "nab" / "data" / "good.csv").write_bytes(PAYLOAD)
    monkeypatch.setenv(acquisition.MIRROR_ENV_VAR, str(mirror))
    raw = tmp_path / "raw"
    local = fetch("nab", "data/good.csv", sha256=PAYLOAD_SHA256, raw_dir=raw, progressbar=False)
    assert local.read_bytes() == PAYLOAD
    assert (mirror / "nab" / "data" / "good.csv").read_bytes() == PAYLOAD  # mirror untouched


def test_mirror_missing_file_and_corrupt_copy(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "nab").mkdir(parents=True)
    (mirror / "nab" / "bad.csv").write_bytes(b"not the file")
    monkeypatch.setenv(acquisition.MIRROR_ENV_VAR, str(mirror))
    raw = tmp_path / "raw"
    with pytest.raises(DataAcquisitionError, match=r"absent\.csv"):
        fetch("nab", "absent.csv", raw_dir=raw, progressbar=False)
    with pytest.raises(DataAcquisitionError, match="Checksum mismatch"):
        fetch("nab", "bad.csv", sha256=PAYLOAD_SHA256, raw_dir=raw, progressbar=False)
    assert _files_under(raw) == []


def test_mirror_base_url(server, tmp_path, monkeypatch):
    monkeypatch.setenv(acquisition.MIRROR_ENV_VAR, server)
    local = fetch("nab", "data/good.csv", raw_dir=tmp_path, progressbar=False)
    assert local.read_bytes() == PAYLOAD
    assert _Handler.requests == ["/nab/data/good.csv"]


def test_unknown_source_is_refused(tmp_path):
    with pytest.raises(DataAcquisitionError, match="Unknown data source 'nope'"):
        fetch("nope", "x.csv", raw_dir=tmp_path)


def _tar_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_extract_archive_is_atomic(tmp_path):
    archive = tmp_path / "data.tgz"
    archive.write_bytes(_tar_bytes({"cora/cora.cites": b"1\t2\n", "cora/README": b"hi"}))
    destination = extract_archive(archive, tmp_path / "extracted")
    assert (destination / "cora" / "cora.cites").read_bytes() == b"1\t2\n"

    corrupt = tmp_path / "corrupt.tgz"
    corrupt.write_bytes(_tar_bytes({"a": b"x" * 5000})[:60])
    with pytest.raises((tarfile.TarError, EOFError, OSError)):
        extract_archive(corrupt, tmp_path / "never")
    assert not (tmp_path / "never").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".never")]
