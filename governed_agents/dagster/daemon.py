"""Starting the real ``dagster-daemon`` for the demo and end-to-end tests, and
waiting for the runs its sensors launch."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

from governed_agents.errors import GovernanceError


def _daemon_executable() -> str:
    beside = Path(sys.executable).parent / "dagster-daemon"
    if beside.exists():
        return str(beside)
    found = shutil.which("dagster-daemon")
    if not found:
        raise GovernanceError("dagster-daemon is not installed in this environment")
    return found


@contextlib.contextmanager
def running_daemon(*, log_file: Path | None = None, env: dict | None = None) -> Iterator[subprocess.Popen]:
    """Run ``dagster-daemon run -w workspace.yaml`` on the configured instance until the block ends."""
    from governed_agents.dagster.instance import dagster_home
    from governed_agents.dagster.location import REPO, workspace_file

    home = dagster_home()
    log_file = log_file or home / "daemon.log"
    from governed_agents import config

    # The daemon runs from the repository; pin state home and policies as absolute
    # paths so it governs exactly what this process does, whatever its cwd.
    full_env = {**os.environ, "DAGSTER_HOME": str(home), "GOVERNED_AGENTS_HOME": str(config.home()),
                "GOVERNED_AGENTS_POLICY_DIR": str(config.policy_dir()), **(env or {})}
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            [_daemon_executable(), "run", "-w", str(workspace_file())],
            cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            yield process
        finally:
            stop(process)


def stop(process: subprocess.Popen, timeout: float = 20) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


def wait_for_runs(instance, tag_key: str, tag_values: list[str], *, timeout: float = 120,
                  progress: Callable[[int, int], None] | None = None, process=None) -> dict[str, object]:
    """Wait until every tag value has a finished run; returns value → DagsterRun."""
    from dagster import DagsterRunStatus, RunsFilter

    finished_states = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
    deadline = time.monotonic() + timeout
    done: dict[str, object] = {}
    last = -1
    while time.monotonic() < deadline:
        for value in tag_values:
            if value in done:
                continue
            runs = instance.get_runs(filters=RunsFilter(tags={tag_key: value}))
            finished = [r for r in runs if r.status in finished_states]
            if finished:
                done[value] = finished[0]
        if progress and len(done) != last:
            progress(len(done), len(tag_values))
            last = len(done)
        if len(done) == len(tag_values):
            return done
        if process is not None and process.poll() is not None:
            raise GovernanceError(f"dagster-daemon exited with code {process.returncode}; see its log")
        time.sleep(0.5)
    missing = [v for v in tag_values if v not in done]
    raise GovernanceError(f"timed out after {timeout:.0f}s waiting for runs of {len(missing)} request(s)",
                          details={"missing": missing})
