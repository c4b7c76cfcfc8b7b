"""The analyze benchmark with a tiny set: it runs and reports every figure; its speed belongs to ``make bench``."""

import pytest

from bench.analyze import run

pytestmark = pytest.mark.bench

FIGURES = {"objects", "findings", "load_ms", "analyze_ms", "in_process_ms", "in_process_cpu_ms", "command_wall_ms"}


def test_the_benchmark_reports_its_figures_for_a_wired_set():
    figures = run(objects=30, repeats=1)
    assert set(figures) >= FIGURES
    assert figures["objects"] >= 30 and figures["findings"] == 0
    assert all(figures[name] > 0 for name in FIGURES - {"objects", "findings"})
