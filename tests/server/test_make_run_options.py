"""`make run`'s options reach the broker: ``--sim-port`` puts the embedded simulator on a given
port (the default gateway follows it), ``--store`` the store file; a bad port is a usage error."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from broker_client import BrokerClientSync
from tests.conftest import free_port
from tests.server.helpers import broker_process

ROOT = Path(__file__).resolve().parents[2]


def test_sim_port_and_store_flags_are_used(tmp_path: Path) -> None:
    sim_port, store = free_port(), tmp_path / "second" / "broker.sqlite3"
    args = ["serve", "--sim", "--listen", "127.0.0.1:0", "--sim-port", str(sim_port)]
    with broker_process([*args, "--store", str(store)]) as (_proc, address, tail):
        tail.wait_for("sim_started", 10, address=f"127.0.0.1:{sim_port}")
        with BrokerClientSync(address) as client:
            [gateway] = client.get_connection_state()
        assert gateway.address == f"127.0.0.1:{sim_port}"
        assert store.exists()


def test_a_bad_sim_port_is_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "broker_server", "serve", "--sim", "--sim-port", "70000"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "--sim-port: must be between 0 and 65535, got 70000" in done.stderr


def test_make_run_passes_its_documented_options() -> None:
    makefile = (ROOT / "Makefile").read_text()
    run = re.search(r"^run:.*\n\t(.*)$", makefile, re.MULTILINE)
    assert run is not None
    for flag, var in (("--listen", "LISTEN"), ("--sim-port", "SIM_PORT"), ("--store", "STORE")):
        assert f"{flag} $({var})" in run.group(1)
        assert re.search(rf"^{var} \?= ", makefile, re.MULTILINE), var
        assert f"`{var}" in (ROOT / "README.md").read_text(), f"README does not document {var}"
