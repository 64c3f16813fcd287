"""Reading the small files azjobs reads: its config file and caches, the az CLI's profile and
config. Regular files only, up to a size, and never blocking.

A path can name anything: ``AZJOBS_CONFIG=/dev/zero`` would fill the memory, a FIFO would hang
the command on open. So a file is opened without blocking, checked to be a regular file of a
sane size, and read no further than that size (a file may grow while it is read). The failures
are ``OSError``s, so that a cache that cannot be read stays a cache miss; the config file turns
them into one line and exit 2.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

KIB = 1024
MIB = 1024 * KIB


class NotRegularFile(OSError):
    """The path names a FIFO, a device, a directory or a socket."""


class FileTooLarge(OSError):
    """The file is larger than its reader accepts."""


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def size_text(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit >= MIB else f"{limit // KIB} KiB"


def read_small_file(
    path: Path | str, limit: int, *, nofollow: bool = False
) -> tuple[bytes, os.stat_result]:
    """The bytes of a regular file of at most ``limit`` bytes, and its ``fstat``.

    ``nofollow``: a symbolic link is refused (for files azjobs writes itself, in its cache).
    Raises ``NotRegularFile``, ``FileTooLarge`` or the ``OSError`` of opening or reading.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if nofollow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(f"{_kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise FileTooLarge(f"larger than {size_text(limit)}")
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 64 * KIB))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise FileTooLarge(f"larger than {size_text(limit)}")
        return b"".join(chunks), info
    finally:
        os.close(fd)
