"""deploy/kubernetes: every kustomization renders, validates against the Kubernetes schemas
and keeps the platform's contracts (probes, drain time, one dataplane, settings that exist)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from sqlalchemy.engine import make_url

from dqplatform.settings import Settings, parse_spark_conf
from tests.unit.kustomize_subset import NotSupported, build

ROOT = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
KUSTOMIZATIONS = ["base", "overlays/example", "overlays/spark-on-kubernetes"]
# The oldest Kubernetes still common in managed clusters, and the newest the schemas know.
VERSIONS = ["1.29.0", kubernetes_validate.latest_version()]
DRAIN_MARGIN_SECONDS = 10

Obj = dict[str, Any]


def _render(name: str) -> list[Obj]:
    return build(ROOT / name)


def _one(objects: list[Obj], kind: str, name: str) -> Obj:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _container(deployment: Obj) -> Obj:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _settings_env(objects: list[Obj], container: Obj) -> dict[str, str]:
    """The DQP_* environment the container gets: its ConfigMaps and Secrets, then its env."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(_one(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
        else:
            env.update(_one(objects, "Secret", source["secretRef"]["name"])["stringData"])
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = variable["value"]
        elif "secretKeyRef" in variable.get("valueFrom", {}):
            ref = variable["valueFrom"]["secretKeyRef"]
            env[variable["name"]] = _one(objects, "Secret", ref["name"])["stringData"][ref["key"]]
    return env


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_every_object_validates_against_the_kubernetes_schemas(name: str) -> None:
    objects = _render(name)
    assert len(objects) >= 7
    for obj in objects:
        for version in VERSIONS:
            # strict: a misspelt or misplaced field is an error, not silently dropped.
            kubernetes_validate.validate(obj, version, strict=True)


def test_a_wrong_field_is_caught() -> None:
    deployment = _one(_render("base"), "Deployment", "dqp-dataplane")
    deployment["spec"]["template"]["spec"]["terminationGracePeriod"] = 75
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_the_controlplane_is_probed_on_api_health_where_it_listens(name: str) -> None:
    objects = _render(name)
    deployment = _one(objects, "Deployment", "dqp-controlplane")
    container = _container(deployment)
    assert container["args"] == ["controlplane"]
    env = _settings_env(objects, container)
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports["http"] == int(env["DQP_PORT"])
    assert env["DQP_HOST"] == "0.0.0.0"  # reachable by the kubelet and the Service
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"] == {"path": "/api/health", "port": "http"}
    service = _one(objects, "Service", "dqp-controlplane")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] == "/api/metrics"


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_the_dataplane_drains_within_its_grace_period_and_comes_back(name: str) -> None:
    objects = _render(name)
    deployment = _one(objects, "Deployment", "dqp-dataplane")
    pod = deployment["spec"]["template"]["spec"]
    env = _settings_env(objects, _container(deployment))
    drain = float(env["DQP_SHUTDOWN_GRACE_SECONDS"])
    assert pod["terminationGracePeriodSeconds"] >= drain + DRAIN_MARGIN_SECONDS
    assert pod["restartPolicy"] == "Always"
    assert _container(deployment)["args"] == ["dataplane"]
    # One dataplane at a time: it holds the broker's exclusive control queue.
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}


# Kubernetes expands $(VAR) from the container's earlier variables when it starts it.
_EXPANDED = {"$(POD_IP)": "10.0.0.7", "$(POD_NAME)": "dqp-dataplane-5d8c7-x2x9q"}


def _expand(value: str) -> str:
    for reference, stand_in in _EXPANDED.items():
        value = value.replace(reference, stand_in)
    return value


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_both_planes_get_settings_that_exist_and_are_valid(name: str) -> None:
    objects = _render(name)
    for deployment in ("dqp-controlplane", "dqp-dataplane"):
        env = _settings_env(objects, _container(_one(objects, "Deployment", deployment)))
        values = {
            key.removeprefix("DQP_").lower(): _expand(value)
            for key, value in env.items()
            if key.startswith("DQP_")
        }
        unknown = set(values) - set(Settings.model_fields)
        assert not unknown, f"{deployment}: no such settings {unknown}"
        settings = Settings(**values)  # type: ignore[arg-type]
        assert settings.broker_url
        if deployment == "dqp-controlplane":
            assert settings.database_url and settings.jwt_secret and settings.secrets_key
        else:
            # Only what it uses: the broker. No database, no signing key, no at-rest key.
            assert settings.database_url is None
            assert settings.jwt_secret is None and settings.secrets_key is None


def test_secrets_are_placeholders_and_point_at_the_external_services() -> None:
    objects = _render("overlays/example")
    secret = _one(objects, "Secret", "dqplatform-secrets")
    data = secret["stringData"]
    assert set(data) == {"DQP_DATABASE_URL", "DQP_BROKER_URL", "DQP_JWT_SECRET", "DQP_SECRETS_KEY"}
    for key, value in data.items():
        assert "REPLACE-ME" in value, f"{key} looks like a real secret"
    hosts = {make_url(data["DQP_DATABASE_URL"]).host, make_url(data["DQP_BROKER_URL"]).host}
    for host in hosts:
        service = _one(objects, "Service", host)
        assert service["spec"]["type"] == "ExternalName"
        assert service["spec"]["externalName"].endswith(".amazonaws.com")  # the overlay's


def test_the_example_overlay_pins_the_image_and_runs_two_controlplanes() -> None:
    objects = _render("overlays/example")
    images = {
        _container(_one(objects, "Deployment", name))["image"]
        for name in ("dqp-controlplane", "dqp-dataplane")
    }
    assert images == {"registry.example.com/data-quality/dqplatform:20260501-5def6ae"}
    assert _one(objects, "Deployment", "dqp-controlplane")["spec"]["replicas"] == 2
    namespaced = [o for o in objects if o["kind"] != "Namespace"]
    assert {o["metadata"]["namespace"] for o in namespaced} == {"dqp"}


def test_spark_on_kubernetes_gives_the_driver_an_account_that_may_make_executors() -> None:
    objects = _render("overlays/spark-on-kubernetes")
    deployment = _one(objects, "Deployment", "dqp-dataplane")
    pod = deployment["spec"]["template"]["spec"]
    env = {variable["name"]: variable for variable in _container(deployment)["env"]}
    assert env["DQP_SPARK_MASTER"]["value"].startswith("k8s://")
    conf = parse_spark_conf(env["DQP_SPARK_CONF"]["value"])
    assert conf["spark.driver.host"] == "$(POD_IP)"
    account = conf["spark.kubernetes.authenticate.driver.serviceAccountName"]
    assert pod["serviceAccountName"] == account
    _one(objects, "ServiceAccount", account)
    binding = _one(objects, "RoleBinding", "dqp-spark-driver")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": "dqp"}]
    rules = _one(objects, "Role", binding["roleRef"]["name"])["rules"]
    assert any("pods" in rule["resources"] and "create" in rule["verbs"] for rule in rules)


def test_the_subset_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump({"resources": [], "configMapGenerator": [{"name": "x"}]})
    )
    with pytest.raises(NotSupported, match="configMapGenerator"):
        build(tmp_path)


def _identity(obj: Obj) -> tuple[str, str, str]:
    return (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


@pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl (with kustomize) not installed"
)
@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_the_subset_renders_what_kustomize_renders(name: str) -> None:
    result = subprocess.run(
        ["kubectl", "kustomize", str(ROOT / name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    theirs = {_identity(o): o for o in yaml.safe_load_all(result.stdout) if o}
    ours = {_identity(o): o for o in _render(name)}
    assert ours == theirs
