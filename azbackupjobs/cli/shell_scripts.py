"""The shell scripts that ask azjobs for completions on a TAB press, and installing them.

Each script comes from the app itself, through the completion protocol the scripts speak
(``_AZJOBS_COMPLETE=source_bash azjobs`` prints the bash one): the same text ``azjobs
--show-completion`` prints, and what ``completions/`` holds for packagers
(``scripts/gen_completions.py``; a test keeps them current).

``azjobs --install-completion [SHELL]`` puts the script where the README says each shell finds
it, so that the documented manual steps and the installer agree: bash's completion directory,
a file that ``~/.zshrc`` sources, fish's completions directory, or the PowerShell profile.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from azbackupjobs.model.errors import UsageError

PROG_NAME = "azjobs"
COMPLETE_VAR = "_AZJOBS_COMPLETE"
# The files in completions/, by shell.
SCRIPT_FILES: dict[str, str] = {
    "bash": "azjobs.bash",
    "zsh": "azjobs.zsh",
    "fish": "azjobs.fish",
    "powershell": "azjobs.ps1",
}
SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")
ZSH_SCRIPT = ".azjobs-completion.zsh"


def completion_script(shell: str) -> str:
    """The script for ``shell``, as the app prints it when a shell sources it."""
    from azbackupjobs.cli.app import build_app

    saved = os.environ.get(COMPLETE_VAR)
    os.environ[COMPLETE_VAR] = f"source_{'powershell' if shell == 'pwsh' else shell}"
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer), contextlib.suppress(SystemExit):
            build_app(set())(args=[], prog_name=PROG_NAME)
    finally:
        if saved is None:
            del os.environ[COMPLETE_VAR]
        else:
            os.environ[COMPLETE_VAR] = saved
    return buffer.getvalue().strip() + "\n"


def completion_scripts() -> dict[str, str]:
    """File name in completions/ -> content."""
    return {name: completion_script(shell) for shell, name in SCRIPT_FILES.items()}


# ----- installing ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Installed:
    """Where the script went, and the start-up file that loads it (None: the shell finds it)."""

    shell: str
    path: Path
    loaded_by: Path | None = None


def parent_name() -> str | None:
    """The name of the process that started this one (Linux only), normally the shell."""
    try:
        return Path(f"/proc/{os.getppid()}/comm").read_text(encoding="utf-8").strip()
    except OSError:
        return None


def detect_shell(env: Mapping[str, str], *, parent: str | None = None) -> str | None:
    """The shell azjobs runs in: the parent process (``parent_name()`` unless given), else
    ``$SHELL``; None when neither is a shell azjobs has a script for."""
    names = [parent if parent is not None else parent_name(), Path(env.get("SHELL", "")).name]
    for name in filter(None, names):
        shell = name.lstrip("-").lower().removesuffix(".exe")
        if shell in SHELLS:
            return shell
    return "powershell" if sys.platform == "win32" else None


def install(shell: str | None, env: Mapping[str, str], *, home: Path | None = None) -> Installed:
    """Install the script of ``shell`` (None: the shell azjobs runs in)."""
    if shell is None:
        shell = detect_shell(env)
        if shell is None:
            raise UsageError(
                "--install-completion: cannot tell which shell this is",
                hint=f"name it: azjobs --install-completion {'|'.join(SCRIPT_FILES)}",
            )
    shell = shell.strip().lower()
    if shell not in SHELLS:
        raise UsageError(
            f"--install-completion: unknown shell {shell[:40]!r}; use one of: "
            + ", ".join(SCRIPT_FILES)
        )
    home = home if home is not None else Path(env.get("HOME") or Path.home())
    script = completion_script(shell)
    if shell == "bash":
        data = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
        return Installed(
            shell, _write(data / "bash-completion" / "completions" / PROG_NAME, script)
        )
    if shell == "zsh":
        path = _write(home / ZSH_SCRIPT, script)
        rc = Path(env.get("ZDOTDIR") or home) / ".zshrc"
        _add_lines(rc, ["autoload -Uz compinit && compinit"], unless="compinit")
        _add_lines(rc, [f"source ~/{ZSH_SCRIPT}"], unless=ZSH_SCRIPT)
        return Installed(shell, path, rc)
    if shell == "fish":
        config = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
        return Installed(
            shell, _write(config / "fish" / "completions" / f"{PROG_NAME}.fish", script)
        )
    profile = _powershell_profile(shell)
    _add_lines(profile, script.splitlines(), unless=script.splitlines()[-1])
    return Installed(shell, profile)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _add_lines(path: Path, lines: list[str], *, unless: str) -> None:
    """Append ``lines`` to ``path`` unless it already has a line containing ``unless``."""
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = ""
    if any(unless in line for line in current.splitlines()):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    separator = "" if not current or current.endswith("\n") else "\n"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(separator + "\n".join(lines) + "\n")


def _powershell_profile(shell: str) -> Path:
    """``$PROFILE`` as PowerShell itself reports it."""
    program = "pwsh" if shell == "pwsh" else "powershell"
    candidates = [program, "pwsh" if program == "powershell" else "powershell"]
    for candidate in candidates:
        try:
            done = subprocess.run(
                [candidate, "-NoProfile", "-Command", "echo", "$PROFILE"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        found = done.stdout.strip()
        if done.returncode == 0 and found:
            return Path(found)
    raise UsageError(
        "--install-completion: PowerShell did not say where its profile is",
        hint="azjobs --show-completion powershell >> $PROFILE, from PowerShell",
    )


def main(args: list[str], env: Mapping[str, str]) -> int:
    """``azjobs --install-completion [SHELL]``: ``args`` are the words after the option."""
    if len(args) > 1:
        raise UsageError("--install-completion takes one shell name at most")
    installed = install(args[0] if args else None, env)
    where = f" (loaded by {installed.loaded_by})" if installed.loaded_by else ""
    print(
        f"azjobs: {installed.shell} completion installed in {installed.path}{where}; "
        "it takes effect in new shells",
        file=sys.stderr,
    )
    return 0
