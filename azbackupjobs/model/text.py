"""Make untrusted strings safe to show: service data must never drive the terminal.

Entity names, propertyBag values and error strings come from the service and may hold control
characters, ANSI escape sequences or bidirectional overrides. They are neutralised here before
anything renders them.
"""

from __future__ import annotations

import re

_ANSI_CSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_ANSI_OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
_ANSI_OTHER = re.compile(r"\x1b[@-Z\\-_]")
# Bidirectional controls can make text read differently from what it is ("Trojan Source").
_BIDI = dict.fromkeys(
    map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
)
_SPACES = re.compile(r"\s+")


def _strip_escapes(text: str) -> str:
    text = _ANSI_OSC.sub("", text)
    text = _ANSI_CSI.sub("", text)
    return _ANSI_OTHER.sub("", text)


def clean(value: object, *, keep_newlines: bool = False) -> str:
    """Printable text: escapes removed, other control characters shown as '?'."""
    if value is None:
        return ""
    text = str(value)
    if text.isprintable():  # the usual case, and fast: escapes, controls, bidi marks are not
        return text
    text = _strip_escapes(text).translate(_BIDI)
    out = []
    for ch in text:
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif ch in "\t\r\n":
            out.append(" ")
        elif not ch.isprintable():
            out.append("?")
        else:
            out.append(ch)
    return "".join(out)


def sanitize(value: object, limit: int = 160) -> str:
    """One clean line, spaces collapsed, cut to ``limit`` characters."""
    text = "" if value is None else str(value)
    if len(text) > 4 * limit + 64:
        # A long text (a megabyte error page) is cut before the character-by-character
        # cleaning, and after collapsing its spaces, which could have shrunk it a lot.
        text = _SPACES.sub(" ", text).strip()[: 4 * limit + 64]
    text = _SPACES.sub(" ", clean(text)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
