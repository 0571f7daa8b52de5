"""Benchmark tapegrad against NumPy, PyTorch, JAX, HIPS autograd and MyGrad.

    python benchmarks/run.py                        # every workload, every library
    python benchmarks/run.py --quick                # a few blocks: a smoke test
    python benchmarks/run.py --check-only           # gradients only; exit 1 on a mismatch
    python benchmarks/run.py --workloads mlp --libs numpy,torch,tapegrad --blocks 25

Every library runs each workload in its own single-threaded process; see README.md here.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root replaces this script's folder on the path, so that ``benchmarks`` is a
# package and the ``tapegrad`` of this checkout is the one measured.
REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(REPO_ROOT)

from benchmarks.threads import pin_environment  # noqa: E402

pin_environment()  # before anything imports NumPy

import argparse  # noqa: E402
from collections.abc import Sequence  # noqa: E402

from benchmarks.libraries import LIBRARIES, REFERENCE  # noqa: E402
from benchmarks.workloads import WORKLOADS  # noqa: E402

RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"


def _names(text: str, known: dict[str, object], kind: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown {kind} {', '.join(unknown)}; choose from {', '.join(known)}"
        )
    return names


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workloads",
        type=lambda text: _names(text, WORKLOADS, "workload"),
        default=list(WORKLOADS),
        help=f"comma-separated, from {', '.join(WORKLOADS)} (default: all)",
    )
    parser.add_argument(
        "--libs",
        type=lambda text: _names(text, LIBRARIES, "library"),
        default=list(LIBRARIES),
        help=f"comma-separated, from {', '.join(LIBRARIES)} (default: all; numpy is always run)",
    )
    parser.add_argument("--blocks", type=int, default=None, help="timed blocks per row (15)")
    parser.add_argument("--quick", action="store_true", help="3 short blocks: a smoke test")
    parser.add_argument(
        "--check-only", action="store_true", help="check gradients only; exit 1 on a mismatch"
    )
    parser.add_argument(
        "--output-dir", type=Path, default=RESULTS_DIR, help="where latest.json/.png go"
    )
    parser.add_argument(
        "--worker", nargs=2, metavar=("LIBRARY", "WORKLOAD"), help=argparse.SUPPRESS
    )
    parser.add_argument("--size", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        from benchmarks.worker import serve

        library, workload = args.worker
        return serve(library, workload, args.size, args.scratch)

    from benchmarks.harness import TimingPlan, run_workload
    from benchmarks.report import format_summary, format_table, write_chart, write_json

    if args.quick:
        plan = TimingPlan(blocks=args.blocks or 3, warmup_seconds=0.1, block_seconds=0.05)
    else:
        plan = TimingPlan(blocks=args.blocks or TimingPlan.blocks)
    libraries = [REFERENCE] + [name for name in args.libs if name != REFERENCE]

    # A workload that another selected workload is timed with runs in that one's rounds.
    companions = {other for name in args.workloads for other in WORKLOADS[name].timed_with}
    rows = []
    for name in args.workloads:
        if name in companions:
            continue
        workload = WORKLOADS[name]
        for member in (workload.name, *workload.timed_with):
            print(f"{member}: {WORKLOADS[member].summary}", flush=True)
        rows.extend(run_workload(workload, libraries, None if args.check_only else plan))
    print()
    print(format_table(rows))
    if not args.check_only:
        print()
        print(format_summary(rows))

    if not args.check_only:
        json_path = args.output_dir / "latest.json"
        write_json(rows, plan, json_path)
        print(f"\nwrote {json_path}")
        chart_path = args.output_dir / "latest.png"
        if write_chart(rows, chart_path):
            print(f"wrote {chart_path}")
        else:
            print("matplotlib is not installed: no chart")

    failed = [f"{row.workload}/{row.library}" for row in rows if row.status == "failed"]
    failed += [
        f"{row.workload}/{row.library} memory"
        for row in rows
        if row.memory_message.startswith("failed")
    ]
    if failed:
        print(f"\nFAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
