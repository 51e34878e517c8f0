"""``python -m bench generate --contacts N --out DIR`` and ``python -m bench run --data DIR``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="build a data directory")
    gen.add_argument("--contacts", type=int, default=1_000_000)
    gen.add_argument("--activities", type=int, help="default: 5 per contact")
    gen.add_argument("--deals", type=int, help="funnel deals (default: contacts / 10)")
    gen.add_argument(
        "--submissions", type=int, help="web-form submissions (default: contacts / 100)"
    )
    gen.add_argument("--seed", type=int, default=2026)
    gen.add_argument("--workers", type=int, default=None, help="generator processes")
    gen.add_argument("--out", type=Path, required=True)
    gen.add_argument("--force", action="store_true", help="replace a non-empty --out")
    gen.add_argument(
        "--plugins-only",
        action="store_true",
        help="add the installed plugins' data to the existing data set in --out",
    )
    run = commands.add_parser("run", help="measure every scenario")
    run.add_argument("--data", type=Path, required=True)
    run.add_argument("--quick", action="store_true", help="few repetitions (CI)")
    run.add_argument(
        "--report",
        type=Path,
        default=Path("docs/performance.md"),
        help="markdown report to write ('-' for none)",
    )
    run.add_argument("--only", action="append", default=[], help="run only these scenarios")
    args = parser.parse_args(argv)
    if args.command == "generate":
        from bench.generate import Plan, generate

        plan = Plan(
            out=args.out.resolve(),
            contacts=args.contacts,
            activities=args.activities if args.activities is not None else args.contacts * 5,
            seed=args.seed,
            deals=args.deals if args.deals is not None else args.contacts // 10,
            submissions=args.submissions if args.submissions is not None else args.contacts // 100,
        )
        if args.workers:
            plan.workers = args.workers
        if args.plugins_only:
            from bench.generate import add_plugin_data

            add_plugin_data(plan)
            return 0
        generate(plan, force=args.force)
        return 0
    from bench.runner import run_all

    return run_all(args.data.resolve(), quick=args.quick, report=args.report, only=args.only)


if __name__ == "__main__":
    sys.exit(main())
