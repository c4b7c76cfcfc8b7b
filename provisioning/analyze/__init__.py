"""Cross-object wiring checks over a set of Kubernetes objects (codes PA001...): what schema validation cannot
see, such as a VirtualService bound to a Gateway that does not exist. Pure: no Django, no I/O beyond reading the
files it is given (``load``)."""

from .checks import CHECKS, analyze
from .codes import CODES, ERROR, WARNING, Code
from .load import InputError, load_manifests
from .model import AwsResource, Finding, Inventory, KubeObject, ManifestError, Settings

__all__ = [
    "CHECKS",
    "CODES",
    "ERROR",
    "WARNING",
    "AwsResource",
    "Code",
    "Finding",
    "InputError",
    "Inventory",
    "KubeObject",
    "ManifestError",
    "Settings",
    "analyze",
    "load_manifests",
]
