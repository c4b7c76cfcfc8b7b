"""Targets checked, the figures printed, results written as JSON."""

import json
import operator
from pathlib import Path

from .config import TARGETS

COMPARE = {"<=": operator.le, ">=": operator.ge, "==": operator.eq}


def judge(scenario: str, figures: dict) -> dict:
    """Each targeted figure with its target and whether it is met."""
    checks = {}
    for figure, (op, target) in TARGETS[scenario].items():
        value = figures.get(figure)
        checks[figure] = {
            "value": value,
            "target": f"{op} {target}",
            "pass": value is not None and COMPARE[op](value, target),
        }
    return checks


def columns(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def calls_table(name: str, calls: dict) -> list[str]:
    """B1's calls per service against the minimum, by provider and operation."""
    rows = [(f"{name} per service", "operation", "calls", "minimum", "excess", "plan", "run")]
    for provider, data in calls.items():
        if not isinstance(data, dict):
            continue
        for op, entry in data["operations"].items():
            phases = entry["by_phase"]
            numbers = (entry["calls"], entry["minimum"], entry["excess"], phases["plan"], phases["run"])
            rows.append((provider, op, *(f"{n:g}" for n in numbers)))
        rows.append((provider, "(all)", f"{data['calls']:g}", f"{data['minimum']:g}", "", "", ""))
    return columns(rows)


def table(results: dict) -> str:
    """Every targeted figure with its target and whether it is met, the figures shown beside them, B1's calls by
    operation, and the machine."""
    rows = [("scenario", "figure", "value", "target", "")]
    for scenario, data in sorted(results["scenarios"].items()):
        if "error" in data:
            rows.append((scenario, "(failed)", data["error"][:100], "", "FAILED"))
        for figure, check in data.get("targets", {}).items():
            rows.append((scenario, figure, str(check["value"]), check["target"], "ok" if check["pass"] else "MISS"))
        for figure, value in data.get("shown", {}).items():
            rows.append((scenario, figure, str(value), "", ""))
    lines = columns(rows)
    for name in ("B1", "B1-cold"):
        if "calls" in results["scenarios"].get(name, {}):
            lines += ["", *calls_table(name, results["scenarios"][name]["calls"])]
    machine = results["machine"]
    lines.append("")
    lines.append(
        f"{results['mode']} run, {results['generated_at']}: {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['memory_gb']} GB, Python {machine['python']}, PostgreSQL {machine['postgresql']}, "
        f"Redis {machine['redis']}, load average {machine['load_average_at_start']} at the start, "
        f"commit {machine['git_commit'][:12]}{' (dirty)' if machine['git_dirty'] else ''}"
    )
    return "\n".join(lines)


def write(results: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, sort_keys=False, default=str) + "\n")
