"""A table whose cells are one line each, rendered straight to segments.

rich's ``Table`` measures and wraps every cell through a stack of renderables (padding, text
wrapping, line splitting): about a third of a millisecond per row. ``watch`` redraws a row per
job several times a second, so a few hundred jobs made each frame cost well over 100 ms. Here a
cell is a few styled strings whose width is known when it is made; laying out a row is adding
numbers and cutting the odd cell that is too wide. Every row is exactly one line, so a caller
can fit the table to the terminal's height by counting rows.

The strings must already be clean (``text.clean``/``sanitize``): they are written as they are,
never parsed as markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

ELLIPSIS = "…"
GAP = 3  # between columns, as rich's SIMPLE_HEAD box draws them (pad, divider, pad)


class Cell:
    """Styled pieces of one line and their width on the terminal; ``short`` is what to show
    instead when the column is too narrow (a percentage for a progress bar, a name without the
    operation)."""

    __slots__ = ("short", "spans", "width")

    def __init__(self, *spans: tuple[str, str], short: Cell | None = None) -> None:
        self.spans = spans
        self.width = sum(cell_len(text) for text, _ in spans)
        self.short = short

    @classmethod
    def from_text(cls, text: Text, *, short: Cell | None = None) -> Cell:
        """A one-line ``Text`` as a cell: its pieces with their styles combined."""
        plain = text.plain
        cuts = sorted({0, len(plain), *(s.start for s in text.spans), *(s.end for s in text.spans)})
        base = [str(text.style)] if text.style else []
        pieces: list[tuple[str, str]] = []
        for start, end in pairwise(cuts):
            if end > len(plain):
                continue
            styles = base + [
                str(s.style) for s in text.spans if s.start <= start and s.end >= end and s.style
            ]
            pieces.append((plain[start:end], " ".join(styles)))
        return cls(*pieces, short=short)

    def __add__(self, other: Cell) -> Cell:
        joined = Cell.__new__(Cell)
        joined.spans = self.spans + other.spans
        joined.width = self.width + other.width
        joined.short = None
        return joined


@dataclass(frozen=True)
class Column:
    header: str
    justify: Literal["left", "right"] = "left"


def _fit(cell: Cell, width: int) -> list[tuple[str, str]]:
    """The cell's pieces cut to ``width`` cells, ending with an ellipsis; or its short form,
    cut too if need be."""
    if cell.short is not None:
        cell = cell.short
        if cell.width <= width:
            return list(cell.spans)
    out: list[tuple[str, str]] = []
    room = width - 1
    for text, style in cell.spans:
        size = cell_len(text)
        if size <= room:
            out.append((text, style))
            room -= size
            continue
        if room > 0:
            out.append((set_cell_size(text, room), style))
        break
    last_style = out[-1][1] if out else ""
    out.append((ELLIPSIS, last_style))
    return out


def _used(cell: Cell, width: int) -> int:
    """How wide the cell is drawn in a narrowed column ``width`` wide (where every cell that
    has a short form shows it, so that the rows of one column read alike)."""
    if cell.short is not None:
        return min(cell.short.width, width)
    return min(cell.width, width)


class LineTable:
    """Columns, a heading underlined by a rule, and rows of one-line cells.

    On a terminal too narrow for every cell, ``shrink`` says how the columns give way: steps of
    (column index, narrowest width) taken in order until the table fits; cut cells end with an
    ellipsis. Lines that still do not fit are cropped.
    """

    def __init__(
        self,
        columns: Sequence[Column],
        rows: Iterable[Sequence[Cell]],
        *,
        shrink: Sequence[tuple[int, int]] = (),
        header_style: str = "table.header",
        rule_style: str = "",
    ) -> None:
        self.columns = tuple(columns)
        self.rows = [tuple(row) for row in rows]
        self.shrink = tuple(shrink)
        self.header_style = header_style
        self.rule_style = rule_style

    def natural_widths(self) -> list[int]:
        widths = [cell_len(c.header) for c in self.columns]
        for row in self.rows:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], cell.width)
        return widths

    def widths(self, max_width: int) -> list[int]:
        """The natural widths, narrowed step by step until the table fits ``max_width``.

        A narrowed column whose cells switch to their short form needs less than it was given:
        the rest goes back to the columns narrowed before it (long names first).
        """
        natural = self.natural_widths()
        widths = list(natural)
        excess = sum(widths) + GAP * (len(widths) - 1) - max_width
        for i, narrowest in self.shrink:
            if excess <= 0:
                break
            give = min(excess, max(widths[i] - narrowest, 0))
            widths[i] -= give
            excess -= give
        slack = 0
        for i, column in enumerate(self.columns):
            if widths[i] < natural[i]:
                used = min(cell_len(column.header), widths[i])
                for row in self.rows:
                    used = max(used, _used(row[i], widths[i]))
                slack += widths[i] - used
                widths[i] = used
        for i, _ in self.shrink:
            give = min(slack, natural[i] - widths[i])
            widths[i] += give
            slack -= give
        return widths

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widths = self.natural_widths()
        total = sum(widths) + GAP * (len(widths) - 1)
        return Measurement(min(total, options.max_width), min(total, options.max_width))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        max_width = options.max_width
        widths = self.widths(max_width)
        total = sum(widths) + GAP * (len(widths) - 1)
        styles: dict[str, Style] = {}

        def style_of(name: str) -> Style:
            style = styles.get(name)
            if style is None:
                style = styles[name] = console.get_style(name, default="")
            return style

        newline = Segment.line()
        right = [c.justify == "right" for c in self.columns]
        last = len(widths) - 1
        header = [Cell((c.header, self.header_style)) for c in self.columns]
        natural = self.natural_widths()
        narrowed = [widths[i] < natural[i] for i in range(len(widths))]
        for n, row in enumerate([header, *self.rows]):
            # Spaces (padding and gaps) join the next unstyled piece: fewer segments to write.
            line: list[Segment] = []
            spaces = 0
            for i, cell in enumerate(row):
                width = widths[i]
                if narrowed[i] and cell.short is not None:
                    cut = _fit(cell, width)
                    spans, used = tuple(cut), sum(cell_len(text) for text, _ in cut)
                elif cell.width <= width:
                    spans, used = cell.spans, cell.width
                else:
                    cut = _fit(cell, width)
                    spans, used = tuple(cut), sum(cell_len(text) for text, _ in cut)
                if right[i]:
                    spaces += width - used
                for text, style in spans:
                    if style:
                        if spaces:
                            line.append(Segment(" " * spaces))
                        line.append(Segment(text, style_of(style)))
                    else:
                        line.append(Segment(" " * spaces + text))
                    spaces = 0
                if i < last:
                    spaces += GAP + (0 if right[i] else width - used)
            if total > max_width:  # still too wide with every column at its narrowest
                line = Segment.adjust_line_length(line, max_width, pad=False)
            yield from line
            yield newline
            if n == 0:
                yield Segment("─" * min(total, max_width), style_of(self.rule_style))
                yield newline
