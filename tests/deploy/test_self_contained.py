"""Nothing in the repository reads outside it: no code, test, Makefile target, script or benchmark climbs above the
repository root (``../shared``, ``Path(__file__).parents[3]`` from too shallow a file, ``os.pardir``, absolute
paths into the workspace). Paths are resolved the way they are used: ``__file__``-based ones and Markdown links
from the file's folder, everything else from the repository root (the working directory of make, pytest and
manage.py)."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Upstream data kept verbatim (schemas, lock files, minified assets): their text is not this project's paths.
VENDORED = ("provisioning/crds/", "tests/schemas/", "static/portal/vendor/", "tests/oidc/package-lock.json")
VENDORED_FILES = ("requirements.lock",)

_PARENTS = re.compile(r"__file__.*?\.parents\[(\d+)\]")
_PARENT_CHAIN = re.compile(r"__file__\)(?:\.resolve\(\))?((?:\.parent)+)")
_DIRNAME = re.compile(r"dirname\(")
_CWD_PARENT = re.compile(r"cwd\(\)(?:\.resolve\(\))?\.parent")
_UP = re.compile(r"(?<![\w.])((?:\.\./)+)")
_WORKSPACE = re.compile("/" + "work/")


def escapes(relative_path: str, text: str) -> list[str]:
    """The lines of a file at ``relative_path`` (from the root) that reach above the repository root."""
    depth = len(Path(relative_path).parts) - 1  # folders between the root and the file
    file_relative = relative_path.endswith((".md", "kustomization.yaml"))
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        # Folders climbed above the file's own folder by __file__-based paths.
        climbs = [int(m) for m in _PARENTS.findall(line)]
        climbs += [chain.count(".parent") - 1 for chain in _PARENT_CHAIN.findall(line)]
        if "__file__" in line and (calls := len(_DIRNAME.findall(line))) > 1:
            climbs.append(calls - 1)
        from_file = file_relative or "__file__" in line or "dirname" in line
        ups = [up.count("../") for up in _UP.findall(line)]
        if (
            any(climb > depth for climb in climbs)
            or any(up > (depth if from_file else 0) for up in ups)
            or _CWD_PARENT.search(line)
            or "os.pardir" in line
            or _WORKSPACE.search(line)
        ):
            found.append(f"{relative_path}:{number}: {line.strip()}")
    return found


def tracked_text_files() -> list[str]:
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    names = [name for name in listing.stdout.split("\0") if name]
    return [n for n in names if not n.startswith(VENDORED) and n not in VENDORED_FILES and n != _THIS]


_THIS = str(Path(__file__).resolve().relative_to(ROOT))


def test_nothing_tracked_reads_outside_the_repository():
    problems = []
    for name in tracked_text_files():
        try:
            text = (ROOT / name).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        problems += escapes(name, text)
    assert not problems, "paths outside the repository:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("tests/core/test_x.py", 'CRDS = Path(__file__).resolve().parents[3] / "shared" / "crds"'),
        ("tests/core/test_x.py", 'CRDS = Path(__file__).resolve().parent.parent.parent.parent / "shared"'),
        ("bench/config.py", 'CRDS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "x")'),
        ("portal/settings/base.py", 'CRD_DIR = env("PORTAL_CRD_DIR", default="../shared/crds")'),
        ("Makefile", "\tcp -r ../shared/crds var/"),
        (".ci/run", 'source "$(dirname "$0")/../../shared/env"'),
        ("docs/setup.md", "See [the CRDs](../../shared/crds/README.md)."),
        ("bench/config.py", "BASE = Path.cwd().parent / 'shared'"),
        ("tests/conftest.py", "CRDS = os.path.join(os.pardir, 'shared')"),
    ],
)
def test_the_check_finds_paths_above_the_root(path, line):
    assert escapes(path, line)


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("portal/settings/base.py", "BASE_DIR = Path(__file__).resolve().parent.parent.parent"),
        ("tests/aws/iam.py", "ROOT = Path(__file__).resolve().parents[2]"),
        ("tests/sso/conftest.py", 'OIDC_DIR = Path(__file__).resolve().parent.parent / "oidc"'),
        (".ci/run", 'cd "$(dirname "$0")/.."'),
        ("iam/README.md", "See [the policy](../README.md)."),
        ("tests/platform/test_golden.py", 'GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "x.yaml"'),
    ],
)
def test_the_check_leaves_paths_inside_the_repository_alone(path, line):
    assert not escapes(path, line)
