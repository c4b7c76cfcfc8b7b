"""The spec, the builders and the diff are plain Python: they import without Django settings, Django or portal."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
import provisioning.desired, provisioning.desired.platform, provisioning.diff, provisioning.spec
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("django", "portal", "rest_framework"))
print(",".join(loaded))
"""


def test_the_spec_builders_and_diff_import_in_a_clean_environment():
    # Nothing inherited: no DJANGO_SETTINGS_MODULE, no PYTHONPATH; only the repository on the path.
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r})\n{PROBE}"],
        env={},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"imported {result.stdout.strip()}"
