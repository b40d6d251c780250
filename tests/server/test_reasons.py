"""The domain's FailureReason and the proto's ErrorReason are one list, and each is raised."""

from __future__ import annotations

import pathlib
import re

from broker_client.ibbroker.v1 import errors_pb2
from broker_server.domain.reasons import FailureReason
from broker_server.services.errors import proto_reason

# Reasons in the contract that nothing produces yet: those of market data (issue 11), whose
# runtime is not built. When something starts producing one, the test below says so and its
# entry goes.
NOT_YET_PRODUCED: set[FailureReason] = set()

SERVER = pathlib.Path(__file__).resolve().parents[2] / "broker_server"


def test_every_domain_reason_maps_to_a_proto_reason() -> None:
    for reason in FailureReason:
        value = proto_reason(reason)
        assert errors_pb2.ErrorReason.Name(value) == "ERROR_REASON_" + reason.value


def test_every_proto_reason_has_a_domain_reason() -> None:
    names = {
        name.removeprefix("ERROR_REASON_")
        for name in errors_pb2.ErrorReason.keys()
        if name != "ERROR_REASON_UNSPECIFIED"
    }
    assert names == {reason.value for reason in FailureReason}


def test_every_reason_is_produced_somewhere_in_the_server() -> None:
    """A reason nobody raises is dead contract: each one is named outside its own definition."""
    source = "\n".join(
        path.read_text()
        for path in SERVER.rglob("*.py")
        if path.name != "reasons.py" and "sim" not in path.relative_to(SERVER).parts
    )
    used = set(re.findall(r"FailureReason\.([A-Z_]+)", source))
    # Connect failures carry their reason as ConnectFailureReason, whose names are reasons too.
    used |= set(re.findall(r"ConnectFailureReason\.([A-Z_]+)", source))
    missing = {reason.value for reason in FailureReason} - used
    assert missing == {r.value for r in NOT_YET_PRODUCED}, f"never produced: {sorted(missing)}"
