"""The benchmarks: start-up, typer version, against az, credentials, polling, scale, Backup vault,
render, metrics.

    python -m tests.bench                 # everything (installs az and typer 0.29 on demand)
    python -m tests.bench --only startup,render --runs 30
    python -m tests.bench --no-install    # skip the rows that need a download

Every process runs against the built-in emulator on loopback. Ratios compare commands measured
side by side (``timing.interleaved``). Rows whose prerequisites are missing are skipped with a
message saying why.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.bench.timing import Cmd, Row, Sample, interleaved, machine, print_table, run_once

REPO = Path(__file__).resolve().parents[2]
BENCH_HOME = Path(os.environ.get("AZJOBS_BENCH_HOME", Path.home() / ".cache" / "azjobs-bench"))
GROUPS = (
    "startup",
    "typer",
    "az",
    "credentials",
    "polling",
    "scale",
    "backup-vault",
    "render",
    "metrics",
)

BARE_GET = """\
import sys, requests
r = requests.get(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
print(r.text)
"""

BARE_PAGES = """\
import json, sys, requests
session = requests.Session()
url, headers = sys.argv[1], {"Authorization": "Bearer " + sys.argv[2]}
while url:
    body = session.get(url, headers=headers).json()
    for item in body["value"]:
        sys.stdout.write(json.dumps(item, separators=(",", ":")) + "\\n")
    url = body.get("nextLink")
"""


class Bench:
    def __init__(self, runs: int, install: bool, work: Path) -> None:
        self.runs = runs
        self.install = install
        self.work = work
        self.rows: list[Row] = []
        bindir = Path(sys.executable).parent
        script = bindir / "azjobs"
        self.azjobs = [str(script)] if script.exists() else [sys.executable, "-m", "azbackupjobs"]
        self.base_env = clean_env(work)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print_table([row], out=sys.stderr)
        print(file=sys.stderr)

    def skip(self, group: str, name: str, why: str) -> None:
        self.add(Row(group, name, "skipped", note=why))

    def env(self, **extra: str) -> dict[str, str]:
        return {**self.base_env, **extra}

    def script(self, name: str, text: str) -> str:
        path = self.work / name
        path.write_text(text)
        return str(path)


def clean_env(work: Path) -> dict[str, str]:
    """The caller's environment without azjobs/Azure settings, with private cache and config
    directories, and with bytecode writing on (installed packages have their .pyc files)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AZJOBS_", "AZURE_", "_AZJOBS", "MSI_", "IDENTITY_"))
        and k not in {"PYTHONDONTWRITEBYTECODE", "REQUESTS_CA_BUNDLE"}
    }
    for name in ("cache", "config", "azure"):
        (work / name).mkdir(exist_ok=True)
    env.update(
        XDG_CACHE_HOME=str(work / "cache"),
        XDG_CONFIG_HOME=str(work / "config"),
        AZURE_CONFIG_DIR=str(work / "azure"),
        NO_COLOR="1",
    )
    return env


@contextmanager
def emulator(**options: Any) -> Iterator[Any]:
    from azbackupjobs.emulator import start_emulator

    with start_emulator(**options) as emu:
        yield emu


def ratio_row(
    group: str,
    name: str,
    samples: dict[str, Any],
    subject: str,
    baseline: str,
    limit: float | None,
    note: str = "",
) -> Row:
    a, b = samples[subject], samples[baseline]
    ratio = a.wall_ms / b.wall_ms
    cpu_note = f"cpu {a.cpu_ms:.0f} vs {b.cpu_ms:.0f} ms ({a.cpu_ms / b.cpu_ms:.2f}x)"
    failed = [c for c in a.codes + b.codes if c != 0]
    if failed:
        note = f"{note}; non-zero exit codes {sorted(set(failed))}".lstrip("; ")
    return Row(
        group,
        name,
        f"{a.wall_ms:.0f} ms",
        f"{b.wall_ms:.0f} ms ({baseline})",
        ratio,
        f"<= {limit}x" if limit else "",
        None if limit is None else ratio <= limit,
        f"{cpu_note}; {note}".rstrip("; "),
    )


# ----- start-up -------------------------------------------------------------------------------
def bench_startup(b: Bench) -> None:
    with emulator(speed=1e-6, seed=3) as emu:
        job = emu.add_job(entity="vm-bench", outcome="Completed", start_offset=-3600)
        emu.advance(3600)
        env = b.env(**emu.env())
        url = (
            f"{emu.url}/subscriptions/{emu.subscription}/resourceGroups/{emu.resource_group}"
            f"/providers/Microsoft.RecoveryServices/vaults/{emu.vault}/backupJobs/{job}"
            "?api-version=2026-10-01"
        )
        bare = b.script("bare_get.py", BARE_GET)
        commands = {
            "azjobs get -o json": Cmd([*b.azjobs, "get", job, "-o", "json"], env),
            "bare requests GET": Cmd([sys.executable, bare, url, emu.token], env),
            "azjobs get -o json (Typer path)": Cmd(
                [*b.azjobs, "get", job, "-o", "json"], {**env, "AZJOBS_FASTPATH": "0"}
            ),
            "azjobs --help": Cmd([*b.azjobs, "--help"], env),
            "azjobs completion": Cmd(
                [*b.azjobs],
                {
                    **env,
                    "_AZJOBS_COMPLETE": "complete_bash",
                    "COMP_WORDS": "azjobs ge",
                    "COMP_CWORD": "1",
                },
            ),
            'python -c "import typer"': Cmd([sys.executable, "-c", "import typer"], env),
        }
        samples = interleaved(commands, b.runs)
    b.add(
        ratio_row(
            "startup",
            "get -o json (fast path)",
            samples,
            "azjobs get -o json",
            "bare requests GET",
            1.25,
            f"median of {b.runs}",
        )
    )
    b.add(
        ratio_row(
            "startup",
            "get -o json (Typer path)",
            samples,
            "azjobs get -o json (Typer path)",
            "bare requests GET",
            None,
            "AZJOBS_FASTPATH=0, for comparison",
        )
    )
    b.add(ratio_row("startup", "--help", samples, "azjobs --help", 'python -c "import typer"', 1.5))
    b.add(
        ratio_row(
            "startup",
            "completion 'azjobs ge'",
            samples,
            "azjobs completion",
            'python -c "import typer"',
            1.5,
        )
    )


# ----- typer 0.28 vs 0.29 ---------------------------------------------------------------------
def venv_with(b: Bench, name: str, packages: list[str]) -> Path | None:
    """A virtual environment under the bench home with ``packages``; None when it cannot be
    made (no network, no --install)."""
    root = BENCH_HOME / name
    python = root / "bin" / "python"
    marker = root / ".azjobs-bench-ok"
    if marker.exists() and python.exists():
        return python
    if not b.install:
        return None
    print(f"bench: installing {' '.join(packages)} into {root} (once)...", file=sys.stderr)
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", str(root)], check=True, capture_output=True, timeout=300
        )
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *packages],
            check=True,
            capture_output=True,
            timeout=1800,
        )
        subprocess.run(
            [str(python), "-m", "compileall", "-q", str(root / "lib")],
            capture_output=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"bench: could not install {packages}: {exc}", file=sys.stderr)
        return None
    marker.write_text("ok\n")
    return python


def bench_typer(b: Bench) -> None:
    python = venv_with(b, "typer-0.29", ["typer==0.29.1", "requests"])
    if python is None:
        b.skip(
            "typer",
            "0.29 vs 0.28",
            "no virtual environment with typer 0.29.1 (needs PyPI; run without --no-install)",
        )
        return
    with emulator(speed=1e-6, seed=3) as emu:
        job = emu.add_job(entity="vm-bench", outcome="Completed", start_offset=-3600)
        env = b.env(**emu.env(), PYTHONPATH=str(REPO), AZJOBS_FASTPATH="0")
        commands = {
            "0.28 get (Typer path)": Cmd(
                [sys.executable, "-m", "azbackupjobs", "get", job, "-o", "json"], env
            ),
            "0.29 get (Typer path)": Cmd(
                [str(python), "-m", "azbackupjobs", "get", job, "-o", "json"], env
            ),
            "0.28 --help": Cmd([sys.executable, "-m", "azbackupjobs", "--help"], env),
            "0.29 --help": Cmd([str(python), "-m", "azbackupjobs", "--help"], env),
        }
        samples = interleaved(commands, max(b.runs // 2, 5))
    for what in ("get (Typer path)", "--help"):
        new, old = samples[f"0.29 {what}"], samples[f"0.28 {what}"]
        b.add(
            Row(
                "typer",
                f"0.29 vs 0.28: {what}",
                f"{new.wall_ms:.0f} ms",
                f"{old.wall_ms:.0f} ms (0.28)",
                new.wall_ms / old.wall_ms,
                "",
                None,
                f"{new.cpu_ms - old.cpu_ms:+.0f} ms cpu per run with 0.29",
            )
        )


# ----- credentials ----------------------------------------------------------------------------
FAKE_AZ = """#!{python}
import json, sys, time
open({log!r}, "a").write(" ".join(sys.argv[1:]) + "\\n")
exp = int(time.time()) + 3600
print(json.dumps({{"accessToken": {token!r}, "expires_on": exp, "tokenType": "Bearer",
                  "expiresOn": time.strftime("%Y-%m-%d %H:%M:%S.000000", time.localtime(exp)),
                  "tenant": "72f988bf-86f1-41af-91ab-2d7cd011db47"}}))
"""


def bench_credentials(b: Bench) -> None:
    with emulator(speed=1e-6, seed=3) as emu:
        job = emu.add_job(entity="vm-bench", outcome="Completed", start_offset=-3600)
        bindir = b.work / "fake-az"
        bindir.mkdir(exist_ok=True)
        log = b.work / "az-calls.log"
        az = bindir / "az"
        az.write_text(FAKE_AZ.format(python=sys.executable, log=str(log), token=emu.token))
        az.chmod(0o755)
        env = b.env(
            **emu.env(), PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}", AZJOBS_AUTH="cli"
        )
        env.pop("AZJOBS_ACCESS_TOKEN")
        subprocess.run([*b.azjobs, "cache", "clear"], env=env, capture_output=True, check=False)
        log.write_text("")
        timings = []
        for _ in range(10):
            wall, _, _, code = run_once(Cmd([*b.azjobs, "get", job, "-o", "json"], env))
            timings.append((wall, code))
        spawns = len(log.read_text().splitlines())
        no_cache = {**env, "AZJOBS_TOKEN_CACHE": "0"}
        samples = interleaved(
            {
                "cached": Cmd([*b.azjobs, "get", job, "-o", "json"], env),
                "no cache": Cmd([*b.azjobs, "get", job, "-o", "json"], no_cache),
            },
            max(b.runs // 2, 5),
        )
    codes = {c for _, c in timings}
    b.add(
        Row(
            "credentials",
            "az spawns over 10 gets (--auth cli)",
            str(spawns),
            "",
            None,
            "<= 1",
            spawns <= 1 and codes == {0},
            f"exit codes {sorted(codes)}; first get {timings[0][0] * 1000:.0f} ms, the others "
            f"median {statistics.median(t for t, _ in timings[1:]) * 1000:.0f} ms (a fake az "
            "that answers at once; the real one takes ~330 ms)",
        )
    )
    b.add(
        ratio_row(
            "credentials",
            "get with a cached token vs none",
            samples,
            "cached",
            "no cache",
            None,
            "AZJOBS_TOKEN_CACHE=0 spawns az and imports azure-identity on every run",
        )
    )


# ----- polling --------------------------------------------------------------------------------
def _watch_available(b: Bench) -> bool:
    done = subprocess.run(
        [*b.azjobs, "watch", "--help"], capture_output=True, env=b.base_env, check=False
    )
    return done.returncode == 0


def bench_polling(b: Bench) -> None:
    if not _watch_available(b):
        b.skip("polling", "watch", "azjobs watch does not exist yet")
        return
    interval = 2.0
    speed = 30.0
    with emulator(speed=speed, seed=3, seed_data=False) as emu:
        job = emu.add_job(entity="vm-watch", tasks=[("Take Snapshot", 60), ("Transfer", 150)])
        ends_at = time.monotonic() + 210 / speed
        env = b.env(**emu.env())
        started = time.monotonic()
        done = subprocess.run(
            [*b.azjobs, "watch", job, "--interval", str(int(interval)), "-o", "ndjson"],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        exited = time.monotonic()
        gets = [r for r in emu.request_log if r.method == "GET" and job in r.path]
    intervals = (exited - started) / interval
    per_interval = max(len(gets) - 1, 0) / max(intervals, 1e-9)  # the first poll is at start
    b.add(
        Row(
            "polling",
            "one job: requests per interval",
            f"{per_interval:.2f}",
            f"{len(gets)} requests in {exited - started:.1f} s",
            None,
            "<= 1",
            per_interval <= 1.0,
            f"--interval {interval:g}: one read at start, then one per interval; a job of "
            f"210 emulated s at speed {speed:g}; exit {done.returncode}",
        )
    )
    lag = exited - ends_at
    b.add(
        Row(
            "polling",
            "job end -> exit",
            f"{lag:.1f} s",
            "",
            None,
            f"<= interval + 1 s ({interval + 1:g} s)",
            lag <= interval + 1,
            "",
        )
    )

    with emulator(speed=1.0, seed=3, seed_data=False) as emu:
        for i in range(50):
            emu.add_job(
                entity=f"vm{i:02d}",
                tasks=[("Take Snapshot", 600), ("Transfer", 7200)],
                start_offset=-60 - i,
            )
        env = b.env(**emu.env())
        started = time.time()
        done = subprocess.run(
            [*b.azjobs, "watch", "--all", "--interval", "1", "--timeout", "12", "-o", "ndjson"],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        log = [r for r in emu.request_log if r.time >= started]
    if not log:
        b.skip("polling", "watch --all over 50 jobs", "no request reached the emulator")
        return
    first = log[0].time
    steady = [r for r in log if r.time >= first + 3.0]
    span = (steady[-1].time - steady[0].time) if len(steady) > 1 else 0.0
    ticks = max(span / 1.0, 1.0)
    pages = [r for r in steady if r.path.rstrip("/").lower().endswith("/backupjobs")]
    lists = [r for r in pages if "skiptoken" not in r.query.lower()]
    reads = len(steady) - len(pages)
    per_tick = (len(lists) + reads) / ticks
    b.add(
        Row(
            "polling",
            "watch --all, 50 running jobs: list calls + job reads per tick",
            f"{per_tick:.2f}",
            f"{len(steady)} requests in {span:.1f} s",
            None,
            "<= 2",
            per_tick <= 2.0,
            f"steady state after the first 3 s: {len(lists)} list calls of "
            f"{len(pages) / max(len(lists), 1):.1f} pages each (the emulator pages by 20), "
            f"{reads} job reads, {len(steady) / ticks:.2f} HTTP requests per tick; first "
            f"second {sum(1 for r in log if r.time < first + 1.0)} requests; exit "
            f"{done.returncode} (5: the --timeout ended it)",
        )
    )


# ----- scale ----------------------------------------------------------------------------------
def bench_scale(b: Bench) -> None:
    jobs, page = 20_000, 20
    with emulator(speed=1e-6, seed=3, seed_data=False, page_size=page) as emu:
        emu.add_jobs(jobs, spread_seconds=20 * 3600.0)
        argv = [*b.azjobs, "list", "-o", "ndjson", "--limit", "0"]
        run = _list_against_bare(b, "scale", emu, argv, b.env(**emu.env()))
    if run is None:
        return
    _list_rows(
        b,
        "scale",
        f"list {jobs} jobs / {run.pages} pages",
        run,
        first_note=f"{run.count} lines, exit {run.code}",
        rss_note="streaming: the pages are never all in memory",
        ratio_target=1.5,
        ratio_note=f"first run {run.total:.1f} s; median of 3",
        short="list",
    )


@dataclass(frozen=True)
class ListRun:
    """One streamed ``azjobs list`` and its side-by-side timing against a bare GET loop."""

    first_line: float
    total: float
    rss: int
    count: int
    code: int
    pages: int
    samples: dict[str, Sample]


def _list_against_bare(
    b: Bench, group: str, emu: Any, argv: list[str], env: dict[str, str]
) -> ListRun | None:
    """Stream ``argv`` once (first line, memory), then time it against a bare ``requests``
    loop over the same pages, from the first page azjobs asked for."""
    emu.clear_request_log()
    first_line, total, rss, count, code = _stream(Cmd(argv, env))
    pages = [r for r in emu.request_log if r.method == "GET" and "backupjobs" in r.path.lower()]
    if not pages:
        b.skip(group, "list", "azjobs list sent no request")
        return None
    first_url = f"{emu.url}{pages[0].path}?{pages[0].query}"
    bare = b.script("bare_pages.py", BARE_PAGES)
    samples = interleaved(
        {
            "azjobs list": Cmd(argv, env),
            "bare requests loop": Cmd([sys.executable, bare, first_url, emu.token], env),
        },
        3,
        warmup=0,
    )
    return ListRun(first_line, total, rss, count, code, len(pages), samples)


def _list_rows(
    b: Bench,
    group: str,
    what: str,
    run: ListRun,
    *,
    first_note: str,
    rss_note: str,
    ratio_target: float | None,
    ratio_note: str,
    short: str | None = None,
) -> None:
    """The rows of a list run: time to the first line, peak memory, total time vs the bare
    loop. ``short`` names the memory and total rows (default: ``what``)."""
    label = short or what
    b.add(
        Row(
            group,
            f"{what}: first line",
            f"{run.first_line:.2f} s",
            "",
            None,
            "<= 1 s",
            run.first_line <= 1.0,
            first_note,
        )
    )
    b.add(
        Row(
            group,
            f"{label}: peak RSS",
            f"{run.rss / 1024:.1f} MB",
            "",
            None,
            "< 100 MB",
            run.rss / 1024 < 100,
            rss_note,
        )
    )
    b.add(
        ratio_row(
            group,
            f"{label}: total time",
            run.samples,
            "azjobs list",
            "bare requests loop",
            ratio_target,
            ratio_note,
        )
    )


# ----- Backup vault ---------------------------------------------------------------------------
BV_API_VERSION = "2026-06-01"


def bench_backup_vault(b: Bench) -> None:
    """A Backup vault job's get against a bare GET of its URL; and a 20,000-job Backup vault
    listed with a status filter few jobs match, in both list orders (the service filters
    nothing, so the client reads pages until it knows the newest matches)."""
    with emulator(speed=1e-6, seed=3) as emu:
        job = emu.backup_vaults.job_ids()[-1]
        env = b.env(
            **{**emu.env(), "AZJOBS_VAULT": emu.backup_vault, "AZJOBS_VAULT_TYPE": "backup"}
        )
        url = (
            f"{emu.url}/subscriptions/{emu.subscription}/resourceGroups/{emu.resource_group}"
            f"/providers/Microsoft.DataProtection/backupVaults/{emu.backup_vault}/backupJobs/{job}"
            f"?api-version={BV_API_VERSION}"
        )
        bare = b.script("bare_get.py", BARE_GET)
        samples = interleaved(
            {
                "azjobs get -o json": Cmd([*b.azjobs, "get", job, "-o", "json"], env),
                "bare requests GET": Cmd([sys.executable, bare, url, emu.token], env),
            },
            b.runs,
        )
    b.add(
        ratio_row(
            "backup-vault",
            "get -o json (fast path)",
            samples,
            "azjobs get -o json",
            "bare requests GET",
            1.25,
            f"median of {b.runs}",
        )
    )
    for oldest_first, page in ((False, 20), (True, 20), (True, 200)):
        _bench_backup_vault_list(b, oldest_first=oldest_first, page=page)


def _bench_backup_vault_list(b: Bench, *, oldest_first: bool, page: int) -> None:
    jobs, failed_every = 20_000, 500
    order = "oldest first" if oldest_first else "newest first"
    with emulator(speed=1e-6, seed=3, seed_data=False) as emu:
        bv = emu.backup_vaults
        bv.create(with_jobs=False)
        disk = bv.instances()["data-disk-01"]
        bv.add_jobs(jobs, disk, spacing=20 * 3600.0 / jobs, failed_every=failed_every)
        bv.page_size, bv.oldest_first = page, oldest_first
        env = b.env(
            **{**emu.env(), "AZJOBS_VAULT": emu.backup_vault, "AZJOBS_VAULT_TYPE": "backup"}
        )
        argv = [*b.azjobs, "list", "--status", "Failed", "-o", "ndjson", "--limit", "0"]
        run = _list_against_bare(b, "backup-vault", emu, argv, env)
    if run is None:
        return
    _list_rows(
        b,
        "backup-vault",
        f"list {jobs} jobs --status Failed, {order}, {run.pages} pages of {page}",
        run,
        first_note=f"{run.count} lines (1 job in {failed_every} failed), exit {run.code}",
        rss_note="only the matching jobs are kept",
        ratio_target=None,
        ratio_note=f"first run {run.total:.1f} s; the bare loop prints every job unfiltered; "
        "median of 3",
    )


def _stream(cmd: Cmd) -> tuple[float, float, int, int, int]:
    """(seconds to the first line, total seconds, peak RSS KiB, lines, exit code).

    The peak RSS is the child's own VmHWM, read from /proc while it runs: the rusage of a child
    counts the moment between fork and exec, when it still is a copy of this (large) process.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd.argv), env=dict(cmd.env), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    first_at = time.perf_counter() - started
    count = 1 if first else 0
    peak = _vm_hwm(proc.pid)
    for _ in iter(proc.stdout.readline, b""):
        count += 1
        if count % 200 == 0:
            peak = max(peak, _vm_hwm(proc.pid))
    peak = max(peak, _vm_hwm(proc.pid))
    _, status, usage = os.wait4(proc.pid, 0)
    total = time.perf_counter() - started
    return first_at, total, peak or usage.ru_maxrss, count, os.waitstatus_to_exitcode(status)


def _vm_hwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


# ----- render ---------------------------------------------------------------------------------
def bench_render(b: Bench) -> None:
    try:
        from azbackupjobs.follow.poll import Snapshot, Tracked
        from azbackupjobs.view import watch_view
    except ImportError as exc:
        b.skip("render", "watch frame", f"watch_view is not there yet ({exc})")
        return
    import io
    from datetime import UTC, datetime

    from rich.console import Console

    from azbackupjobs.model.job import Job

    # A realistic mix: 160 backups moving data (bars from the bytes moved), 30 completed and
    # 10 failed earlier.
    with emulator(speed=1.0, seed=3, seed_data=False) as emu:
        ids = []
        for i in range(200):
            if i % 5:
                ids.append(
                    emu.add_job(
                        entity=f"vm{i:03d}",
                        start_offset=-900 - i,
                        tasks=[("Take Snapshot", 600), ("Transfer data to vault", 7200)],
                        transfer_gb=127.0,
                    )
                )
            else:
                ids.append(
                    emu.add_job(
                        entity=f"vm{i:03d}",
                        start_offset=-7200 - 10 * i,
                        tasks=[("Take Snapshot", 600), ("Transfer data to vault", 1800)],
                        outcome="Failed" if i % 20 == 0 else "Completed",
                    )
                )
        emu.advance(60)
        bodies = [_get_json(emu, i) for i in ids]
    now_mono = time.monotonic()

    def snapshot_of(jobs: list[Job]) -> Any:
        tracked = [
            Tracked(job_id=j.job_id, job=j, last_update=now_mono, detail_at=now_mono) for j in jobs
        ]
        return Snapshot(
            jobs=tracked, started=now_mono - 30, polled_at=now_mono, next_poll_at=now_mono + 5
        )

    # Two reads of every job: drawing them in turn, each frame finds every job changed (the
    # view keeps what it drew per job read); drawing one of them again is a steady redraw.
    reads = [snapshot_of([Job.from_dict(body) for body in bodies]) for _ in range(2)]

    def one_frame(snapshot: Any, height: int | None) -> float:
        started = time.perf_counter()
        now = watch_view.Now(time.monotonic(), datetime.now(UTC))
        console = Console(
            file=io.StringIO(),
            width=120,
            height=height or 40,
            force_terminal=True,
            color_system="truecolor",
        )
        console.print(watch_view.frame(snapshot, now, height=height))
        return time.perf_counter() - started

    runs = max(b.runs, 10)
    for height, name, where in (
        (40, "watch frame, 200 jobs, 120x40 terminal", "the live view: the rows that fit"),
        (
            None,
            "watch frame, 200 jobs, every row",
            "120 columns, no height limit: the final frame and other callers",
        ),
    ):
        one_frame(reads[0], height)
        changed = [one_frame(reads[n % 2], height) for n in range(runs)]
        steady = [one_frame(reads[0], height) for _ in range(runs)]
        worst = statistics.median(changed) * 1000
        b.add(
            Row(
                "render",
                f"{name} (build + render)",
                f"{worst:.1f} ms",
                "",
                None,
                "< 50 ms",
                worst < 50,
                f"{where}; median of {runs} with every job changed since the "
                f"last frame; a redraw with none changed {statistics.median(steady) * 1000:.1f}"
                " ms; in process",
            )
        )


def _get_json(emu: Any, job_id: str) -> Any:
    import urllib.request

    url = (
        f"{emu.url}/subscriptions/{emu.subscription}/resourceGroups/{emu.resource_group}"
        f"/providers/Microsoft.RecoveryServices/vaults/{emu.vault}/backupJobs/{job_id}"
        "?api-version=2026-10-01"
    )
    headers = {"Authorization": f"Bearer {emu.token}"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - the loopback emulator
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        return json.loads(answer.read())


# ----- metrics --------------------------------------------------------------------------------
METRICS_VAULTS = 200
METRICS_JOBS = 20_000
# What Prometheus asks for when it scrapes: OpenMetrics first, gzipped.
SCRAPE_HEADERS = {
    "Accept": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
    "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "Accept-Encoding": "gzip",
}


def bench_metrics(b: Bench) -> None:
    """A refresh of 20,000 jobs across 200 vaults (queries, memory, time), and scrapes of the
    cached data (the time a scrape takes, with and without gzip)."""
    import math

    per_vault = METRICS_JOBS // METRICS_VAULTS
    with emulator(speed=1e-6, seed=3, seed_data=False) as emu:
        for v in range(METRICS_VAULTS):
            emu.add_jobs(
                per_vault,
                outcomes=("Completed", "Completed", "Failed", "CompletedWithWarnings"),
                spread_seconds=20 * 3600.0,
                entity_prefix=f"v{v:03d}-vm",
                subscription=f"11111111-1111-4111-8111-{v % 10:012d}",
                resource_group=f"rg-{v % 20}",
                vault=f"vault-{v:03d}",
            )
        emu.resource_graph.quota = 1_000_000  # the bench measures queries, not quota waits
        page = emu.resource_graph.page_size
        env = b.env(**emu.env())
        emu.clear_request_log()
        argv = [*b.azjobs, "metrics", "--fleet", "--since", "2d"]
        total, rss, size, code = _measured(Cmd(argv, env))
        graph = "/providers/Microsoft.ResourceGraph/resources"
        queries = sum(1 for r in emu.request_log if r.path == graph)
        most = math.ceil(METRICS_JOBS / page)
        b.add(
            Row(
                "metrics",
                f"refresh {METRICS_JOBS} jobs / {METRICS_VAULTS} vaults: queries",
                f"{queries}",
                "",
                None,
                f"<= {most} (ceil(rows / {page}))",
                queries <= most,
                f"exit {code}; {len(emu.request_log)} requests in all",
            )
        )
        b.add(
            Row(
                "metrics",
                "refresh: peak RSS (once, with the exposition)",
                f"{rss / 1024:.1f} MB",
                "",
                None,
                "< 100 MB",
                rss / 1024 < 100,
                f"{total:.1f} s in all; {size / 1e6:.1f} MB of exposition",
            )
        )
        _bench_scrapes(b, env)


def _measured(cmd: Cmd) -> tuple[float, int, int, int]:
    """(seconds, peak RSS KiB from /proc while it runs, bytes of stdout, exit code)."""
    import threading

    started = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd.argv), env=dict(cmd.env), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    size = [0]

    def drain() -> None:
        assert proc.stdout is not None
        for chunk in iter(lambda: proc.stdout.read(1 << 16), b""):  # type: ignore[union-attr]
            size[0] += len(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _vm_hwm(proc.pid))
        time.sleep(0.02)
    reader.join(60)
    return time.perf_counter() - started, peak, size[0], proc.returncode


def _scrape(port: int, headers: dict[str, str]) -> tuple[float, int]:
    import http.client

    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", "/metrics", headers=headers)
        body = conn.getresponse().read()
    finally:
        conn.close()
    return time.perf_counter() - started, len(body)


def _bench_scrapes(b: Bench, env: dict[str, str]) -> None:
    import re
    import signal

    proc = subprocess.Popen(
        [*b.azjobs, "metrics", "--fleet", "--since", "2d", "--serve", "127.0.0.1:0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", line)
        if found is None:
            b.skip("metrics", "scrape", f"the server did not start: {line.strip()}")
            return
        port = int(found.group(1))
        runs = max(b.runs, 5)
        for name, headers in (
            ("scrape, as Prometheus asks (OpenMetrics, gzip)", SCRAPE_HEADERS),
            ("scrape, plain text 0.0.4", {}),
        ):
            first, _ = _scrape(port, headers)  # the first in a format not rendered ahead renders
            times, size = [], 0
            for _ in range(runs):
                seconds, size = _scrape(port, headers)
                times.append(seconds * 1000)
            median = statistics.median(times)
            worst = sorted(times)[int(len(times) * 0.95) - 1 if len(times) > 1 else 0]
            b.add(
                Row(
                    "metrics",
                    name,
                    f"{median:.1f} ms",
                    "",
                    None,
                    "< 50 ms",
                    median < 50,
                    f"median of {runs}, p95 {worst:.1f} ms; {size / 1e6:.2f} MB a scrape; "
                    f"first scrape {first * 1000:.0f} ms",
                )
            )
        b.add(
            Row(
                "metrics",
                "serving: RSS after the scrapes",
                f"{_vm_rss(proc.pid) / 1024:.1f} MB",
                note="the snapshot, and the formats asked for, kept rendered",
            )
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)


def _vm_rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


# ----- main -----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=20, help="runs per command (default 20)")
    parser.add_argument(
        "--only", default=",".join(GROUPS), help=f"comma-separated groups: {', '.join(GROUPS)}"
    )
    parser.add_argument(
        "--no-install",
        action="store_true",
        help="skip the rows that need azure-cli or typer 0.29 installed",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    wanted = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = set(wanted) - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s): {', '.join(sorted(unknown))}")
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(REPO / "azbackupjobs")],
        capture_output=True,
        check=False,
    )
    from tests.bench import az

    runners: dict[str, Callable[[Bench], None]] = {
        "startup": bench_startup,
        "typer": bench_typer,
        "az": az.bench_az,
        "credentials": bench_credentials,
        "polling": bench_polling,
        "scale": bench_scale,
        "backup-vault": bench_backup_vault,
        "render": bench_render,
        "metrics": bench_metrics,
    }
    info = machine()
    with tempfile.TemporaryDirectory(prefix="azjobs-bench-") as work:
        bench = Bench(args.runs, not args.no_install, Path(work))
        for group in wanted:
            try:
                runners[group](bench)
            except Exception as exc:  # a broken row must not hide the others
                bench.skip(group, "(error)", f"{type(exc).__name__}: {exc}")
    print(
        f"machine: {info['cpus']} CPUs, {info['cpu']}, Python {info['python']}, "
        f"{info['system']}, load at start {info['load']}"
    )
    print_table(bench.rows)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"machine": info, "rows": [row.__dict__ for row in bench.rows]}, indent=2)
        )


if __name__ == "__main__":
    main()
