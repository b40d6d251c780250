"""deploy/ as written: the Kubernetes manifests and the compose file parse, say what an
active/standby setup needs (2 replicas, gRPC readiness on a broker service, a PodDisruptionBudget
matching the pods, the DSN from a Secret), and the broker configuration they ship loads through
the broker's own config loader with the PostgreSQL backend and standby on. (No kubeconform
here: it is not on PyPI; a YAML parse plus these assertions.)"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

from broker_server.app import SERVICE_NAMES
from broker_server.config import BrokerConfig, config_from_mapping

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DSN = {"IBBROKER_STORE_DSN": "postgresql://u:p@db/ib"}


def _broker_config(text: str) -> BrokerConfig:
    return config_from_mapping(tomllib.loads(text), DSN)


def _by_kind(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in docs}


def test_the_kubernetes_manifests_run_two_brokers_behind_grpc_readiness() -> None:
    docs = list(yaml.safe_load_all((DEPLOY / "kubernetes" / "ibbroker.yaml").read_text()))
    assert all({"apiVersion", "kind", "metadata"} <= doc.keys() for doc in docs)
    kinds = _by_kind(docs)
    assert set(kinds) == {"Secret", "ConfigMap", "Deployment", "PodDisruptionBudget", "Service"}
    deployment = kinds["Deployment"]
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    (container,) = spec["template"]["spec"]["containers"]
    readiness = container["readinessProbe"]["grpc"]
    assert readiness["port"] == 50051 and readiness["service"] in SERVICE_NAMES
    assert container["livenessProbe"]["grpc"]["port"] == 50051
    (env,) = container["env"]
    secret = kinds["Secret"]
    assert env["name"] == "IBBROKER_STORE_DSN"
    assert env["valueFrom"]["secretKeyRef"] == {"name": secret["metadata"]["name"], "key": "dsn"}
    assert "dsn" in secret["stringData"]
    pdb = kinds["PodDisruptionBudget"]["spec"]
    assert pdb["minAvailable"] == 1 and pdb["selector"]["matchLabels"].items() <= labels.items()
    assert kinds["Service"]["spec"]["selector"].items() <= labels.items()
    # The mounted configuration is a valid broker configuration, standby on PostgreSQL.
    config_map = kinds["ConfigMap"]
    (volume,) = spec["template"]["spec"]["volumes"]
    assert volume["configMap"]["name"] == config_map["metadata"]["name"]
    (mount,) = container["volumeMounts"]
    assert container["args"] == ["serve", "--config", f"{mount['mountPath']}/broker.toml"]
    cfg = _broker_config(config_map["data"]["broker.toml"])
    assert (cfg.store.backend, cfg.store.standby) == ("postgres", True)
    assert cfg.server.listen.endswith(":50051")


def test_the_compose_file_runs_postgres_two_brokers_and_the_simulator() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "sim", "broker-a", "broker-b"}
    a, b = services["broker-a"], services["broker-b"]
    assert a["command"] == b["command"] and a["environment"] == b["environment"]
    assert a["environment"]["IBBROKER_STORE_DSN"].endswith("@postgres:5432/ibbroker")
    assert a["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert {a["ports"][0].split(":")[1], b["ports"][0].split(":")[1]} == {"50051", "50052"}
    assert services["sim"]["command"][:1] == ["sim"]
    cfg = _broker_config((DEPLOY / "broker.toml").read_text())
    assert (cfg.store.backend, cfg.store.standby) == ("postgres", True)
    assert cfg.default_gateway.host == "sim" and cfg.default_gateway.port == 4002
