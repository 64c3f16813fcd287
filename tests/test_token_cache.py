"""The on-disk token cache: private files, atomic writes, expiry margin, tamper resistance."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from azbackupjobs.arm import token_cache
from azbackupjobs.arm.token_cache import REFRESH_MARGIN_SECONDS, TokenCache, cache_key, cache_root

NOW = 1_800_000_000.0
TOKEN = "header.payload-secret.signature"


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(tmp_path: Path, clock: Clock | None = None) -> TokenCache:
    return TokenCache(tmp_path / "azjobs" / "tokens", clock or Clock())


def store(cache: TokenCache, key: str = "k1", expires_on: float = NOW + 3600) -> bool:
    return cache.store(key, TOKEN, expires_on, mode="cli", scope="https://x/.default", tenant="t1")


def test_round_trip_with_private_modes(tmp_path: Path) -> None:
    cache = make(tmp_path)
    assert store(cache)
    assert cache.load("k1") == (TOKEN, NOW + 3600)
    file_mode = stat.S_IMODE(os.stat(cache.directory / "k1.json").st_mode)
    dir_mode = stat.S_IMODE(os.stat(cache.directory).st_mode)
    assert file_mode == 0o600
    assert dir_mode == 0o700
    assert not [n for n in os.listdir(cache.directory) if n.endswith(".tmp")]


def test_temporary_file_is_created_exclusive_and_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token never sits in a file that others could open, not even for a moment."""
    calls: list[tuple[str, int, int | None]] = []
    real_open = os.open

    def spy(path: str | os.PathLike[str], flags: int, mode: int = 0o777, **kw: object) -> int:
        calls.append((os.fspath(path), flags, mode))
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", spy)
    replaced: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        replaced.append((os.fspath(src), os.fspath(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy_replace)
    previous = os.umask(0o000)  # even a permissive umask must not widen the file
    try:
        assert store(make(tmp_path))
    finally:
        os.umask(previous)
    writes = [c for c in calls if c[1] & os.O_CREAT]
    assert len(writes) == 1
    path, flags, mode = writes[0]
    assert flags & os.O_EXCL and flags & os.O_CREAT
    assert mode == 0o600
    assert path.endswith(".tmp")
    assert replaced == [(path, str(tmp_path / "azjobs" / "tokens" / "k1.json"))]


@pytest.mark.parametrize("left", [REFRESH_MARGIN_SECONDS, REFRESH_MARGIN_SECONDS - 1, 0, -60])
def test_never_used_within_five_minutes_of_expiry(tmp_path: Path, left: float) -> None:
    cache = make(tmp_path)
    store(cache, expires_on=NOW + left)
    assert cache.load("k1") is None


def test_used_until_just_before_the_margin(tmp_path: Path) -> None:
    clock = Clock()
    cache = make(tmp_path, clock)
    store(cache, expires_on=NOW + REFRESH_MARGIN_SECONDS + 10)
    assert cache.load("k1") is not None
    clock.now += 11
    assert cache.load("k1") is None


def test_a_world_readable_file_is_not_trusted(tmp_path: Path) -> None:
    cache = make(tmp_path)
    store(cache)
    os.chmod(cache.directory / "k1.json", 0o644)
    assert cache.load("k1") is None


def test_an_open_directory_is_not_trusted(tmp_path: Path) -> None:
    cache = make(tmp_path)
    store(cache)
    os.chmod(cache.directory, 0o755)  # noqa: S103 - the point of the test
    assert cache.load("k1") is None
    assert list(cache.entries()) == []
    # The next write closes it again.
    assert store(cache, key="k2")
    assert stat.S_IMODE(os.stat(cache.directory).st_mode) == 0o700


def test_a_symlinked_entry_is_not_followed(tmp_path: Path) -> None:
    cache = make(tmp_path)
    store(cache)
    target = tmp_path / "elsewhere.json"
    os.rename(cache.directory / "k1.json", target)
    os.symlink(target, cache.directory / "k1.json")
    assert cache.load("k1") is None


def test_a_symlinked_directory_is_not_used(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "azjobs").mkdir()
    os.symlink(real, tmp_path / "azjobs" / "tokens")
    cache = make(tmp_path)
    assert not store(cache)
    assert list(real.iterdir()) == []


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[]",
        b'{"version": 99, "token": "x", "expires_on": 1900000000}',
        b'{"version": 1, "token": "", "expires_on": 1900000000}',
        b'{"version": 1, "token": "x", "expires_on": "soon"}',
        b'{"version": 1, "token": "x", "expires_on": true}',
        b"\xff\xfe",
    ],
)
def test_corrupt_entries_are_misses(tmp_path: Path, content: bytes) -> None:
    cache = make(tmp_path)
    store(cache)
    path = cache.directory / "k1.json"
    path.write_bytes(content)
    assert cache.load("k1") is None


def test_unwritable_directory_is_a_silent_miss(tmp_path: Path) -> None:
    (tmp_path / "azjobs").write_text("a file where a directory should be")
    cache = make(tmp_path)
    assert not store(cache)
    assert cache.load("k1") is None


def test_entries_never_contain_the_token(tmp_path: Path) -> None:
    cache = make(tmp_path)
    store(cache)
    store(cache, key="k2", expires_on=NOW + 10)
    entries = list(cache.entries())
    assert [e["usable"] for e in entries] == [True, False]
    assert TOKEN not in json.dumps(entries)
    assert entries[0]["tenant"] == "t1"


def test_clear_removes_entries_and_leftovers(tmp_path: Path) -> None:
    cache = make(tmp_path)
    store(cache)
    store(cache, key="k2")
    (cache.directory / ".k3.1.tmp").write_text("partial")
    assert cache.clear() == 2
    assert not cache.directory.exists()
    assert cache.clear() == 0


def test_discard(tmp_path: Path) -> None:
    cache = make(tmp_path)
    store(cache)
    cache.discard("k1")
    assert cache.load("k1") is None


@pytest.mark.parametrize("value", ["0", "false", "OFF", " no "])
def test_disabled_by_variable(value: str) -> None:
    assert not token_cache.enabled({"AZJOBS_TOKEN_CACHE": value})


@pytest.mark.parametrize("value", ["", "1", "yes"])
def test_enabled_by_default(value: str) -> None:
    assert token_cache.enabled({"AZJOBS_TOKEN_CACHE": value})


def test_cache_root_follows_xdg(tmp_path: Path) -> None:
    assert cache_root({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "azjobs"
    # A relative XDG_CACHE_HOME is ignored, as the spec says.
    assert cache_root({"XDG_CACHE_HOME": "rel", "HOME": str(tmp_path)}) == (
        tmp_path / ".cache" / "azjobs"
    )


def test_key_separates_identities() -> None:
    base: dict[str, Any] = {"mode": "cli", "scope": "s", "tenant": "t", "env": {}, "account": "a@x"}
    key = cache_key(**base)
    variants: list[dict[str, Any]] = [
        {"mode": "default"},
        {"scope": "s2"},
        {"tenant": "t2"},
        {"tenant": None},
        {"account": "b@x"},
        {"env": {"AZURE_CLIENT_ID": "c"}},
        {"env": {"AZURE_TOKEN_CREDENTIALS": "dev"}},
        {"env": {"AZURE_CONFIG_DIR": "/other"}},
    ]
    keys = {cache_key(**{**base, **v}) for v in variants}
    assert key not in keys and len(keys) == len(variants)
    # Secrets are not part of the key: the same identity with a rotated secret is the same entry.
    assert cache_key(**{**base, "env": {"AZURE_CLIENT_SECRET": "x"}}) == key
