#!/usr/bin/env python3
"""Write completions/azjobs.{bash,zsh,fish,ps1}: what `azjobs --show-completion` prints.

The scripts come from the app, through the completion protocol they speak
(``_AZJOBS_COMPLETE=source_bash azjobs``); they call back into azjobs on every TAB, so they do
not change when commands change, only when Typer's templates do. ``--check`` writes nothing and
exits 1 when a committed file differs (the test suite runs the same comparison).

    python scripts/gen_completions.py            # regenerate
    python scripts/gen_completions.py --check    # exit 1 if completions/ is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from azbackupjobs.cli.shell_scripts import completion_scripts  # noqa: E402


def stale_files(directory: Path) -> list[str]:
    """Names of the files in ``directory`` that differ from what would be generated."""
    stale = []
    for name, content in completion_scripts().items():
        path = directory / name
        try:
            current = path.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != content:
            stale.append(name)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 when stale")
    parser.add_argument(
        "--dir",
        type=Path,
        default=ROOT / "completions",
        help="output directory (default: completions/)",
    )
    args = parser.parse_args(argv)
    stale = stale_files(args.dir)
    if args.check:
        for name in stale:
            print(
                f"stale: {args.dir / name} (run python scripts/gen_completions.py)", file=sys.stderr
            )
        return 1 if stale else 0
    args.dir.mkdir(parents=True, exist_ok=True)
    for name, content in completion_scripts().items():
        with (args.dir / name).open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
    print(
        f"wrote {len(completion_scripts())} scripts to {args.dir}"
        + (f" ({len(stale)} changed)" if stale else " (unchanged)")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
