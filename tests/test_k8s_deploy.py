"""The Kubernetes path, checked by rendering it with a real helm (deploy/validate.py): our chart
deploy/helm/governed-agents rendered by `helm template`, every document against the Kubernetes
schemas, the rendered dagster.yaml against Dagster's instance schema and deploy/dagster.yaml, the
run Job dagster-k8s would build. Each check is also shown refusing a broken input.

helm comes from `bash scripts/helm` (scripts/test runs it). These tests fail, never skip, without
it: the fixture below installs it when it is missing."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
CHART = REPO / "deploy" / "helm" / "governed-agents"
VALIDATE = REPO / "deploy" / "validate.py"


def _load_validate():
    import importlib.util

    spec = importlib.util.spec_from_file_location("deploy_validate", VALIDATE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


validate = _load_validate()  # deploy/validate.py (a script, not a package)


@pytest.fixture(scope="module", autouse=True)
def helm() -> str:
    try:
        return validate.find_helm()
    except validate.HelmMissing:
        subprocess.run(["bash", str(REPO / "scripts" / "helm")], check=True)
        return validate.find_helm()  # raises (the test fails) if scripts/helm did not provide it


@pytest.fixture(scope="module")
def rendered() -> list[dict]:
    docs, problems = validate.render()
    assert problems == [] and docs
    return docs


@pytest.fixture(scope="module")
def machine() -> dict:
    return yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())


def _write_values(tmp_path: Path, values: dict) -> Path:
    path = tmp_path / "override.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def test_the_shipped_chart_and_manifests_are_valid():
    result = subprocess.run([sys.executable, str(VALIDATE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok:")


def test_helm_lint_strict_passes_on_the_chart():
    assert validate.lint_problems() == []


def test_the_render_has_the_expected_objects_and_each_is_valid_kubernetes(rendered):
    kinds = Counter(d["kind"] for d in rendered)
    assert kinds["Deployment"] == 3 and kinds["Service"] == 2
    assert kinds["ConfigMap"] == 2 and kinds["ServiceAccount"] == 1
    assert kinds["Role"] == 1 and kinds["RoleBinding"] == 1
    for doc in rendered:
        assert validate.document_problems(doc, "rendered") == []
    deployments = {d["metadata"]["name"]: d for d in rendered if d["kind"] == "Deployment"}
    commands = {name: d["spec"]["template"]["spec"]["containers"][0]["command"][:2] for name, d in deployments.items()}
    assert commands == {"governed-agents-user-code": ["dagster", "code-server"],
                        "governed-agents-webserver": ["dagster-webserver", "--host"],
                        "governed-agents-daemon": ["dagster-daemon", "run"]}
    for d in deployments.values():
        container = d["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["GOVERNED_AGENTS_DEPLOYMENT"] == "prod" and "DAGSTER_PG_PASSWORD" in env
        assert {"configMapRef": {"name": "governed-agents-config"}} in container["envFrom"]
        assert {"secretRef": {"name": "governed-agents-env"}} in container["envFrom"]
    # The Role lets the launcher manage run Jobs; the workspace points at the user-code Service.
    role = next(d for d in rendered if d["kind"] == "Role")
    assert any("jobs" in r["resources"] and "create" in r["verbs"] for r in role["rules"])
    workspace = yaml.safe_load(next(d for d in rendered if d["metadata"]["name"].endswith("-workspace"))
                               ["data"]["workspace.yaml"])
    assert workspace["load_from"][0]["grpc_server"] == {
        "host": "governed-agents-user-code.governed-agents.svc.cluster.local", "port": 4000,
        "location_name": "governed_agents"}


def test_the_rendered_instance_is_valid_dagster_config_and_agrees_with_the_machine(rendered, machine):
    instance = validate.rendered_instance(rendered)
    assert instance["run_coordinator"] == machine["run_coordinator"]
    assert instance["run_launcher"]["class"] == "K8sRunLauncher"
    assert instance["run_launcher"]["config"]["env_secrets"] == ["governed-agents-env"]
    assert validate.instance_problems(instance) == []
    assert validate.agreement_problems(instance, machine) == []
    assert validate.run_job_problems(instance) == []


def test_celery_workers_render_valid_when_enabled(tmp_path):
    docs, problems = validate.render(values_files=[_write_values(tmp_path, {"celery": {"enabled": True}})])
    assert problems == []
    worker = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("celery-worker"))
    assert worker["spec"]["template"]["spec"]["containers"][0]["command"][:3] == ["dagster-celery", "worker", "start"]
    assert all(validate.document_problems(d, "rendered") == [] for d in docs)


@pytest.mark.parametrize("override, expected", [
    ({"runLauncher": {"type": "K8sLauncher"}}, "at '/runLauncher/type': value must be 'K8sRunLauncher'"),
    ({"runCoordinator": {"tagConcurrencyLimits": [{"key": "governed_agents/erp",
                                                   "value": {"applyLimitPerUniqueValue": True}}]}},
     "at '/runCoordinator/tagConcurrencyLimits/0': missing property 'limit'"),
    ({"postgresql": {"port": "5432"}}, "at '/postgresql/port'"),
    ({"webserver": {"replica": 2}}, "additional properties 'replica' not allowed"),
])
def test_helm_refuses_values_that_break_the_schema_and_renders_nothing(tmp_path, override, expected):
    docs, problems = validate.render(values_files=[_write_values(tmp_path, override)])
    assert docs == []
    assert any(expected in p for p in problems), problems
    # The CLI says the same and exits 1.
    result = subprocess.run([sys.executable, str(VALIDATE), "--values", str(tmp_path / "override.yaml")],
                            capture_output=True, text=True)
    assert result.returncode == 1 and expected in result.stdout, result.stdout + result.stderr


def test_a_rendered_manifest_with_an_unknown_field_is_refused(rendered):
    deployment = copy.deepcopy(next(d for d in rendered if d["kind"] == "Deployment"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["envFrom"].append({"name": "X", "value": "1"})  # an env entry in the wrong list
    problems = validate.document_problems(deployment, "rendered")
    assert len(problems) == 1 and "spec.template.spec.containers.0.envFrom.2" in problems[0], problems


def test_a_tag_limit_that_differs_from_the_machine_is_reported(tmp_path):
    loose = {"runCoordinator": {"tagConcurrencyLimits": [
        {"key": "governed_agents/erp", "value": {"applyLimitPerUniqueValue": True}, "limit": 2}]}}
    values = _write_values(tmp_path, loose)
    docs, problems = validate.render(values_files=[values])
    assert problems == [] and validate.instance_problems(validate.rendered_instance(docs)) == []  # valid ...
    result = subprocess.run([sys.executable, str(VALIDATE), "--values", str(values)], capture_output=True, text=True)
    assert result.returncode == 1  # ... but not what one machine runs
    assert "tag concurrency limits differ" in result.stdout and "'limit': 2" in result.stdout


def test_an_invalid_instance_config_is_refused_by_dagster(rendered, machine):
    instance = copy.deepcopy(validate.rendered_instance(rendered))
    instance["run_launcher"]["config"]["job_namespaces"] = "typo"
    instance["run_monitoring"]["start_timeout"] = 5
    problems = validate.instance_problems(instance)
    assert any("run_monitoring" in p or "start_timeout" in p for p in problems), problems
    assert any("K8sRunLauncher" in p and "job_namespaces" in p for p in problems), problems
    del instance["run_launcher"]["config"]["instance_config_map"]
    assert any("instance_config_map" in p for p in validate.instance_problems(instance))
    moved = copy.deepcopy(validate.rendered_instance(rendered))
    moved["run_monitoring"]["enabled"] = False
    moved["run_launcher"]["class"] = "DefaultRunLauncher"
    problems = validate.agreement_problems(moved, machine)
    assert any("run_monitoring" in p for p in problems) and any("not dagster_k8s.K8sRunLauncher" in p for p in problems)


def test_a_broken_raw_manifest_is_refused_and_the_cli_says_where(tmp_path):
    docs = list(yaml.safe_load_all((REPO / "deploy" / "k8s" / "governed-agents-config.yaml").read_text()))
    docs[1]["stringdata"] = docs[1].pop("stringData")  # a typo Kubernetes would silently drop
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump_all(docs))
    result = subprocess.run([sys.executable, str(VALIDATE), "--manifests", str(bad)], capture_output=True, text=True)
    assert result.returncode == 1
    assert "bad.yaml document 2 (Secret governed-agents-env)" in result.stdout and "stringdata" in result.stdout

    missing = subprocess.run([sys.executable, str(VALIDATE), "--values", "nope.yaml"], capture_output=True, text=True)
    assert missing.returncode == 2 and "nope.yaml does not exist" in missing.stderr


def test_without_helm_the_cli_exits_2_with_the_hint_and_passes_nothing(tmp_path):
    env = {**os.environ, "HELM": str(tmp_path / "no-helm")}
    result = subprocess.run([sys.executable, str(VALIDATE)], capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert "bash scripts/helm" in result.stderr and "ok:" not in result.stdout
