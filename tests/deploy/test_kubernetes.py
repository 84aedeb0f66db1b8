"""The Kubernetes manifests: rendered by Kustomize (kubectl's, where kubectl is installed; else
each base file as it is) and validated against the Kubernetes schemas kubernetes-validate
ships, strictly (no unknown field)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from odoo_connector.settings import ConnectorSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.32.0"
SERVICES = {"orders", "registers", "reporting", "odoo-connector"}


def _rendered() -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        done = subprocess.run(  # noqa: S603 - the machine's kubectl, our kustomization
            [kubectl, "kustomize", str(K8S / "overlays" / "production")],
            capture_output=True,
            text=True,
            check=True,
        )
        texts = [done.stdout]
    else:
        base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
        texts = [(K8S / "base" / name).read_text() for name in base["resources"]]
    return [doc for text in texts for doc in yaml.safe_load_all(text) if doc]


RESOURCES = _rendered()


def _named(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in RESOURCES if doc["kind"] == kind}


@pytest.mark.parametrize(
    "resource",
    RESOURCES,
    ids=lambda doc: f"{doc['kind']}/{doc['metadata']['name']}",
)
def test_each_resource_is_valid_kubernetes(resource: dict[str, Any]) -> None:
    kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_every_service_has_probes_resources_a_budget_and_runs_as_a_user() -> None:
    deployments, budgets = _named("Deployment"), _named("PodDisruptionBudget")
    assert set(deployments) == SERVICES
    assert set(budgets) == SERVICES
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        [container] = pod["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert set(container["resources"]) == {"requests", "limits"}, name
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert budgets[name]["spec"]["selector"] == deployment["spec"]["selector"]
        assert deployment["spec"]["replicas"] >= 2, name


def test_the_connector_runs_more_replicas_than_two_and_nothing_autoscales_it_on_cpu() -> None:
    # The replicas share the orders' partitions, so each adds throughput; it mostly waits on
    # Odoo, so CPU would not say when to add one.
    connector = _named("Deployment")["odoo-connector"]
    assert 2 < connector["spec"]["replicas"] <= ConnectorSettings().odoo_partitions
    scaled = {
        doc["spec"]["scaleTargetRef"]["name"] for doc in _named("HorizontalPodAutoscaler").values()
    }
    assert "odoo-connector" not in scaled
    assert not [doc for doc in RESOURCES if doc["apiVersion"].startswith("keda.sh/")]
