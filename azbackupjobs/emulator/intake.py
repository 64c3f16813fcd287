"""Reading a request body off the socket, within bounds.

The server asks :func:`declared_length` first (headers only), checks the bearer token, and only
then calls :func:`read_body`: an unauthenticated client cannot make the emulator buffer anything,
and nobody can make it buffer more than ``limit`` bytes. A Content-Length that is not a number,
is negative or disagrees with itself is a 400 (checked before anything else); one above the
limit is a 413 (once the client is known); so is a chunked body that grows past it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Protocol

from .replies import ServiceError


class Reader(Protocol):
    """The part of a buffered socket file this module uses."""

    def read(self, size: int, /) -> bytes: ...

    def readline(self, size: int, /) -> bytes: ...


CHUNKED: Final = -1
HUGE: Final = 2**63 - 1
# Longest chunk-size line accepted (hex size plus extensions).
_MAX_CHUNK_LINE: Final = 1024
_DISCARD_STEP: Final = 64 * 1024


def too_large(limit: int) -> ServiceError:
    return ServiceError(
        413,
        "RequestEntityTooLarge",
        f"The request body is larger than the {limit} bytes this service accepts.",
    )


def _bad(message: str) -> ServiceError:
    return ServiceError(400, "InvalidRequestContent", message)


def declared_length(content_lengths: Sequence[str], transfer_encoding: str | None) -> int:
    """Bytes the client announces (0 without a body), or CHUNKED; a 400 when unusable.

    An absurdly long number comes back as HUGE rather than as a big int: it only has to
    compare as more than any limit.
    """
    if transfer_encoding is not None and transfer_encoding.strip():
        codings = [c.strip().lower() for c in transfer_encoding.split(",")]
        if codings[-1] != "chunked":
            raise _bad(f"The Transfer-Encoding '{transfer_encoding[:100]}' is not supported.")
        return CHUNKED
    values = {v.strip() for v in content_lengths}
    if not values:
        return 0
    if len(values) > 1:
        raise _bad("The request has conflicting Content-Length headers.")
    text = values.pop()
    if not text.isascii() or not text.isdigit():
        shown = text[:40].encode("ascii", "replace").decode()
        raise _bad(f"The Content-Length header '{shown}' is not a valid length.")
    return HUGE if len(text) > 18 else int(text)


def read_body(rfile: Reader, length: int, limit: int) -> bytes:
    """The body of ``length`` bytes (or chunked), at most ``limit``; a 413 otherwise.

    Raises ValueError when the connection ends before the body does.
    """
    if length == CHUNKED:
        return _read_chunked(rfile, limit)
    if length <= 0:
        return b""
    if length > limit:
        raise too_large(limit)
    data = rfile.read(length)
    if len(data) < length:
        raise ValueError("connection closed in the middle of the body")
    return data


def _read_chunked(rfile: Reader, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        line = rfile.readline(_MAX_CHUNK_LINE + 1)
        if not line:
            raise ValueError("connection closed in the middle of the body")
        if len(line) > _MAX_CHUNK_LINE:
            raise _bad("A chunk-size line of the request body is too long.")
        text = line.split(b";", 1)[0].strip()
        try:
            size = int(text, 16)
        except ValueError:
            raise _bad("The chunked request body is malformed.") from None
        if size < 0 or text.startswith((b"-", b"+", b"0x", b"0X")):
            raise _bad("The chunked request body is malformed.")
        if size == 0:
            # Trailer fields until the empty line; bounded like the chunk lines.
            for _ in range(100):
                trailer = rfile.readline(_MAX_CHUNK_LINE + 1)
                if trailer in (b"\r\n", b"\n", b""):
                    return b"".join(chunks)
            raise _bad("The chunked request body has too many trailer fields.")
        total += size
        if total > limit:
            raise too_large(limit)
        chunk = rfile.read(size)
        if len(chunk) < size:
            raise ValueError("connection closed in the middle of the body")
        chunks.append(chunk)
        rfile.readline(_MAX_CHUNK_LINE + 1)


def discard(rfile: Reader, length: int) -> None:
    """Read and drop a small unread body, so that the connection can carry the next request."""
    left = length
    while left > 0:
        step = rfile.read(min(left, _DISCARD_STEP))
        if not step:
            return
        left -= len(step)
