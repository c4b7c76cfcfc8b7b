"""The README's performance table is the one bench/results.json gives (python -m bench.table writes it)."""

import copy
import json

import pytest

from bench import table
from bench.config import RESULTS, SCENARIOS, TARGETS

RUN = {
    "mode": "full",
    "generated_at": "2026-12-01T10:00:00+00:00",
    "machine": {
        "cpu": "AMD EPYC",
        "cores": 2,
        "memory_gb": 8.0,
        "os": "Debian GNU/Linux 12 (bookworm)",
        "python": "3.11.7",
        "postgresql": "15.20",
        "redis": "7.0.15",
        "load_average_at_start": [0.1, 0.2, 0.3],
        "git_commit": "0123456789abcdef",
        "git_dirty": False,
    },
    "scenarios": {
        name: {
            "what": SCENARIOS[name],
            "targets": {figure: {"value": 1.0, "target": f"{op} {v}", "pass": True} for figure, (op, v) in t.items()},
        }
        for name, t in TARGETS.items()
    },
}


def test_the_readme_shows_the_committed_results():
    assert table.block(table.README.read_text()) == table.render(table.load(RESULTS))
    assert table.main(["--check"]) == 0


def test_the_table_has_a_row_per_target_and_says_which_are_missed():
    run = copy.deepcopy(RUN)
    run["scenarios"]["B4"]["targets"]["write_p95_ms"] |= {"value": 312.5, "pass": False}
    rendered = table.render(run)
    rows = [line for line in rendered.splitlines() if line.startswith("| ")][1:]
    assert len(rows) == sum(len(t) for t in TARGETS.values())
    assert "| write_p95_ms | 312.5 | ≤ 250.0 | **missed** |" in rendered
    assert f"| B1 | {SCENARIOS['B1']} | overhead_p50_s | 1 | ≤ 1.0 | met |" in rendered
    assert "at commit 0123456789ab: AMD EPYC, 2 cores" in rendered


def test_only_a_full_run_goes_into_the_readme():
    with pytest.raises(ValueError, match="not a smoke run"):
        table.render({**RUN, "mode": "smoke"})
    assert table.render(None) == table.NO_RUN


def test_writing_the_table_replaces_only_what_is_between_the_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{table.START}\nold\n{table.END}\n\nMore.\n")
    results = tmp_path / "results.json"
    results.write_text(json.dumps(RUN))
    assert table.main(["--results", str(results), "--readme", str(readme), "--check"]) == 1
    assert table.main(["--results", str(results), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# Title\n\n") and text.endswith(f"{table.END}\n\nMore.\n")
    assert table.block(text) == table.render(RUN)
    assert table.main(["--results", str(results), "--readme", str(readme), "--check"]) == 0
