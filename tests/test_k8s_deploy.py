"""The Kubernetes path, checked offline (deploy/validate.py): Helm values against the
Dagster chart's own schema, agreement with deploy/dagster.yaml, raw manifests
against the Kubernetes schemas. Each check is also shown to refuse a broken file."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent


def _load_validate():
    import importlib.util

    spec = importlib.util.spec_from_file_location("deploy_validate", REPO / "deploy" / "validate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


validate = _load_validate()  # deploy/validate.py (a script, not a package)


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load((REPO / "deploy" / "helm" / "values.yaml").read_text())


@pytest.fixture(scope="module")
def instance() -> dict:
    return yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())


def test_the_shipped_values_and_manifests_are_valid():
    result = subprocess.run([sys.executable, str(REPO / "deploy" / "validate.py")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok:")


def test_values_use_the_k8s_run_launcher_postgres_and_the_tag_limit(values, instance):
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["postgresql"]["enabled"] is False and values["postgresql"]["postgresqlHost"]
    limits = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]
    assert limits == [{"key": "governed_agents/erp", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]
    assert validate.consistency_problems(values, instance) == []


@pytest.mark.parametrize("break_it, expected", [
    (lambda v: v["runLauncher"].update(type="K8sLauncher"), "runLauncher.type: 'K8sLauncher' is not one of"),
    (lambda v: v["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"][0]
     .pop("limit"), "'limit' is a required property"),
    (lambda v: v.pop("dagsterDaemon"), "(top level): 'dagsterDaemon' is a required property"),
    (lambda v: v["dagster-user-deployments"]["deployments"][0].pop("port"), "'port' is a required property"),
    # Kubernetes types come through the schema's references, resolved offline:
    (lambda v: v["dagsterWebserver"].update(resources={"requests": "lots"}), "dagsterWebserver.resources.requests"),
    (lambda v: v["runLauncher"]["config"]["k8sRunLauncher"].update(envSecrets=[{"name": 5}]),
     "runLauncher.config.k8sRunLauncher.envSecrets.0.name"),
])
def test_a_broken_values_file_is_refused_with_where_and_why(values, break_it, expected):
    broken = copy.deepcopy(values)
    break_it(broken)
    problems = validate.values_problems(broken)
    assert any(expected in p for p in problems), problems


def test_a_tag_limit_that_differs_from_the_machine_instance_is_refused(values, instance):
    loose = copy.deepcopy(values)
    loose["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"][0]["limit"] = 2
    assert validate.values_problems(loose) == []  # valid for the chart ...
    problems = validate.consistency_problems(loose, instance)
    assert problems and "tag concurrency limits differ" in problems[0]  # ... but not what we run


def test_a_broken_manifest_is_refused_and_the_cli_says_where(tmp_path):
    docs = list(yaml.safe_load_all((REPO / "deploy" / "k8s" / "governed-agents-config.yaml").read_text()))
    docs[1]["stringdata"] = docs[1].pop("stringData")  # a typo Kubernetes would silently drop
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump_all(docs))
    result = subprocess.run([sys.executable, str(REPO / "deploy" / "validate.py"), "--manifests", str(bad)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "bad.yaml document 2 (Secret)" in result.stdout and "stringdata" in result.stdout

    missing = subprocess.run([sys.executable, str(REPO / "deploy" / "validate.py"), "--values", "nope.yaml"],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "nope.yaml does not exist" in missing.stderr
