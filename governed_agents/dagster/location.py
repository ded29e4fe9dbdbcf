"""Loading the code location (``definitions.py``) outside ``dagster dev``.

The CLI and the demo run jobs in-process on the configured instance, so those
runs show in the Dagster UI exactly like runs launched from it.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import lru_cache
from pathlib import Path

from governed_agents.errors import GovernanceError

REPO = Path(__file__).resolve().parents[2]


@lru_cache(maxsize=1)
def definitions():
    path = REPO / "definitions.py"
    if not path.exists():
        raise GovernanceError(f"no code location at {path}",
                              hint="run governed-agents from a checkout of the repository")
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    spec = importlib.util.spec_from_file_location("governed_agents_definitions", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.defs


def workspace_file() -> Path:
    return REPO / "workspace.yaml"
