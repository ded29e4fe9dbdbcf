"""Check the Kubernetes path of the deployment offline (no cluster, no network).

    .venv/bin/python deploy/validate.py                     # values.yaml + deploy/k8s/*.yaml
    .venv/bin/python deploy/validate.py --values other.yaml --manifests a.yaml b.yaml

1. ``deploy/helm/values.yaml`` against the Dagster Helm chart's own
   ``values.schema.json`` (vendored in deploy/helm/, see NOTICE.md), with
   ``jsonschema`` (Draft 7, as Helm's validator reads it); the schema's
   references to Kubernetes types are resolved to the definitions that the
   ``kubernetes-validate`` package ships.
2. The governance settings in ``values.yaml`` agree with ``deploy/dagster.yaml``:
   QueuedRunCoordinator, the same tag concurrency limits, a Kubernetes run launcher.
3. Every raw manifest in ``deploy/k8s/`` against the Kubernetes schemas, with
   ``kubernetes-validate`` (strict: unknown fields are errors).

Exit code 0 when everything is valid, 1 with one line per problem otherwise,
2 on bad usage. Needs the ``k8s`` extra (jsonschema, kubernetes-validate).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCHEMA = HERE / "helm" / "values.schema.json"
VALUES = HERE / "helm" / "values.yaml"
INSTANCE = HERE / "dagster.yaml"
K8S_VERSION = "1.37.0"


@functools.lru_cache(maxsize=1)
def _k8s_definitions() -> dict:
    import kubernetes_validate

    root = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    oldest = sorted((p for p in root.glob("v*-local") if p.is_dir()),
                    key=lambda p: tuple(int(x) for x in p.name[1:].split("-")[0].split(".")))[0]
    bundled = json.loads((oldest / "_definitions.json").read_text())
    # The chart points into ".../_definitions.json#/definitions/<type>"; the bundled file keeps
    # the same types under "$defs" (and refers to them there): offer both names.
    return {"definitions": bundled["$defs"], "$defs": bundled["$defs"]}


def values_problems(values: dict, schema: dict | None = None) -> list[str]:
    """Schema errors of a complete Helm values document, one line each ('' path = top level)."""
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    schema = schema or json.loads(SCHEMA.read_text())
    definitions = _k8s_definitions()

    def retrieve(uri: str):
        if uri.startswith("https://kubernetesjsonschema.dev/") and uri.endswith("/_definitions.json"):
            return Resource.from_contents(definitions, default_specification=DRAFT7)
        raise LookupError(f"{uri} is not available offline")

    validator = jsonschema.Draft7Validator(schema, registry=Registry(retrieve=retrieve))
    problems = []
    for error in sorted(validator.iter_errors(values), key=lambda e: list(e.absolute_path)):
        # "not valid under any of the given schemas" (an anyOf) says little: name the
        # alternative that came closest and what is wrong inside it.
        while error.context:
            error = max(error.context, key=lambda e: (len(e.absolute_path), e.validator != "type"))
        problems.append(f"{'.'.join(str(p) for p in error.absolute_path) or '(top level)'}: {error.message}")
    return problems


def consistency_problems(values: dict, instance: dict) -> list[str]:
    """Where values.yaml's run queue differs from deploy/dagster.yaml's (one machine and the cluster must agree)."""
    problems = []
    coordinator = values.get("dagsterDaemon", {}).get("runCoordinator", {})
    if coordinator.get("type") != "QueuedRunCoordinator" or not coordinator.get("enabled"):
        problems.append("dagsterDaemon.runCoordinator: not an enabled QueuedRunCoordinator")
    queued = (coordinator.get("config") or {}).get("queuedRunCoordinator") or {}
    limits = [{"key": lim["key"], "value": lim.get("value"), "limit": lim["limit"]}
              for lim in queued.get("tagConcurrencyLimits") or []]
    on_machine = instance["run_coordinator"]["config"].get("tag_concurrency_limits") or []
    if limits != [{"key": lim["key"], "value": lim.get("value"), "limit": lim["limit"]} for lim in on_machine]:
        problems.append(f"tag concurrency limits differ: helm {limits} vs deploy/dagster.yaml {on_machine}")
    if values.get("runLauncher", {}).get("type") not in ("K8sRunLauncher", "CeleryK8sRunLauncher"):
        problems.append("runLauncher: neither K8sRunLauncher nor CeleryK8sRunLauncher")
    return problems


def manifest_problems(path: Path) -> list[str]:
    """kubernetes-validate errors of every document in one manifest file."""
    import kubernetes_validate
    import yaml

    problems = []
    for index, doc in enumerate(d for d in yaml.safe_load_all(path.read_text()) if d):
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path) or "(top level)"
            problems.append(f"{path.name} document {index + 1} ({doc.get('kind')}): {where}: {exc.message}")
    return problems


def check(values_path: Path = VALUES, manifests: list[Path] | None = None) -> list[str]:
    import yaml

    values = yaml.safe_load(values_path.read_text())
    problems = [f"{values_path.name}: {p}" for p in values_problems(values)]
    problems += [f"{values_path.name}: {p}" for p in consistency_problems(values, yaml.safe_load(INSTANCE.read_text()))]
    for manifest in manifests if manifests is not None else sorted((HERE / "k8s").glob("*.yaml")):
        problems += manifest_problems(manifest)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="What it checks and what it does not: docs/deployment.md.")
    parser.add_argument("--values", type=Path, default=VALUES, help="Helm values file (default %(default)s)")
    parser.add_argument("--manifests", type=Path, nargs="*", help="raw manifests (default deploy/k8s/*.yaml)")
    args = parser.parse_args(argv)
    for path in [args.values, *(args.manifests or [])]:
        if not path.exists():
            parser.error(f"{path} does not exist")
    problems = check(args.values, args.manifests)
    for problem in problems:
        print(problem)
    if not problems:
        print(f"ok: {args.values} against the Dagster chart's values.schema.json; "
              f"manifests against Kubernetes {K8S_VERSION} (strict)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
