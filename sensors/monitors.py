"""Sensors that watch every governed workflow."""

from governed_agents.dagster.sensors import make_governed_run_failure_sensor

run_failure_sensor = make_governed_run_failure_sensor()
