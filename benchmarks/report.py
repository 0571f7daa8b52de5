"""Present the rows: a text table, a JSON record and a bar chart."""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import asdict
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


def ratios_to_reference(rows: Sequence[Row]) -> dict[tuple[str, str], float]:
    """Each timed row's time relative to the NumPy floor on the same workload.

    Blocks are taken in rounds, one block per library each, so a row's ``i``-th block ran
    within about a second of the floor's ``i``-th block. The ratio is the median over rounds
    of the two block medians' quotient: a slow spell of the machine that spans a round cancels
    out. Rows with an incomplete set of blocks fall back to the quotient of the medians.
    """
    floors = {row.workload: row for row in rows if row.library == REFERENCE and row.median}
    ratios = {}
    for row in rows:
        floor = floors.get(row.workload)
        if row.median is None or floor is None:
            continue
        if len(row.block_medians) == len(floor.block_medians):
            pairs = zip(row.block_medians, floor.block_medians, strict=True)
            ratios[row.workload, row.library] = median(mine / theirs for mine, theirs in pairs)
        else:
            ratios[row.workload, row.library] = row.median / floor.median
    return ratios


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


def write_json(rows: Sequence[Row], plan: TimingPlan, path: Path) -> None:
    """Record every row, its ratio to NumPy and the environment in ``path``."""
    ratios = ratios_to_reference(rows)
    record = {
        "environment": environment(),
        "plan": asdict(plan),
        "workloads": {name: workload.summary for name, workload in WORKLOADS.items()},
        "rows": [
            {
                **asdict(row),
                "median_seconds": row.median,
                "best_seconds": min(row.block_medians, default=None),
                "ratio_to_numpy": ratios.get((row.workload, row.library)),
            }
            for row in rows
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")


def write_chart(rows: Sequence[Row], path: Path) -> bool:
    """Draw one panel per workload: each library's time relative to NumPy's.

    Returns ``False`` (and draws nothing) when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        return False

    ratios = ratios_to_reference(rows)
    workloads = list(dict.fromkeys(row.workload for row in rows))
    figure, axes = plt.subplots(
        len(workloads), 1, figsize=(7, 1.2 + 1.6 * len(workloads)), squeeze=False
    )
    for axis, workload in zip(axes[:, 0], workloads, strict=True):
        timed = [row for row in rows if row.workload == workload and row.median is not None]
        names = [row.library for row in timed]
        values = [ratios.get((workload, name), float("nan")) for name in names]
        colours = ["tab:orange" if name == "tapegrad" else "tab:blue" for name in names]
        bars = axis.barh(names, values, color=colours)
        for bar, row in zip(bars, timed, strict=True):
            axis.annotate(
                f" {format_seconds(row.median)}",
                (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                va="center",
                fontsize=8,
            )
        axis.axvline(1.0, color="grey", linewidth=0.8, linestyle="--")
        axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}x"))
        axis.invert_yaxis()
        axis.set_title(f"{workload}: {WORKLOADS[workload].summary}", fontsize=9)
        axis.set_xlabel("time relative to hand-written NumPy (lower is better)", fontsize=8)
        axis.margins(x=0.25)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return True
