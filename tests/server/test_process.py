"""The broker as a process: `serve --sim` stops on SIGTERM with exit code 0; the Docker entry point
and HEALTHCHECK command work as written in the Dockerfile."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc

from broker_client.channel import sync_channel
from broker_client.ibbroker.v1 import connection_pb2 as pb
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc
from tests.conftest import free_port
from tests.server.helpers import broker_process

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_sigterm_ends_open_watch_stream_cleanly_and_exits_0(tmp_path: Path) -> None:
    port = free_port()
    args = [
        "serve",
        "--sim",
        "--listen",
        f"127.0.0.1:{port}",
        "--store",
        str(tmp_path / "s.sqlite3"),
    ]
    with broker_process(args) as (proc, address, tail):
        assert address == f"127.0.0.1:{port}"
        with sync_channel(address) as channel:
            stub = svc_grpc.ConnectionServiceStub(channel)
            stream = stub.WatchConnectionState(svc.WatchConnectionStateRequest(), timeout=30)
            events = []
            signalled = False
            for reply in stream:
                events.append(reply.event)
                if reply.event.state == pb.CONNECTION_STATE_CONNECTED and not signalled:
                    proc.send_signal(signal.SIGTERM)
                    signalled = True
            assert signalled
            assert stream.code() == grpc.StatusCode.OK
        assert events[-1].kind == pb.EVENT_KIND_FINAL
        assert proc.wait(15) == 0
        tail.wait_for("shutdown_complete", 5)


def _dockerfile_json(instruction: str) -> list[str]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    match = re.search(rf"^{instruction}\b.*?(\[.*\])\s*$", text, re.MULTILINE)
    assert match, instruction
    return list(json.loads(match.group(1)))


def test_docker_entrypoint_and_healthcheck_run_as_written(tmp_path: Path) -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "STOPSIGNAL SIGTERM" in text and re.search(r"^USER (?!root)\w+", text, re.MULTILINE)
    entrypoint, cmd, check = (_dockerfile_json(i) for i in ("ENTRYPOINT", "CMD", "HEALTHCHECK"))
    check = check[check.index("ibbroker") :] if "ibbroker" in check else check
    port = free_port()
    # The image listens on 0.0.0.0; tests stay on loopback.
    env = {
        **os.environ,
        "IBBROKER_LISTEN": f"127.0.0.1:{port}",
        "IBBROKER_STORE": str(tmp_path / "s.sqlite3"),
    }
    argv = [str(BIN / entrypoint[0]), *entrypoint[1:], *cmd]
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            probe = subprocess.run(
                [str(BIN / check[0]), *check[1:]],
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            )
            if probe.returncode == 0:
                break
            assert time.monotonic() < deadline, probe.stderr
            assert proc.poll() is None, "the entry point exited"
            time.sleep(0.2)  # polling the health probe, as Docker does, until the broker is up
        assert "SERVING" in probe.stdout
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    # With nothing listening, the probe fails (Docker marks the container unhealthy).
    probe = subprocess.run(
        [str(BIN / check[0]), *check[1:]], env=env, capture_output=True, text=True, timeout=30
    )
    assert probe.returncode == 1


def test_a_taken_listen_address_or_a_corrupt_store_fails_the_start_clearly(tmp_path: Path) -> None:
    port = free_port()
    args = [
        "serve",
        "--sim",
        "--listen",
        f"127.0.0.1:{port}",
        "--store",
        str(tmp_path / "a.sqlite3"),
    ]
    with broker_process(args):
        second = subprocess.run(
            [
                sys.executable,
                "-m",
                "broker_server",
                "serve",
                "--sim",
                "--listen",
                f"127.0.0.1:{port}",
                "--store",
                str(tmp_path / "b.sqlite3"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert second.returncode == 1
    assert f"ibbroker: cannot start: cannot listen on 127.0.0.1:{port}" in second.stderr
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(b"not a database, but somebody's file" * 100)
    before = corrupt.read_bytes()
    third = subprocess.run(
        [
            sys.executable,
            "-m",
            "broker_server",
            "serve",
            "--sim",
            "--listen",
            "127.0.0.1:0",
            "--store",
            str(corrupt),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert third.returncode == 1
    assert "ibbroker: store:" in third.stderr and "left untouched" in third.stderr
    assert corrupt.read_bytes() == before
