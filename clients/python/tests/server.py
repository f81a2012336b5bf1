"""Starting and stopping a real durable-server for the tests."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[3]


def server_binary() -> Path:
    """`DURABLE_SERVER_BIN`, else the repository's release build, else its debug build."""
    configured = os.environ.get("DURABLE_SERVER_BIN")
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise RuntimeError(f"DURABLE_SERVER_BIN={configured} is not a file")
        return path
    for build in ("release", "debug"):
        path = REPO / "target" / build / "durable-server"
        if path.is_file():
            return path
    raise RuntimeError(
        "no durable-server binary: set DURABLE_SERVER_BIN, or build one with "
        f"`cargo build -p durable-app --bin durable-server` (looked in {REPO / 'target'}/{{release,debug}})"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(database_url: str | None = None, auth_token: str | None = None) -> Server:
    """A server on a free loopback port; SQLite in a fresh temp dir unless `database_url`."""
    workdir = Path(tempfile.mkdtemp(prefix="durable-py-tests-"))
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url or f"sqlite://{workdir / 'durable.db'}",
        "DURABLE_LISTEN": f"127.0.0.1:{port}",
        # Sleepers, timeouts and expired claims are handled by the sweeper;
        # a short interval keeps the tests' waits short.
        "DURABLE_SWEEP_INTERVAL_MS": "100",
        "DURABLE_MAX_QUEUES": "100000",
        "DURABLE_LOG_FORMAT": "pretty",
        "RUST_LOG": os.environ.get("RUST_LOG", "warn"),
    }
    env.pop("DURABLE_AUTH_TOKEN", None)
    if auth_token is not None:
        env["DURABLE_AUTH_TOKEN"] = auth_token
    log = workdir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(server_binary())], env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"durable-server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Server(url, process, log)
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"durable-server did not answer /healthz within 20 s:\n{log.read_text()}")
