"""Present the rows: text tables, a JSON record and a bar chart.

:func:`format_table` lists every row (workload x library) with its timing detail;
:func:`format_summary` pivots the figures into one line per row of the goals, with tapegrad's
goals and whether they were met (:func:`goal_results`).
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from statistics import median
from typing import Any

from benchmarks.harness import Row, TimingPlan
from benchmarks.libraries import LIBRARIES, REFERENCE
from benchmarks.workloads import WORKLOADS


def format_seconds(seconds: float | None) -> str:
    """``1.23 ms``-style text with three significant figures."""
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def paired_ratio(row: Row, base: Row) -> float | None:
    """``row``'s time relative to ``base``'s, pairing the blocks taken in the same round.

    Blocks are taken in rounds, one block per worker each, so a row's ``i``-th block ran
    within about a second of ``base``'s ``i``-th block. The ratio is the median over rounds
    of the two block medians' quotient: a slow spell of the machine that spans a round cancels
    out. Rows with unequal numbers of blocks fall back to the quotient of the medians.
    """
    if row.median is None or base.median is None:
        return None
    if len(row.block_medians) == len(base.block_medians):
        pairs = zip(row.block_medians, base.block_medians, strict=True)
        return median(mine / theirs for mine, theirs in pairs)
    return row.median / base.median


def ratios_to_reference(rows: Sequence[Row]) -> dict[tuple[str, str], float]:
    """Each timed row's time relative to the NumPy floor on the same workload (paired)."""
    floors = {row.workload: row for row in rows if row.library == REFERENCE and row.median}
    ratios = {}
    for row in rows:
        floor = floors.get(row.workload)
        ratio = None if floor is None else paired_ratio(row, floor)
        if ratio is not None:
            ratios[row.workload, row.library] = ratio
    return ratios


@dataclass
class GoalResult:
    """One goal and how the run measured against it.

    ``against`` is ``"numpy"`` (the floor on the same workload), the name of the baseline
    workload, or ``"memory"`` (peak extra memory in multiples of the unit input ``unit``).
    """

    workload: str
    library: str
    label: str
    limit: float
    against: str
    measured: float | None
    note: str = ""
    unit: str = ""

    @property
    def met(self) -> bool | None:
        return None if self.measured is None else self.measured <= self.limit

    @property
    def row_name(self) -> str:
        return f"{self.workload} memory" if self.against == "memory" else self.workload

    @property
    def goal(self) -> str:
        if self.against == "memory":
            return f"<= {self.limit:g} x size of {self.unit}"
        if self.against == "numpy":
            return f"<= {self.limit:g}x numpy"
        return f"<= {self.limit:g}x {self.library} on {self.against}"

    @property
    def verdict(self) -> str:
        if self.measured is None:
            return f"not measured ({self.note})" if self.note else "not measured"
        return f"{'met' if self.met else 'MISSED'}: {self.measured:.2f}"


def _unmeasured_reason(row: Row | None) -> str:
    if row is None:
        return "library not run"
    if row.status == "skipped":
        return row.message or "skipped"
    if row.status == "checked":
        return "not timed"
    return row.status


def goal_results(rows: Sequence[Row]) -> list[GoalResult]:
    """Every goal of the workloads present in ``rows``, with the measured figure it judges."""
    by_key = {(row.workload, row.library): row for row in rows}
    ratios = ratios_to_reference(rows)
    results = []
    for workload in dict.fromkeys(row.workload for row in rows):
        spec = WORKLOADS[workload]
        for goal in spec.goals:
            row = by_key.get((workload, goal.library))
            if goal.baseline is None:
                against, measured = "numpy", ratios.get((workload, goal.library))
            else:
                base = by_key.get((goal.baseline, goal.library))
                against = goal.baseline
                measured = None if row is None or base is None else paired_ratio(row, base)
                if measured is None and row is not None and row.median is not None:
                    row = base  # the baseline is what is missing
            note = "" if measured is not None else _unmeasured_reason(row)
            results.append(
                GoalResult(workload, goal.library, goal.label, goal.limit, against, measured, note)
            )
        if spec.memory_goal is not None:
            row = by_key.get((workload, "tapegrad"))
            measured = None if row is None else row.memory_multiple
            if measured is not None:
                note = ""
            elif row is None or row.status != "ok":
                note = _unmeasured_reason(row)
            else:
                note = row.memory_message or "not measured"
            results.append(
                GoalResult(
                    workload, "tapegrad", "memory", spec.memory_goal, "memory", measured, note,
                    unit=spec.memory_unit,
                )
            )  # fmt: skip
    return results


def _spread(row: Row) -> str:
    if len(row.block_medians) < 2:
        return "-"
    middle = row.median
    low, high = min(row.block_medians), max(row.block_medians)
    return f"-{(middle - low) / middle:.0%}/+{(high - middle) / middle:.0%}"


def format_table(rows: Sequence[Row]) -> str:
    """The workload × library table: median, ratio to NumPy, best block, spread, status."""
    ratios = ratios_to_reference(rows)
    header = ("workload", "library", "median", "vs numpy", "best", "blocks min/max", "status")
    lines = [header]
    for row in rows:
        ratio = ratios.get((row.workload, row.library))
        # The last line of a traceback names the exception; a check message has one line.
        status = row.status if not row.message else f"{row.status}: {row.message.splitlines()[-1]}"
        lines.append(
            (
                row.workload,
                row.library,
                format_seconds(row.median),
                "-" if ratio is None else f"{ratio:.2f}x",
                format_seconds(min(row.block_medians, default=None)),
                _spread(row),
                status,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    rendered = []
    for index, line in enumerate(lines):
        cells = [cell.ljust(width) for cell, width in zip(line[:-1], widths, strict=True)]
        rendered.append("  ".join(cells + [line[-1]]).rstrip())
        if index == 0:
            rendered.append("-" * len(rendered[0]))
    return "\n".join(rendered)


def _render(lines: Sequence[Sequence[str]], ragged_last: bool = True) -> str:
    """Left-aligned columns two spaces apart, a rule under the header."""
    count = len(lines[0])
    fixed = count - 1 if ragged_last else count
    widths = [max(len(line[i]) for line in lines) for i in range(fixed)]
    rendered = []
    for index, line in enumerate(lines):
        cells = [cell.ljust(width) for cell, width in zip(line[:fixed], widths, strict=True)]
        rendered.append("  ".join(cells + list(line[fixed:])).rstrip())
        if index == 0:
            rendered.append("-" * max(len(text) for text in rendered))
    return "\n".join(rendered)


def _cell(row: Row | None, value: float | None) -> str:
    if row is None:
        return ""
    if value is not None:
        return f"{value:.2f}x"
    if row.status == "failed":
        return "FAILED"
    if row.status == "skipped":
        return "n/a" if row.message and "not installed" not in row.message else "-"
    return "-"


def format_summary(rows: Sequence[Row]) -> str:
    """Rows x libraries: times relative to NumPy, and the memory row in multiples of its unit.

    The last columns give tapegrad's goals for the row and whether they were met.
    """
    ratios = ratios_to_reference(rows)
    by_key = {(row.workload, row.library): row for row in rows}
    libraries = list(dict.fromkeys(row.library for row in rows))
    goals: dict[str, list[GoalResult]] = {}
    for result in goal_results(rows):
        goals.setdefault(result.row_name, []).append(result)

    def goal_cells(name: str) -> list[str]:
        results = goals.get(name, [])
        what = "; ".join(
            (f"{r.library} " if r.library != "tapegrad" else "") + r.goal for r in results
        )
        verdicts = "; ".join(
            (f"{r.library} " if r.library != "tapegrad" else "") + r.verdict for r in results
        )
        return [what, verdicts]

    lines = [["row", *libraries, "goal", "verdict"]]
    for workload in dict.fromkeys(row.workload for row in rows):
        cells = [
            _cell(by_key.get((workload, lib)), ratios.get((workload, lib))) for lib in libraries
        ]
        lines.append([workload, *cells, *goal_cells(workload)])
        if WORKLOADS[workload].memory_goal is not None:
            memory = [by_key.get((workload, lib)) for lib in libraries]
            cells = [
                "" if row is None else _cell(row, row.memory_multiple) if row.status == "ok"
                else _cell(row, None)
                for row in memory
            ]  # fmt: skip
            lines.append([f"{workload} memory", *cells, *goal_cells(f"{workload} memory")])
    return _render(lines)


def environment() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "versions": {name: library.version() for name, library in LIBRARIES.items()},
    }


def write_json(rows: Sequence[Row], plan: TimingPlan | None, path: Path) -> None:
    """Record every row, its ratio to NumPy, the goals and the environment in ``path``."""
    ratios = ratios_to_reference(rows)
    record = {
        "environment": environment(),
        "plan": None if plan is None else asdict(plan),
        "workloads": {name: workload.summary for name, workload in WORKLOADS.items()},
        "goals": [
            {**asdict(result), "row": result.row_name, "goal": result.goal, "met": result.met}
            for result in goal_results(rows)
        ],
        "rows": [
            {
                **asdict(row),
                "median_seconds": row.median,
                "best_seconds": min(row.block_medians, default=None),
                "ratio_to_numpy": ratios.get((row.workload, row.library)),
                "peak_extra_multiple": row.memory_multiple,
            }
            for row in rows
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")


LOG_SCALE_SPAN = 20.0
"""A panel switches to a log scale when its largest bar is this many times its smallest."""


def _panels(rows: Sequence[Row]) -> list[tuple[str, str, dict[str, float], list[GoalResult]]]:
    """``(title, x label, value per library, goals)`` for each panel, in the rows' order."""
    ratios = ratios_to_reference(rows)
    goals: dict[str, list[GoalResult]] = {}
    for result in goal_results(rows):
        goals.setdefault(result.row_name, []).append(result)
    panels = []
    for workload in dict.fromkeys(row.workload for row in rows):
        spec = WORKLOADS[workload]
        timed = [row for row in rows if row.workload == workload and row.median is not None]
        values = {row.library: ratios[workload, row.library] for row in timed}
        if values:
            panels.append(
                (
                    f"{workload}: {spec.summary}",
                    "time relative to hand-written NumPy (lower is better)",
                    values,
                    goals.get(workload, []),
                )
            )
        memory = {
            row.library: row.memory_multiple
            for row in rows
            if row.workload == workload and row.memory_multiple is not None
        }
        if memory:
            panels.append(
                (
                    f"{workload} memory: peak extra memory of one step",
                    f"multiples of the size of {spec.memory_unit} (lower is better)",
                    memory,
                    goals.get(f"{workload} memory", []),
                )
            )
    return panels


def write_chart(rows: Sequence[Row], path: Path) -> bool:
    """Draw one panel per row: each library's time relative to NumPy's (or, for a memory
    row, its peak extra memory), with tapegrad's goals as vertical lines.

    Returns ``False`` (and draws nothing) when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        return False

    panels = _panels(rows)
    if not panels:
        return False
    height = sum(0.9 + 0.22 * len(values) for _, _, values, _ in panels)
    figure, axes = plt.subplots(len(panels), 1, figsize=(8, 0.6 + height), squeeze=False)
    for axis, (title, label, values, goals) in zip(axes[:, 0], panels, strict=True):
        names = list(values)
        bars = axis.barh(
            names,
            [values[name] for name in names],
            color=["tab:orange" if name.startswith("tapegrad") else "tab:blue" for name in names],
        )
        for bar, name in zip(bars, names, strict=True):
            axis.annotate(
                f" {values[name]:.2f}",
                (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                va="center",
                fontsize=7,
            )
        positive = [value for value in values.values() if value > 0]
        if positive and max(positive) / min(positive) > LOG_SCALE_SPAN:
            axis.set_xscale("log")
        if "memory" not in title:
            axis.axvline(1.0, color="grey", linewidth=0.8, linestyle="--")
        notes = []
        for goal in goals:
            if goal.against in ("numpy", "memory") and goal.library in values:
                axis.axvline(goal.limit, color="tab:red", linewidth=1.0, linestyle=":")
            else:
                notes.append(f"{goal.library} goal {goal.goal}: {goal.verdict}")
        axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}x"))
        axis.tick_params(labelsize=7)
        axis.invert_yaxis()
        axis.set_title("\n".join([title, *notes]), fontsize=8)
        axis.set_xlabel(label + "; red: tapegrad's goal" if len(notes) < len(goals) else label,
                        fontsize=7)  # fmt: skip
        axis.margins(x=0.2)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return True
