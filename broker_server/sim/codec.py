"""TWS socket protocol codec: framing and field encoding, in one place.

Every message is a 4-byte big-endian length followed by NUL-terminated text fields (the last
field too: clients split on NUL and drop the last element). The handshake is the exception:
the client sends a raw ``API\\0`` followed by one length-prefixed version string without NUL.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable
from decimal import Decimal

UNSET_DOUBLE = 1.7976931348623157e308
"""Java's Double.MAX_VALUE: IB's "no value" for doubles."""
UNSET_DOUBLE_STR = "1.7976931348623157E308"
"""How TWS writes UNSET_DOUBLE (the Java literal, upper-case E)."""
UNSET_INT = 2147483647
"""Java's Integer.MAX_VALUE: IB's "no value" for ints."""

MAX_FRAME = 16 * 1024 * 1024
"""Largest frame accepted; anything larger means the stream is not TWS protocol."""

API_PREFIX = b"API\0"

_LEN = struct.Struct(">I")

Field = str | int | float | bool | Decimal | None


class ProtocolError(Exception):
    """The peer broke framing (the connection cannot continue)."""


class MalformedMessage(ValueError):
    """A frame was well formed but its fields could not be parsed."""


def encode_field(value: Field) -> str:
    """Encode one field as TWS writes it (booleans 0/1, unset double as the Java literal)."""
    # bool before int: bool is a subclass of int.
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value == UNSET_DOUBLE:
            return UNSET_DOUBLE_STR
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def encode_fields(fields: Iterable[Field]) -> bytes:
    """Encode fields into a message body (every field NUL-terminated, the last one too)."""
    return "".join(encode_field(f) + "\0" for f in fields).encode()


def frame(body: bytes) -> bytes:
    """Prefix a body with its 4-byte big-endian length."""
    return _LEN.pack(len(body)) + body


def encode_msg(*fields: Field) -> bytes:
    """Encode and frame one message."""
    return frame(encode_fields(fields))


def split_fields(body: bytes) -> list[str]:
    """Split a message body into fields, as the clients do (the trailing empty element goes)."""
    fields = body.decode(errors="backslashreplace").split("\0")
    if fields and fields[-1] == "":
        fields.pop()
    return fields


class FrameDecoder:
    """Incremental length-prefixed frame splitter (bytes in, frame bodies out)."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._buf = bytearray()
        self._max = max_frame

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every complete frame body. Raises ProtocolError."""
        self._buf += data
        out: list[bytes] = []
        buf = self._buf
        pos = 0
        while len(buf) - pos >= 4:
            (size,) = _LEN.unpack_from(buf, pos)
            if size > self._max:
                raise ProtocolError(f"frame of {size} bytes exceeds {self._max}")
            end = pos + 4 + size
            if len(buf) < end:
                break
            out.append(bytes(buf[pos + 4 : end]))
            pos = end
        if pos:
            del buf[:pos]
        return out

    def push(self, data: bytes) -> None:
        """Buffer bytes without splitting them (before the raw handshake prefix is read)."""
        self._buf += data

    def take_raw(self, n: int) -> bytes | None:
        """Consume ``n`` raw (unframed) bytes if available, for the ``API\\0`` prefix."""
        if len(self._buf) < n:
            return None
        raw = bytes(self._buf[:n])
        del self._buf[:n]
        return raw

    def pending(self) -> int:
        """Bytes buffered but not yet returned."""
        return len(self._buf)


def parse_hello(body: bytes) -> tuple[int, int, str]:
    """Parse the client's ``v{min}..{max}[ options]`` version string."""
    text = body.decode(errors="replace").strip("\0")
    if not text.startswith("v"):
        raise MalformedMessage(f"bad version string {text!r}")
    rng, _, options = text[1:].partition(" ")
    lo_s, sep, hi_s = rng.partition("..")
    try:
        lo = int(lo_s)
        hi = int(hi_s) if sep else lo
    except ValueError as exc:
        raise MalformedMessage(f"bad version string {text!r}") from exc
    if lo > hi:
        raise MalformedMessage(f"empty version range {text!r}")
    return lo, hi, options


def parse_float(text: str) -> float | None:
    """Parse a double as clients write it; ``""`` and the unset literal mean None."""
    t = text.strip()
    if t == "":
        return None
    low = t.lower()
    # ib_insync writes "Infinite", TWS and ibapi write "Infinity".
    if low in ("infinite", "infinity", "inf", "+infinity", "+infinite"):
        return math.inf
    if low in ("-infinite", "-infinity", "-inf"):
        return -math.inf
    try:
        value = float(t)
    except ValueError as exc:
        raise MalformedMessage(f"not a number: {text!r}") from exc
    if math.isnan(value):
        raise MalformedMessage(f"not a number: {text!r}")
    return None if value == UNSET_DOUBLE else value


def parse_int(text: str) -> int | None:
    """Parse an int; ``""`` and the unset literal mean None."""
    t = text.strip()
    if t == "":
        return None
    try:
        value = int(t)
    except ValueError:
        # Some clients write ints through a float formatter ("5.0").
        f = parse_float(t)
        if f is None or not f.is_integer():
            raise MalformedMessage(f"not an integer: {text!r}") from None
        value = int(f)
    return None if value == UNSET_INT else value


def parse_bool(text: str) -> bool:
    """Parse a boolean: ``0``/``1`` (and, leniently, ``true``/``false``); empty is False."""
    t = text.strip().lower()
    if t in ("", "0", "false"):
        return False
    if t in ("1", "true"):
        return True
    raise MalformedMessage(f"not a boolean: {text!r}")


class FieldReader:
    """Sequential reader over a request's fields; underflow raises MalformedMessage."""

    def __init__(self, fields: list[str], start: int = 0) -> None:
        self._fields = fields
        self._pos = start

    def _next(self) -> str:
        if self._pos >= len(self._fields):
            raise MalformedMessage(f"message ends after {len(self._fields)} fields")
        value = self._fields[self._pos]
        self._pos += 1
        return value

    def text(self) -> str:
        """Next field as text."""
        return self._next()

    def integer(self, default: int = 0) -> int:
        """Next field as int (``default`` when empty or unset)."""
        value = parse_int(self._next())
        return default if value is None else value

    def opt_real(self) -> float | None:
        """Next field as float, None when empty or unset."""
        return parse_float(self._next())

    def real(self, default: float = 0.0) -> float:
        """Next field as float (``default`` when empty or unset)."""
        value = parse_float(self._next())
        return default if value is None else value

    def flag(self) -> bool:
        """Next field as a 0/1 boolean."""
        return parse_bool(self._next())

    def skip(self, n: int = 1) -> None:
        """Skip ``n`` fields (that must exist)."""
        for _ in range(n):
            self._next()

    def remaining(self) -> int:
        """Fields not yet read."""
        return len(self._fields) - self._pos

    def rest(self) -> list[str]:
        """Every field not yet read."""
        out = self._fields[self._pos :]
        self._pos = len(self._fields)
        return out
