"""``write_atomic``: the atomic replace behind every cache file and ``metrics --write``.

A reader (node_exporter's textfile collector, another azjobs) sees the old content or the new,
never half; the file gets the asked mode whatever the umask; nothing is left behind on failure.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from azbackupjobs.arm.token_cache import write_atomic, write_private


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_readable_file_gets_its_mode_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "azjobs.prom"
    old = os.umask(0o077)
    try:
        write_atomic(target, b"azjobs_jobs 1\n", mode=0o644)
    finally:
        os.umask(old)
    assert target.read_bytes() == b"azjobs_jobs 1\n"
    assert mode_of(target) == 0o644


def test_it_replaces_the_old_content_whole_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "azjobs.prom"
    target.write_bytes(b"old\n")
    inode = target.stat().st_ino
    write_atomic(target, b"new\n", mode=0o644)
    assert target.read_bytes() == b"new\n"
    assert target.stat().st_ino != inode  # a rename over it, not a rewrite in place
    assert [p.name for p in tmp_path.iterdir()] == ["azjobs.prom"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path: Path) -> None:
    target = tmp_path / "azjobs.prom"
    target.write_bytes(b"old\n")
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes", mode=0o644)  # type: ignore[arg-type]
    assert target.read_bytes() == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["azjobs.prom"]


def test_private_files_stay_private(tmp_path: Path) -> None:
    target = tmp_path / "token.json"
    write_private(target, b"{}")
    assert mode_of(target) == 0o600
