"""The deployment files parse, validate, and agree with each other and with the code.

Kubernetes manifests are checked against the Kubernetes OpenAPI schemas that the
kubernetes-validate package ships (no network, no cluster), in strict mode so that a
misspelt field fails. The rest are cross-checks: the names, ports, probes, images,
env sources and commands that must match between deploy/, the Procfile, the
Dockerfile, gunicorn's config, the Flask app and the Celery app.
"""

from __future__ import annotations

import gc
import json
import re
import runpy
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from service.app import create_app
from service.persistence import schema
from service.persistence.db import make_engine
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
COMPOSE = DEPLOY / "compose.yaml"
SECRET_TEMPLATE = "secret.template.yaml"

APP_PROCESSES = (
    "web",
    "worker-permissions",
    "worker-invitations",
    "worker-webhooks",
    "beat",
    "relay",
)
QUEUES = {
    "worker-permissions": "permissions",
    "worker-invitations": "invitations",
    "worker-webhooks": "webhooks",
}
REQUIRED_IN_PRODUCTION = (
    "ROLECALL_ENV",
    "ROLECALL_DATABASE_URL",
    "ROLECALL_REDIS_URL",
    "ROLECALL_BROKER_URL",
    "ROLECALL_SECRET_KEY",
)
# Who sends committed outbox rows, and how often the relay process looks (service/settings.py).
RELAY_VARIABLES = ("ROLECALL_OUTBOX_RELAY", "ROLECALL_RELAY_INTERVAL_SECONDS")
# Flags a container may add after the Procfile's command, each with one value:
# --concurrency (Celery's default is the node's CPU count, not the pod's) and
# --schedule (beat's state file, on a writable volume under a read-only root).
CONTAINER_ONLY_FLAGS = {"--concurrency", "--schedule"}
# The validator's oldest and newest Kubernetes versions that we claim to support.
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())


# --- loading ------------------------------------------------------------------------


def _yaml_files() -> list[Path]:
    return [*sorted(KUBERNETES.glob("*.yaml")), COMPOSE]


def _documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def _manifests() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(KUBERNETES.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for index, doc in enumerate(_documents(path)):
            yield f"{path.name}#{index}", doc


MANIFESTS = dict(_manifests())


def _of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {
        doc["metadata"]["name"]: doc
        for name, doc in MANIFESTS.items()
        if doc["kind"] == kind and not name.startswith(SECRET_TEMPLATE)
    }


def _deployments() -> dict[str, dict[str, Any]]:
    return _of_kind("Deployment")


def _deployment_for(process: str) -> dict[str, Any]:
    found = [
        d
        for d in _deployments().values()
        if d["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") == process
    ]
    assert len(found) == 1, f"expected one Deployment for {process}, found {len(found)}"
    return found[0]


def _job() -> dict[str, Any]:
    jobs = list(_of_kind("Job").values())
    assert len(jobs) == 1
    return jobs[0]


def _pod_specs() -> dict[str, dict[str, Any]]:
    specs = {name: d["spec"]["template"]["spec"] for name, d in _deployments().items()}
    job = _job()
    specs[job["metadata"]["name"]] = job["spec"]["template"]["spec"]
    return specs


def _procfile() -> dict[str, list[str]]:
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            processes[name.strip()] = shlex.split(command)
    return processes


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _gunicorn_default_port(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.delenv("GUNICORN_BIND", raising=False)
    config = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    return int(config["bind"].rsplit(":", 1)[1])


def _assert_is_procfile_command(command: list[str], process: str) -> None:
    expected = _procfile()[process]
    assert command[: len(expected)] == expected, f"{process}: {command} vs Procfile {expected}"
    extra = command[len(expected) :]
    assert len(extra) % 2 == 0, f"{process}: extra arguments {extra}"
    assert set(extra[::2]) <= CONTAINER_ONLY_FLAGS, f"{process}: extra arguments {extra}"


def _option(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def _interpolate(value: str, environ: dict[str, str]) -> str:
    """Compose's ${VAR:-default} / ${VAR:?message} / ${VAR} for the tests' purposes."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if name in environ:
            return environ[name]
        assert op != ":?", f"{name} has no default: {arg}"
        return arg or ""

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


# --- every file parses and validates ------------------------------------------------


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_document_in_deploy_parses_to_a_mapping(path: Path) -> None:
    documents = _documents(path)
    assert documents
    assert all(isinstance(doc, dict) for doc in documents)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_every_kubernetes_manifest_validates_against_the_kubernetes_schema(
    name: str, version: str
) -> None:
    # Raises ValidationError naming the field on any schema violation.
    checked = kubernetes_validate.validate(MANIFESTS[name], version, strict=True)
    assert checked == ".".join(version.split(".")[:2])  # the schema version it was held to


def test_the_kustomization_lists_every_manifest_except_the_secret_template() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    on_disk = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk - {SECRET_TEMPLATE}
    assert kustomization["namespace"] == "rolecall"


def test_every_manifest_is_in_the_rolecall_namespace() -> None:
    for name, doc in MANIFESTS.items():
        if doc["kind"] == "Namespace":
            assert doc["metadata"]["name"] == "rolecall"
        else:
            assert doc["metadata"].get("namespace") == "rolecall", name


def test_there_is_a_deployment_for_each_process_and_one_migration_job() -> None:
    components = {
        d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
        for d in _deployments().values()
    }
    assert components == set(APP_PROCESSES)
    assert _job()["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "rolecall",
        "db",
        "upgrade",
    ]


def test_each_deployment_selector_matches_its_own_pod_labels() -> None:
    for name, deployment in _deployments().items():
        selector = deployment["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), name


# --- web: service, probes, ports, metrics --------------------------------------------


def _web_container() -> dict[str, Any]:
    return _deployment_for("web")["spec"]["template"]["spec"]["containers"][0]


def _port_number(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    named = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    assert port in named, f"no container port named {port}"
    return named[port]


def test_the_service_selects_the_web_pods_and_reaches_gunicorns_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services = _of_kind("Service")
    assert list(services) == ["rolecall-web"]
    service = services["rolecall-web"]
    labels = _deployment_for("web")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    for deployment in _deployments().values():
        if deployment is not _deployment_for("web"):
            other = deployment["spec"]["template"]["metadata"]["labels"]
            assert not service["spec"]["selector"].items() <= other.items()
    port = _gunicorn_default_port(monkeypatch)
    assert port == 8000
    for service_port in service["spec"]["ports"]:
        assert _port_number(_web_container(), service_port["targetPort"]) == port


def test_the_web_container_listens_where_gunicorns_config_binds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = _gunicorn_default_port(monkeypatch)
    container = _web_container()
    assert [p["containerPort"] for p in container["ports"]] == [port]
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    assert env.get("PORT", str(port)) == str(port)
    assert "GUNICORN_BIND" not in env


def test_a_gunicorn_worker_keeps_its_app_out_of_the_garbage_collectors_walks() -> None:
    config = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    gc.collect()
    before = gc.get_freeze_count()
    try:
        config["post_worker_init"](None)
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()


def test_web_is_ready_on_readyz_and_alive_on_healthz_on_port_8000() -> None:
    container = _web_container()
    readiness = container["readinessProbe"]["httpGet"]
    liveness = container["livenessProbe"]["httpGet"]
    assert readiness["path"] == "/readyz"
    assert liveness["path"] == "/healthz"
    for probe in (readiness, liveness, container["startupProbe"]["httpGet"]):
        assert _port_number(container, probe["port"]) == 8000
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"


def test_web_pods_are_scraped_for_metrics_on_port_8000() -> None:
    annotations = _deployment_for("web")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == "8000"
    assert annotations["prometheus.io/path"] == "/metrics"


def test_the_ingress_sends_traffic_to_the_web_service_port() -> None:
    service = _of_kind("Service")["rolecall-web"]
    port_names = {p["name"] for p in service["spec"]["ports"]}
    port_numbers = {p["port"] for p in service["spec"]["ports"]}
    for ingress in _of_kind("Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] == "rolecall-web"
                port = backend["port"]
                assert port.get("name") in port_names or port.get("number") in port_numbers


@pytest.fixture(scope="module")
def flask_paths(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    database = tmp_path_factory.mktemp("deploy") / "deploy.db"
    settings = Settings(environment="test", database_url=f"sqlite:///{database}")
    engine = make_engine(settings)
    schema.upgrade(engine)
    engine.dispose()
    app = create_app(settings)
    return {rule.rule for rule in app.url_map.iter_rules()}


def test_the_probe_paths_exist_in_the_flask_app(flask_paths: set[str]) -> None:
    container = _web_container()
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["path"] in flask_paths
    assert {"/healthz", "/readyz"} <= flask_paths


def test_the_scraped_metrics_path_exists_in_the_flask_app(flask_paths: set[str]) -> None:
    if "/metrics" not in flask_paths:
        pytest.skip("the app serves no /metrics yet (it lands with the observability work)")
    annotations = _deployment_for("web")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] in flask_paths


# --- scaling and disruption ------------------------------------------------------------


def test_the_autoscaler_targets_the_web_deployment_on_cpu() -> None:
    autoscalers = list(_of_kind("HorizontalPodAutoscaler").values())
    assert len(autoscalers) == 1
    spec = autoscalers[0]["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": _deployment_for("web")["metadata"]["name"],
    }
    assert [m["resource"]["name"] for m in spec["metrics"]] == ["cpu"]
    assert spec["minReplicas"] >= 2
    # The autoscaler owns web's replica count; a fixed one would be reset on every apply.
    assert "replicas" not in _deployment_for("web")["spec"]


def test_each_disruption_budget_covers_exactly_one_web_relay_or_worker_deployment() -> None:
    covered = []
    for name, budget in _of_kind("PodDisruptionBudget").items():
        selector = budget["spec"]["selector"]["matchLabels"]
        matched = [
            d
            for d in _deployments().values()
            if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(matched) == 1, name
        covered.append(
            matched[0]["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
        )
    assert sorted(covered) == sorted(["web", "relay", *QUEUES])


def test_beat_runs_exactly_one_replica_and_is_recreated_not_rolled() -> None:
    beat = _deployment_for("beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}


# --- one image, one configuration, safe pods ---------------------------------------------


def test_the_job_and_every_deployment_run_one_image_with_the_same_env_sources() -> None:
    config_map = next(iter(_of_kind("ConfigMap")))
    secret = _documents(KUBERNETES / SECRET_TEMPLATE)[0]["metadata"]["name"]
    images = set()
    for name, spec in _pod_specs().items():
        for container in spec["containers"]:
            images.add(container["image"])
            assert container["envFrom"] == [
                {"configMapRef": {"name": config_map}},
                {"secretRef": {"name": secret}},
            ], name
    assert len(images) == 1
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    image_names = {entry["name"] for entry in kustomization.get("images", [])}
    assert image_names <= {image.rsplit(":", 1)[0] for image in images}


def test_every_pod_runs_as_non_root_on_a_read_only_root_with_requests_and_limits() -> None:
    for name, spec in _pod_specs().items():
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod.get("runAsUser", 1) != 0, name
        assert spec["automountServiceAccountToken"] is False, name
        mounts_available = {v["name"] for v in spec.get("volumes", [])}
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= container["resources"][kind].keys(), name
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            # gunicorn's heartbeat files, beat's schedule and prometheus-client's files.
            assert {"/tmp", "/tmp/prometheus"} <= mounts.keys(), name
            assert set(mounts.values()) <= mounts_available, name


def _kubernetes_env() -> dict[str, str]:
    data = next(iter(_of_kind("ConfigMap").values()))["data"]
    secret_values = _documents(KUBERNETES / SECRET_TEMPLATE)[0]["stringData"]
    return {**data, **secret_values}


def test_the_config_map_and_secret_template_give_a_valid_production_configuration() -> None:
    data = next(iter(_of_kind("ConfigMap").values()))["data"]
    secret = _documents(KUBERNETES / SECRET_TEMPLATE)[0]
    secret_values = secret["stringData"]
    assert not data.keys() & secret_values.keys()
    env = _kubernetes_env()
    assert set(REQUIRED_IN_PRODUCTION) <= env.keys()
    assert data["ROLECALL_ENV"] == "production"
    assert "ROLECALL_SECRET_KEY" not in data
    assert "ROLECALL_DATABASE_URL" not in data
    Settings.from_env(env)  # production refuses anything embedded
    assert data["PROMETHEUS_MULTIPROC_DIR"] == "/tmp/prometheus"


def test_the_secret_template_holds_only_marked_placeholders() -> None:
    secret = _documents(KUBERNETES / SECRET_TEMPLATE)[0]
    assert "data" not in secret
    for key, value in secret["stringData"].items():
        assert "REPLACE" in value, key


# --- the Celery processes ----------------------------------------------------------------


@pytest.mark.parametrize("process", sorted(QUEUES))
def test_worker_deployments_run_the_procfile_command_for_their_queue(process: str) -> None:
    command = _deployment_for(process)["spec"]["template"]["spec"]["containers"][0]["command"]
    _assert_is_procfile_command(command, process)
    assert command[:4] == ["celery", "-A", "worker.celery_app", "worker"]
    assert _option(command, "--queues") == QUEUES[process]
    assert "--concurrency" in command


def test_beat_runs_the_procfile_command_with_its_schedule_on_a_writable_volume() -> None:
    command = _deployment_for("beat")["spec"]["template"]["spec"]["containers"][0]["command"]
    _assert_is_procfile_command(command, "beat")
    assert command[:4] == ["celery", "-A", "worker.celery_app", "beat"]
    assert _option(command, "--schedule").startswith("/tmp/")


def test_the_relay_deployment_runs_the_procfile_relay_command_exactly() -> None:
    container = _deployment_for("relay")["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == _procfile()["relay"] == ["rolecall", "relay"]
    # It serves nothing: no port, no Service, no probe that would need one.
    assert "ports" not in container
    assert not {"readinessProbe", "livenessProbe", "startupProbe"} & container.keys()


def test_the_relay_command_is_a_rolecall_cli_command() -> None:
    from click.testing import CliRunner

    from service.cli import main

    assert "relay" in main.commands
    done = CliRunner().invoke(main, ["relay", "--help"])
    assert done.exit_code == 0, done.output
    assert "outbox" in done.output


def test_the_relay_is_rolled_not_recreated_and_keeps_a_replica_through_a_drain() -> None:
    relay = _deployment_for("relay")
    # Replicas share the outbox safely (SKIP LOCKED), so a rolling update may overlap them.
    assert relay["spec"].get("strategy", {}).get("type", "RollingUpdate") == "RollingUpdate"
    assert relay["spec"]["replicas"] >= 2


@pytest.mark.parametrize("where", ["kubernetes", "compose"])
def test_the_deployed_configuration_leaves_sending_the_outbox_to_the_relay(where: str) -> None:
    if where == "kubernetes":
        env = _kubernetes_env()
    else:
        shared = _compose()["x-rolecall-env"]
        env = {key: _interpolate(str(value), {}) for key, value in shared.items()}
    settings = Settings.from_env(env)
    assert settings.outbox_relay == "process"
    assert not settings.sends_outbox_inline  # so web requests only write their outbox rows


def test_the_relay_variables_the_docs_name_are_the_ones_settings_reads() -> None:
    settings = Settings.from_env(
        {"ROLECALL_OUTBOX_RELAY": "inline", "ROLECALL_RELAY_INTERVAL_SECONDS": "0.5"}
    )
    assert settings.outbox_relay == "inline"
    assert settings.relay_interval_seconds == 0.5
    assert settings.sends_outbox_inline


def test_the_web_deployment_runs_the_procfile_web_command() -> None:
    _assert_is_procfile_command(_web_container()["command"], "web")


def test_the_procfile_names_the_app_and_one_queue_per_worker() -> None:
    processes = _procfile()
    assert list(processes) == list(APP_PROCESSES)
    assert processes["web"] == [
        "gunicorn",
        "--config",
        "deploy/gunicorn.conf.py",
        "service.app:create_app()",
    ]
    for process, queue in QUEUES.items():
        assert processes[process] == [
            "celery", "-A", "worker.celery_app", "worker",
            "--queues", queue, "--loglevel", "INFO",
        ]  # fmt: skip
    assert processes["beat"] == ["celery", "-A", "worker.celery_app", "beat", "--loglevel", "INFO"]
    assert processes["relay"] == ["rolecall", "relay"]


def test_every_task_is_routed_to_a_queue_that_a_worker_consumes() -> None:
    from worker.celery_app import make_celery

    app = make_celery(Settings(broker_url="memory://"))
    if not app.conf.task_queues:
        pytest.skip("worker.celery_app declares no queues yet (the queue split lands later)")
    app.conf.task_always_eager = False
    declared = {queue.name for queue in app.conf.task_queues}
    assert declared == set(QUEUES.values())
    names = sorted(name for name in app.tasks if name.startswith("rolecall."))
    assert names
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in app.amqp.queues.values():
            queue(channel).declare()
        for name in names:
            before = {queue: channel._size(queue) for queue in declared}
            app.send_task(name, kwargs={})
            grew = {queue for queue in declared if channel._size(queue) > before[queue]}
            assert len(grew) == 1, f"{name} landed on {grew or 'no consumed queue'}"


# --- compose -----------------------------------------------------------------------------


def test_compose_has_the_procfile_processes_plus_migrate_postgres_and_redis() -> None:
    services = _compose()["services"]
    assert set(services) == {*_procfile(), "migrate", "postgres", "redis"}
    for process in _procfile():
        _assert_is_procfile_command(services[process]["command"], process)
    assert services["migrate"]["command"] == ["rolecall", "db", "upgrade"]
    for process, queue in QUEUES.items():
        assert _option(services[process]["command"], "--queues") == queue


def test_compose_gives_every_rolecall_container_the_shared_environment() -> None:
    compose = _compose()
    shared = compose["x-rolecall-env"]
    images = set()
    for name in [*_procfile(), "migrate"]:
        service = compose["services"][name]
        assert shared.items() <= service["environment"].items(), name
        images.add(service["image"])
        assert service["build"]["context"] == ".."
        assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
    assert len(images) == 1


def test_compose_environment_is_a_valid_production_configuration() -> None:
    shared = _compose()["x-rolecall-env"]
    env = {key: _interpolate(str(value), {}) for key, value in shared.items()}
    assert env["ROLECALL_ENV"] == "production"
    assert env["ROLECALL_DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in env["ROLECALL_DATABASE_URL"]
    assert env["ROLECALL_REDIS_URL"].startswith("redis://redis:6379/")
    assert env["ROLECALL_BROKER_URL"].startswith("redis://redis:6379/")
    assert env["ROLECALL_REDIS_URL"] != env["ROLECALL_BROKER_URL"]
    Settings.from_env(env)


def test_compose_starts_processes_after_healthy_stores_and_a_finished_migration() -> None:
    services = _compose()["services"]
    healthy = {"condition": "service_healthy"}
    assert services["migrate"]["depends_on"] == {"postgres": healthy}
    assert services["migrate"]["restart"] == "no"
    for name in _procfile():
        assert services[name]["depends_on"] == {
            "postgres": healthy,
            "redis": healthy,
            "migrate": {"condition": "service_completed_successfully"},
        }, name


def test_compose_replaces_the_images_web_health_check_for_every_other_process() -> None:
    # The image's HEALTHCHECK asks :8000/healthz, which only web serves.
    services = _compose()["services"]
    for name in [*_procfile(), "migrate"]:
        if name == "web":
            continue
        check = services[name]["healthcheck"]
        assert check.get("disable") is True or "/healthz" not in " ".join(check["test"]), name


def test_compose_health_checks_ask_postgres_redis_and_web_readiness() -> None:
    services = _compose()["services"]
    assert services["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    web_check = services["web"]["healthcheck"]["test"]
    assert web_check[:2] == ["CMD", "python"]
    assert "/readyz" in " ".join(web_check)
    assert services["web"]["ports"] == ["${ROLECALL_HTTP_PORT:-8000}:8000"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert int(services["postgres"]["image"].split(":")[1].split("-")[0]) >= 15
    assert services["redis"]["image"].startswith("redis:7")


# --- Dockerfile --------------------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def _final_stage() -> list[tuple[str, str]]:
    instructions = _dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def test_the_image_is_multi_stage_on_python_3_11_slim() -> None:
    instructions = _dockerfile_instructions()
    assert any(k == "ARG" and v == "PYTHON_IMAGE=python:3.11-slim" for k, v in instructions)
    stages = [v for k, v in instructions if k == "FROM"]
    assert len(stages) >= 2
    assert all(stage.startswith("${PYTHON_IMAGE}") for stage in stages)
    assert any("pip wheel" in v for k, v in instructions if k == "RUN")


def test_the_image_runs_as_a_non_root_user() -> None:
    users = [v for k, v in _final_stage() if k == "USER"]
    assert users, "the final stage sets no USER, so it runs as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert user.isdigit(), "a numeric USER lets Kubernetes' runAsNonRoot verify it"
    pod_users = {spec["securityContext"]["runAsUser"] for spec in _pod_specs().values()}
    assert pod_users == {int(user)}


def test_the_image_default_command_is_the_procfile_web_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    final = _final_stage()
    cmd = [v for k, v in final if k == "CMD"]
    assert json.loads(cmd[-1]) == _procfile()["web"]
    assert [v for k, v in final if k == "EXPOSE"] == [str(_gunicorn_default_port(monkeypatch))]
    # The Procfile's relative config path exists in the image's working directory.
    workdir = [v for k, v in final if k == "WORKDIR"][-1]
    copies = [v.split() for k, v in final if k == "COPY"]
    assert ["deploy/gunicorn.conf.py", f"{workdir}/deploy/gunicorn.conf.py"] in copies


def test_the_image_checks_its_health_with_python_on_healthz() -> None:
    checks = [v for k, v in _final_stage() if k == "HEALTHCHECK"]
    assert len(checks) == 1
    assert '"python"' in checks[0]
    assert "/healthz" in checks[0]
    assert "curl" not in checks[0]


def test_the_image_installs_no_dev_dependencies() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "[dev]" not in text
    assert ".[" not in text


def test_dockerignore_keeps_local_state_out_and_the_build_inputs_in() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for needed in (".git", ".venv", ".pytest_cache", ".ruff_cache", "*.db", "**/__pycache__"):
        assert needed in patterns
    sources = ["pyproject.toml", "README.md"]
    for keyword, value in _dockerfile_instructions():
        if keyword == "COPY" and not value.startswith("--"):
            sources += value.split()[:-1]
    for source in sources:
        for pattern in patterns:
            assert not Path(source).match(pattern.removeprefix("**/")), (source, pattern)
            assert not source.startswith(pattern.rstrip("/") + "/"), (source, pattern)


# --- the docs ---------------------------------------------------------------------------


def test_the_deploy_readme_names_every_process_and_required_variable() -> None:
    readme = (DEPLOY / "README.md").read_text()
    for process in [*APP_PROCESSES, "migrate"]:
        assert process in readme
    for variable in (*REQUIRED_IN_PRODUCTION, *RELAY_VARIABLES):
        assert variable in readme
    for line in (ROOT / "Procfile").read_text().splitlines():
        assert line.split(":", 1)[1].strip() in readme, line


def test_the_top_level_readme_names_the_relay_process_and_its_variables() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "rolecall relay" in readme
    for variable in RELAY_VARIABLES:
        assert variable in readme


# --- the image builds (where a Docker engine answers) ------------------------------------


def _docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def test_the_image_builds() -> None:
    if not _docker_engine_answers():
        pytest.skip("no Docker engine on this machine")
    done = subprocess.run(
        ["docker", "build", "--tag", "rolecall:deploy-test", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    inspected = subprocess.run(
        ["docker", "image", "inspect", "rolecall:deploy-test", "--format", "{{json .Config}}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    config = json.loads(inspected.stdout)
    assert config["User"].split(":")[0] not in {"", "0", "root"}
    assert config["Cmd"] == _procfile()["web"]
    assert "8000/tcp" in config["ExposedPorts"]
