"""peer-outcomes: survival analysis of retention and relapse for peer-mentoring programs.

The repository root is this package's folder (pyproject.toml maps it), so the three layers install as
`peer_outcomes.pipelines` (export → warehouse), `peer_outcomes.analysis` (warehouse → models → published
aggregates) and `peer_outcomes.dashboard` (pages, evidence pack, the `peer-outcomes` command).
"""

from importlib.resources import files
from importlib.resources.abc import Traversable

__version__ = "0.1.0"


def doc(name: str) -> Traversable:
    """A file of docs/, shipped with the package so an ordinary install reads the same definitions."""
    return files(__name__) / "docs" / name
