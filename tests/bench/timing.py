"""Timing tools for the benchmarks: interleaved process runs, medians, the result table.

Machines are shared and noisy, so every ratio compares commands measured side by side: one run of
each command in turn, repeated, so that a busy moment slows all of them alike. Each run records
the wall time and the CPU time (user + system) of the child process.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TextIO


@dataclass(frozen=True)
class Cmd:
    argv: Sequence[str]
    env: Mapping[str, str]


@dataclass
class Sample:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)
    codes: list[int] = field(default_factory=list)

    @property
    def wall_ms(self) -> float:
        return statistics.median(self.wall) * 1000

    @property
    def cpu_ms(self) -> float:
        return statistics.median(self.cpu) * 1000


def run_once(cmd: Cmd) -> tuple[float, float, int, int]:
    """(wall seconds, cpu seconds, peak RSS in KiB, exit code) of one run, output discarded."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd.argv),
        env=dict(cmd.env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, proc.returncode


def interleaved(commands: Mapping[str, Cmd], runs: int, warmup: int = 1) -> dict[str, Sample]:
    """Run each command ``runs`` times, in turn, after ``warmup`` unmeasured rounds."""
    samples = {name: Sample() for name in commands}
    for _ in range(warmup):
        for cmd in commands.values():
            run_once(cmd)
    for _ in range(runs):
        for name, cmd in commands.items():
            wall, cpu, rss, code = run_once(cmd)
            sample = samples[name]
            sample.wall.append(wall)
            sample.cpu.append(cpu)
            sample.rss_kb.append(rss)
            sample.codes.append(code)
    return samples


def machine() -> dict[str, str]:
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return {
        "cpus": str(os.cpu_count()),
        "python": sys.version.split()[0],
        "cpu": model,
        "system": f"{platform.system()} {platform.release()}",
        "load": load,
    }


@dataclass
class Row:
    group: str
    name: str
    value: str
    baseline: str = ""
    ratio: float | None = None
    target: str = ""
    ok: bool | None = None
    note: str = ""


def print_table(rows: Sequence[Row], out: TextIO = sys.stdout) -> None:
    headers = ("group", "measure", "value", "baseline", "ratio", "target", "ok")
    table = [headers]
    for row in rows:
        verdict = "-" if row.ok is None else ("yes" if row.ok else "NO")
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}x"
        table.append((row.group, row.name, row.value, row.baseline, ratio, row.target, verdict))
    widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
    for i, line in enumerate(table):
        print("  ".join(cell.ljust(widths[j]) for j, cell in enumerate(line)).rstrip(), file=out)
        if i == 0:
            print("  ".join("-" * w for w in widths), file=out)
    notes = [f"[{row.group} / {row.name}] {row.note}" for row in rows if row.note]
    if notes:
        print(file=out)
        for note in notes:
            print(note, file=out)
