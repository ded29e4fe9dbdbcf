"""The Dagster instance governed-agents runs on (``DAGSTER_HOME``).

By default ``$GOVERNED_AGENTS_HOME/dagster``, seeded from the repository's
``dagster.yaml`` (SQLite storage, telemetry off). An explicit ``DAGSTER_HOME``
is respected as it is.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from governed_agents import config

REPO = Path(__file__).resolve().parents[2]


def dagster_home() -> Path:
    """Make sure ``DAGSTER_HOME`` is set and has a ``dagster.yaml``; return it."""
    explicit = os.environ.get("DAGSTER_HOME")
    path = Path(explicit) if explicit else config.home() / "dagster"
    path.mkdir(parents=True, exist_ok=True)
    target = path / "dagster.yaml"
    if not target.exists():
        template = REPO / "dagster.yaml"
        if template.exists():
            shutil.copyfile(template, target)
        else:  # installed without the repository: the minimum that matters
            target.write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(path)
    return path


def instance():
    """The ``DagsterInstance`` at :func:`dagster_home`."""
    from dagster import DagsterInstance

    dagster_home()
    return DagsterInstance.get()


def ui_command() -> str:
    """The exact command that opens the Dagster UI on this instance."""
    import sys

    dagster = Path(sys.executable).parent / "dagster"
    return (f"DAGSTER_HOME={dagster_home()} GOVERNED_AGENTS_HOME={config.home()} "
            f"{dagster} dev -w {REPO / 'workspace.yaml'}")
