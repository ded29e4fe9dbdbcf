"""Check the Kubernetes path of the deployment by rendering it (no cluster, no network).

    .venv/bin/python deploy/validate.py                         # the chart with its values + deploy/k8s/*.yaml
    .venv/bin/python deploy/validate.py --values prod.yaml      # the chart with extra values files on top
    .venv/bin/python deploy/validate.py --manifests a.yaml b.yaml

1. ``helm lint --strict`` of our chart ``deploy/helm/governed-agents`` (with the values files).
2. ``helm template`` of the chart; helm itself refuses values that break the chart's
   ``values.schema.json``, naming the path.
3. Every rendered document against the Kubernetes schemas with ``kubernetes-validate``
   (strict: unknown fields are errors).
4. The rendered instance ``dagster.yaml``: a valid Dagster instance config (Dagster's own
   instance schema, and each configured class's config schema: QueuedRunCoordinator,
   dagster-k8s's K8sRunLauncher, ...), and in agreement with ``deploy/dagster.yaml`` (the same
   run coordinator and tag concurrency limits, run monitoring on, runs as Kubernetes Jobs,
   PostgreSQL storage).
5. The Job that the K8sRunLauncher would create for a run, built by dagster-k8s itself from
   the rendered launcher config, against the Kubernetes schemas.
6. Every raw manifest in ``deploy/k8s/`` against the Kubernetes schemas (strict).

Nothing is applied to a cluster. Exit code 0 when everything is valid, 1 with one line per
problem otherwise, 2 on bad usage or when helm is not installed (``bash scripts/helm``).
Needs the ``k8s`` extra (kubernetes-validate, dagster-k8s) and helm.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHART = HERE / "helm" / "governed-agents"
INSTANCE = HERE / "dagster.yaml"
K8S_VERSION = "1.37.0"
RELEASE, NAMESPACE = "governed-agents", "governed-agents"
HELM_HINT = "helm not found: run `bash scripts/helm` (installs .venv/bin/helm), or set HELM=/path/to/helm"


class HelmMissing(RuntimeError):
    pass


def find_helm() -> str:
    """$HELM, else the helm next to this Python (.venv/bin/helm from scripts/helm), else PATH."""
    if os.environ.get("HELM"):
        candidate = os.environ["HELM"]
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
        raise HelmMissing(f"HELM={candidate} is not an executable file; {HELM_HINT}")
    beside = Path(sys.executable).parent / "helm"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("helm")
    if found:
        return found
    raise HelmMissing(HELM_HINT)


def _helm(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([find_helm(), *args], capture_output=True, text=True)


def _values_args(values_files: list[Path]) -> list[str]:
    return [arg for path in values_files for arg in ("-f", str(path))]


def lint_problems(chart: Path = CHART, values_files: list[Path] = ()) -> list[str]:
    result = _helm(["lint", "--strict", str(chart), *_values_args(values_files)])
    if result.returncode == 0:
        return []
    lines = [ln.strip() for ln in (result.stdout + result.stderr).splitlines()
             if "[ERROR]" in ln or "[WARNING]" in ln or ln.startswith(("Error", "- at"))]
    return [f"helm lint: {ln}" for ln in lines or [f"exit {result.returncode}"]]


def render(chart: Path = CHART, values_files: list[Path] = ()) -> tuple[list[dict], list[str]]:
    """(rendered documents, problems): ``helm template`` of the chart; helm's own refusal on failure."""
    import yaml

    result = _helm(["template", RELEASE, str(chart), "--namespace", NAMESPACE, *_values_args(values_files)])
    if result.returncode != 0:
        lines = [ln.strip() for ln in result.stderr.splitlines() if ln.strip()]
        return [], [f"helm template: {ln}" for ln in lines or [f"exit {result.returncode}"]]
    return [d for d in yaml.safe_load_all(result.stdout) if d], []


def document_problems(doc: dict, where: str) -> list[str]:
    """kubernetes-validate errors of one document (strict: unknown fields are errors)."""
    import kubernetes_validate

    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path) or "(top level)"
        name = (doc.get("metadata") or {}).get("name")
        return [f"{where} ({doc.get('kind')} {name}): {path}: {exc.message}"]
    except Exception as exc:  # unknown kind/apiVersion: kubernetes-validate has no schema for it
        return [f"{where} ({doc.get('kind')}): {exc}"]
    return []


def rendered_instance(docs: list[dict]) -> dict | None:
    import yaml

    for doc in docs:
        if doc.get("kind") == "ConfigMap" and "dagster.yaml" in (doc.get("data") or {}):
            return yaml.safe_load(doc["data"]["dagster.yaml"])
    return None


def _config_errors(errors) -> list[str]:
    return [getattr(e, "message", str(e)) for e in errors]


def instance_problems(instance: dict) -> list[str]:
    """Dagster's own verdict on an instance config: the instance schema, then each class's config schema."""
    import yaml
    from dagster._config import validate_config
    from dagster._core.errors import DagsterInvalidConfigError
    from dagster._core.instance.config import dagster_instance_config
    from dagster._serdes import class_from_code_pointer

    problems = []
    with tempfile.TemporaryDirectory() as home:
        Path(home, "dagster.yaml").write_text(yaml.safe_dump(instance))
        try:
            dagster_instance_config(home)
        except DagsterInvalidConfigError as exc:
            problems += [f"dagster.yaml: {m}" for m in _config_errors(exc.errors) or [str(exc)]]
    for key, entry in instance.items():
        if not (isinstance(entry, dict) and "module" in entry and "class" in entry):
            continue
        try:
            klass = class_from_code_pointer(entry["module"], entry["class"])
        except Exception as exc:  # not importable: the image would fail the same way
            problems.append(f"dagster.yaml {key}: cannot import {entry['module']}.{entry['class']}: {exc}")
            continue
        result = validate_config(klass.config_type(), entry.get("config") or {})
        if not result.success:
            problems += [f"dagster.yaml {key} ({entry['class']}): {m}" for m in _config_errors(result.errors)]
    return problems


def agreement_problems(rendered: dict, machine: dict) -> list[str]:
    """Where the rendered instance differs from deploy/dagster.yaml in what governs the runs."""
    problems = []
    ours, theirs = rendered.get("run_coordinator") or {}, machine.get("run_coordinator") or {}
    for field in ("module", "class"):
        if ours.get(field) != theirs.get(field):
            problems.append(f"run_coordinator.{field} differs: helm {ours.get(field)!r} vs deploy/dagster.yaml {theirs.get(field)!r}")
    ours_cfg, theirs_cfg = ours.get("config") or {}, theirs.get("config") or {}
    for field in ("max_concurrent_runs", "dequeue_interval_seconds"):
        if ours_cfg.get(field) != theirs_cfg.get(field):
            problems.append(f"run_coordinator.config.{field} differs: helm {ours_cfg.get(field)!r} "
                            f"vs deploy/dagster.yaml {theirs_cfg.get(field)!r}")
    if ours_cfg.get("tag_concurrency_limits") != theirs_cfg.get("tag_concurrency_limits"):
        problems.append(f"tag concurrency limits differ: helm {ours_cfg.get('tag_concurrency_limits')} "
                        f"vs deploy/dagster.yaml {theirs_cfg.get('tag_concurrency_limits')}")
    if not (rendered.get("run_monitoring") or {}).get("enabled"):
        problems.append("run_monitoring is not enabled (deploy/dagster.yaml enables it: a lost run must be marked failed)")
    launcher = rendered.get("run_launcher") or {}
    if (launcher.get("module"), launcher.get("class")) != ("dagster_k8s", "K8sRunLauncher"):
        problems.append(f"run_launcher is {launcher.get('module')}.{launcher.get('class')}, not dagster_k8s.K8sRunLauncher")
    if "postgres" not in (rendered.get("storage") or {}):
        problems.append("storage is not PostgreSQL")
    return problems


def run_job_problems(instance: dict, image: str = "registry.example.internal/governed-agents:check") -> list[str]:
    """Build the Job the K8sRunLauncher would create for a run (dagster-k8s's own code) and validate it."""
    import kubernetes
    from dagster._config import process_config
    from dagster_k8s import K8sRunLauncher
    from dagster_k8s.job import DagsterK8sJobConfig, UserDefinedDagsterK8sConfig, construct_dagster_k8s_job

    result = process_config(K8sRunLauncher.config_type(), (instance.get("run_launcher") or {}).get("config") or {})
    if not result.success:
        return []  # already reported by instance_problems
    accepted = set(DagsterK8sJobConfig.__new__.__code__.co_varnames) - {"cls", "job_image"}
    job_config = DagsterK8sJobConfig(job_image=image, **{k: v for k, v in result.value.items() if k in accepted})
    job = construct_dagster_k8s_job(job_config, ["dagster", "api", "execute_run", "{}"], "dagster-run-check",
                                    user_defined_k8s_config=UserDefinedDagsterK8sConfig(), component="run_worker")
    doc = kubernetes.client.ApiClient().sanitize_for_serialization(job)
    doc.setdefault("apiVersion", "batch/v1")
    doc.setdefault("kind", "Job")
    return document_problems(doc, "run Job built by K8sRunLauncher")


def manifest_problems(path: Path) -> list[str]:
    """kubernetes-validate errors of every document in one manifest file."""
    import yaml

    problems = []
    for index, doc in enumerate(d for d in yaml.safe_load_all(path.read_text()) if d):
        problems += document_problems(doc, f"{path.name} document {index + 1}")
    return problems


def check(values_files: list[Path] = (), manifests: list[Path] | None = None, chart: Path = CHART) -> list[str]:
    import yaml

    problems = lint_problems(chart, values_files)
    docs, render_problems = render(chart, values_files)
    problems += render_problems
    for doc in docs:
        problems += document_problems(doc, "rendered")
    if docs:
        instance = rendered_instance(docs)
        if instance is None:
            problems.append("rendered: no ConfigMap with a dagster.yaml")
        else:
            problems += instance_problems(instance)
            problems += agreement_problems(instance, yaml.safe_load(INSTANCE.read_text()))
            if not problems:
                problems += run_job_problems(instance)
    for manifest in manifests if manifests is not None else sorted((HERE / "k8s").glob("*.yaml")):
        problems += manifest_problems(manifest)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Exit 0: valid; 1: problems (one per line); 2: bad usage or no helm. "
               "What it checks and what it does not: docs/deployment.md, 'The Kubernetes path'.")
    parser.add_argument("--chart", type=Path, default=CHART, help="chart directory (default %(default)s)")
    parser.add_argument("--values", type=Path, action="append", default=[], metavar="FILE",
                        help="extra Helm values file on top of the chart's values.yaml (repeatable)")
    parser.add_argument("--manifests", type=Path, nargs="*", help="raw manifests (default deploy/k8s/*.yaml)")
    args = parser.parse_args(argv)
    for path in [args.chart, *args.values, *(args.manifests or [])]:
        if not path.exists():
            parser.error(f"{path} does not exist")
    try:
        find_helm()
    except HelmMissing as exc:
        print(f"{parser.prog}: {exc}", file=sys.stderr)
        return 2
    problems = check(args.values, args.manifests, args.chart)
    for problem in problems:
        print(problem)
    if not problems:
        print(f"ok: {args.chart.name} linted and rendered with helm; every document, the run Job and the raw "
              f"manifests valid for Kubernetes {K8S_VERSION} (strict); dagster.yaml valid and agreeing with "
              f"deploy/dagster.yaml")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
