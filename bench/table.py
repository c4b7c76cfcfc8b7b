"""python -m bench.table [--results PATH] [--readme PATH] [--check]

Writes the README's performance table from a full run's ``bench/results.json`` (between its two marker lines), so
the two cannot disagree; ``--check`` only says whether they do (exit status 1). Without a results file the table
says no full run is recorded yet. Needs no Django: it reads JSON.
"""

import argparse
import json
import sys
from pathlib import Path

from .config import RESULTS, ROOT

README = ROOT / "README.md"
START = "<!-- bench-table:start: `python -m bench.table` writes this table from bench/results.json -->"
END = "<!-- bench-table:end -->"
NO_RUN = (
    "No full run is recorded yet: `make bench` on a quiet machine writes `bench/results.json`, then "
    "`python -m bench.table` writes its figures here."
)


def value(number) -> str:
    if isinstance(number, float):
        return f"{number:.2f}".rstrip("0").rstrip(".") if abs(number) < 1000 else f"{number:,.0f}"
    return f"{number:,}" if isinstance(number, int) else str(number)


def render(results: dict | None) -> str:
    """The table (one row per targeted figure) and the machine it was measured on; NO_RUN without results."""
    if results is None:
        return NO_RUN
    if results.get("mode") != "full":
        raise ValueError(f"the README shows a full run's figures, not a {results.get('mode')} run's")
    lines = ["| | what is measured | figure | value | target | |", "|---|---|---|---|---|---|"]
    for name, data in sorted(results["scenarios"].items()):
        for index, (figure, check) in enumerate(data["targets"].items()):
            label, what = (name, data["what"]) if index == 0 else ("", "")
            verdict = "met" if check["pass"] else "**missed**"
            target = check["target"].replace("<=", "≤").replace(">=", "≥")
            lines.append(f"| {label} | {what} | {figure} | {value(check['value'])} | {target} | {verdict} |")
    machine = results["machine"]
    lines += [
        "",
        f"Full run of {results['generated_at']} at commit {machine['git_commit'][:12]}"
        f"{' (with uncommitted changes)' if machine['git_dirty'] else ''}: {machine['cpu']}, {machine['cores']} "
        f"cores, {machine['memory_gb']} GB, {machine['os']}, Python {machine['python']}, PostgreSQL "
        f"{machine['postgresql']}, Redis {machine['redis']}; load average {machine['load_average_at_start']} at the "
        "start.",
    ]
    return "\n".join(lines)


def block(readme: str) -> str:
    """What the README holds between the markers."""
    if START not in readme or END not in readme:
        raise ValueError("the README has no performance table markers")
    return readme.split(START, 1)[1].split(END, 1)[0].strip("\n")


def with_table(readme: str, table: str) -> str:
    head, rest = readme.split(START, 1)
    return f"{head}{START}\n{table}\n{END}{rest.split(END, 1)[1]}"


def load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.table", description=__doc__.split("\n\n")[1])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    readme = args.readme.read_text()
    table = render(load(args.results))
    if args.check:
        if block(readme) != table:
            print(f"{args.readme} does not show {args.results}: run python -m bench.table", file=sys.stderr)
            return 1
        return 0
    args.readme.write_text(with_table(readme, table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
