"""A small on-disk cache of ARM access tokens, so that a loop of ``azjobs get`` calls spawns
``az account get-access-token`` (~330 ms) or imports azure-identity (~200 ms) once, not every time.

One file per identity and scope under ``$XDG_CACHE_HOME/azjobs/tokens/`` (``~/.cache/...``).
The tokens are as sensitive as the az CLI's own MSAL cache, and are kept the same way: the
directory is 0700, each file 0600 from the moment it exists (``O_CREAT|O_EXCL`` with mode 0600 on
a temporary file, then ``os.replace``), and anything that looks tampered with (wrong owner, group
or world access, a symlink, bad JSON) is ignored rather than trusted. A token is never used within
five minutes of its expiry. ``AZJOBS_TOKEN_CACHE=0`` turns the cache off.

Nothing here raises: a cache that cannot be read or written means "fetch a token as usual".
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from azbackupjobs.arm.files import KIB, read_small_file

CACHE_VERSION = 1
REFRESH_MARGIN_SECONDS = 300.0
DISABLE_VARIABLE = "AZJOBS_TOKEN_CACHE"
_OFF_VALUES = frozenset({"0", "false", "no", "off"})
# Environment variables that change which identity a credential signs in as; a change of any of
# them must not pick up a token cached for the previous identity. None of them holds a secret.
IDENTITY_VARIABLES = (
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_TOKEN_CREDENTIALS",
    "AZURE_CONFIG_DIR",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_USERNAME",
    "IDENTITY_ENDPOINT",
    "MSI_ENDPOINT",
)


def cache_root(env: Mapping[str, str]) -> Path:
    """``$XDG_CACHE_HOME/azjobs`` (relative values are ignored, as the XDG spec says)."""
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "azjobs"
    home = env.get("HOME", "").strip()
    base = Path(home) if home and os.path.isabs(home) else Path.home()
    return base / ".cache" / "azjobs"


def token_dir(env: Mapping[str, str]) -> Path:
    return cache_root(env) / "tokens"


def enabled(env: Mapping[str, str]) -> bool:
    return env.get(DISABLE_VARIABLE, "").strip().lower() not in _OFF_VALUES


def cache_key(
    *, mode: str, scope: str, tenant: str | None, env: Mapping[str, str], account: str | None
) -> str:
    """A file name for one identity and scope; the parts are hashed so that names stay short and
    say nothing about the account."""
    import hashlib

    parts = [
        f"v{CACHE_VERSION}",
        mode,
        scope.lower(),
        (tenant or "home").lower(),
        (account or "").lower(),
    ]
    parts += [f"{name}={env.get(name, '')}" for name in IDENTITY_VARIABLES]
    digest = hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()
    return digest[:40]


class TokenCache:
    """Tokens on disk, keyed by ``cache_key``; every failure degrades to a cache miss."""

    def __init__(self, directory: Path, clock: Any = time.time) -> None:
        self.directory = directory
        self._clock = clock

    # ----- reading ------------------------------------------------------------------------------
    def load(self, key: str) -> tuple[str, float] | None:
        """(token, expires_on) when a usable entry exists: not expiring within five minutes."""
        entry = self._read(self.directory / f"{key}.json")
        if entry is None:
            return None
        token, expires_on = entry.get("token"), _number(entry.get("expires_on"))
        if not isinstance(token, str) or not token or expires_on is None:
            return None
        if expires_on - REFRESH_MARGIN_SECONDS <= self._clock():
            return None
        return token, expires_on

    def entries(self) -> Iterator[dict[str, Any]]:
        """What ``azjobs cache show`` prints: every entry WITHOUT its token."""
        if not self._directory_is_private():
            return
        try:
            names = sorted(os.listdir(self.directory))
        except OSError:
            return
        for name in names:
            if not name.endswith(".json") or name.startswith("."):
                continue
            entry = self._read(self.directory / name)
            if entry is None:
                continue
            yield {
                "file": name,
                "mode": entry.get("mode"),
                "scope": entry.get("scope"),
                "tenant": entry.get("tenant"),
                "expiresOn": _number(entry.get("expires_on")),
                "usable": self.load(name[:-5]) is not None,
            }

    def _read(self, path: Path) -> dict[str, Any] | None:
        if not self._directory_is_private():
            return None
        try:
            raw, info = read_small_file(path, 64 * KIB, nofollow=True)
            if not _private(info, want_dir=False):
                return None
            data = json.loads(raw.decode("utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            return None
        return data

    def _directory_is_private(self) -> bool:
        try:
            info = os.lstat(self.directory)
        except OSError:
            return False
        return _private(info, want_dir=True)

    # ----- writing ------------------------------------------------------------------------------
    def store(
        self, key: str, token: str, expires_on: float, *, mode: str, scope: str, tenant: str | None
    ) -> bool:
        """Write one entry atomically; False when the cache could not be written (no error)."""
        if not self._ensure_directory():
            return False
        entry = {
            "version": CACHE_VERSION,
            "mode": mode,
            "scope": scope,
            "tenant": tenant,
            "expires_on": float(expires_on),
            "stored_at": self._clock(),
            "token": token,
        }
        payload = json.dumps(entry, separators=(",", ":")).encode("utf-8")
        try:
            write_private(self.directory / f"{key}.json", payload, durable=True)
        except OSError:
            return False
        return True

    def discard(self, key: str) -> None:
        _unlink(self.directory / f"{key}.json")

    def clear(self) -> int:
        """Remove every cached token (and stray temporary files); the number of entries removed."""
        removed = 0
        try:
            info = os.lstat(self.directory)
        except OSError:
            return 0
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            _unlink(self.directory)
            return 0
        try:
            names = os.listdir(self.directory)
        except OSError:
            return 0
        for name in names:
            if not name.endswith((".json", ".tmp")) or not _unlink(self.directory / name):
                continue
            removed += name.endswith(".json") and not name.startswith(".")
        with contextlib.suppress(OSError):
            os.rmdir(self.directory)
        return removed

    def _ensure_directory(self) -> bool:
        try:
            os.makedirs(self.directory.parent, mode=0o700, exist_ok=True)
            os.mkdir(self.directory, 0o700)
        except FileExistsError:
            pass
        except OSError:
            return False
        try:
            info = os.lstat(self.directory)
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
                return False
            if _uid() is not None and info.st_uid != _uid():
                return False
            if stat.S_IMODE(info.st_mode) != 0o700:
                os.chmod(self.directory, 0o700)
        except OSError:
            return False
        return True


def write_private(path: Path, payload: bytes, *, durable: bool = False) -> None:
    """Replace ``path`` atomically with a file that is 0600 from the moment it exists.

    Readers see the old content or the new, never half; ``O_EXCL|O_NOFOLLOW`` on the temporary
    file so a planted file or link is never written through, whatever the umask. Raises OSError
    (the temporary file removed). ``durable`` syncs before the rename (tokens, not mere hints).
    """
    write_atomic(path, payload, durable=durable)


def write_atomic(
    path: Path, payload: bytes | Iterable[bytes], *, mode: int = 0o600, durable: bool = False
) -> None:
    """``write_private`` for a file others may read too (``mode``, set whatever the umask: a
    metrics file for node_exporter is 0644), and for a payload in chunks (never joined in
    memory). The temporary file, in the same directory, is 0600 until its content is complete,
    and its name (``.NAME.*.tmp``) is one that a reader looking for ``*.prom`` never picks."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temp, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in [payload] if isinstance(payload, bytes) else payload:
                handle.write(chunk)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
            if mode != 0o600:
                fchmod = getattr(os, "fchmod", None)  # not on Windows before Python 3.13
                if fchmod is not None:
                    fchmod(handle.fileno(), mode)
                else:  # pragma: no cover - Windows
                    os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        _unlink(temp)
        raise


def _uid() -> int | None:
    getuid = getattr(os, "getuid", None)
    return getuid() if getuid is not None else None


def _private(info: os.stat_result, *, want_dir: bool) -> bool:
    """Ours, of the right kind, and closed to group and others."""
    if want_dir and not stat.S_ISDIR(info.st_mode):
        return False
    if not want_dir and not stat.S_ISREG(info.st_mode):
        return False
    uid = _uid()
    if uid is not None and info.st_uid != uid:
        return False
    return os.name == "nt" or stat.S_IMODE(info.st_mode) & 0o077 == 0


def _unlink(path: Path) -> bool:
    try:
        os.unlink(path)
    except OSError:
        return False
    return True


def _number(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None
