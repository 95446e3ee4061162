"""A real MLflow tracking server on loopback: PostgreSQL backend store, proxied artifacts.

PostgreSQL refuses to run as root, so as root the database server runs as the
``postgres`` user of Debian's package.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's binaries folder, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_database_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _wait_for(url: str, process: subprocess.Popen, seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited: {log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as answer:
            if answer.status == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {seconds} s: {log.read_text()[-3000:]}")


@contextlib.contextmanager
def postgres_tracking_server(workdir: Path) -> Iterator[str]:
    """Start PostgreSQL and ``mlflow server`` on loopback; yield the server's URI; stop both."""
    binaries = postgres_bin()
    if binaries is None:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    workdir.mkdir(parents=True, exist_ok=True)
    # The database user must reach its folders: pytest's temporary folders are root's only.
    database_root = Path(tempfile.mkdtemp(prefix="advanced-dl-postgres-"))
    database_root.chmod(0o755)
    data, sockets = database_root / "data", database_root / "sockets"
    for folder in (database_root, data, sockets):
        folder.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
    db_port, http_port = free_port(), free_port()
    subprocess.run(
        _as_database_user(
            [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-p {db_port} -k {sockets} -c listen_addresses=127.0.0.1"
    pg_log = database_root / "postgres.log"
    ctl = [str(binaries / "pg_ctl"), "-D", str(data)]
    subprocess.run(
        _as_database_user([*ctl, "-o", options, "-l", str(pg_log), "-w", "start"]),
        check=True,
        capture_output=True,
    )
    server = None
    try:
        subprocess.run(
            _as_database_user(
                [str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(db_port), "-U",
                 "postgres", "mlflow"]
            ),
            check=True,
            capture_output=True,
        )  # fmt: skip
        server_log = workdir / "mlflow-server.log"
        mlflow = Path(sys.executable).parent / "mlflow"
        server = subprocess.Popen(
            [
                str(mlflow), "server",
                "--backend-store-uri", f"postgresql+psycopg://postgres@127.0.0.1:{db_port}/mlflow",
                "--artifacts-destination", str(workdir / "artifacts"),
                "--host", "127.0.0.1", "--port", str(http_port), "--workers", "2",
            ],
            stdout=server_log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        uri = f"http://127.0.0.1:{http_port}"
        _wait_for(f"{uri}/health", server, 120, server_log)
        yield uri
    finally:
        if server is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, 15)
            server.wait(timeout=30)
        subprocess.run(
            _as_database_user([*ctl, "-m", "fast", "stop"]), check=False, capture_output=True
        )
        shutil.rmtree(database_root, ignore_errors=True)
