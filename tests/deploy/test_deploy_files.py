"""Static checks of deploy/: what cannot run in CI (Docker, Kubernetes, systemd) is read and held against
the code — every command and option is a real `passiton` command, every setting exists in
`bot/config.py` with a valid value, liveness probes hit `/livez` and readiness probes and health checks
`/readyz`, every process that runs the jobs exposes Prometheus metrics, the replicas are wired as
SCALING.md describes. Where a real tool is installed (`systemd-analyze`, `caddy`) it validates too.
"""

from __future__ import annotations

import http.server
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.deployfiles import (
    DEPLOY,
    FOREIGN_ENV,
    K8S,
    ROOT,
    SETTING_LIKE,
    SYSTEMD,
    InvocationError,
    check_invocation,
    compose,
    dockerfile_instructions,
    dockerfile_stages,
    env_keys,
    exec_form,
    k8s_object,
    k8s_objects,
    load_yaml_documents,
    option_value,
    passiton_invocations,
    pod_containers,
    secret_settings_names,
    settings_names,
    unit_entries,
    unit_environment,
    unit_values,
    yaml_files,
)

# The roles the issue names; each must be started by every target that runs that role.
REQUIRED_COMMANDS = {"run", "serve", "jobs", "db upgrade"}
# Written and checked by the Slack lane (tests/slack/test_manifest.py).
OTHER_LANES_FILES = {"deploy/slack-manifest.yml"}
SERVE_PORT = "3000"
IMAGE_UID = 10001


def _validate_settings(values: dict[str, str]) -> None:
    """Build Settings from these environment values alone (no .env), as the process would."""
    from bot.config import load_settings

    env = {k.lower(): v for k, v in values.items() if k in settings_names()}
    load_settings(_env_file=None, **env)


# -- every file --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_file_parses(path: Path) -> None:
    docs = load_yaml_documents(path)
    assert docs, f"{path} is empty"


def test_the_expected_files_exist() -> None:
    for rel in [
        "Dockerfile",
        "Dockerfile.dockerignore",
        "compose.yaml",
        "Caddyfile",
        "README.md",
        "SCALING.md",
        "k8s/kustomization.yaml",
        "k8s/migrate/kustomization.yaml",
        "systemd/passiton-run.service",
        "systemd/passiton-serve.service",
        "systemd/passiton-jobs.service",
    ]:
        assert (DEPLOY / rel).is_file(), rel


def test_every_command_a_deploy_file_runs_exists_with_its_options() -> None:
    seen: set[str] = set()
    failures = []
    for where, argv in passiton_invocations():
        try:
            seen.add(check_invocation(argv))
        except InvocationError as exc:
            failures.append(f"{where}: passiton {shlex.join(argv)}: {exc}")
    assert not failures, "\n".join(failures)
    assert seen >= REQUIRED_COMMANDS, f"no deploy file starts: {REQUIRED_COMMANDS - seen}"


def test_every_process_that_runs_jobs_exposes_metrics() -> None:
    """`jobs` (and `run`, which runs them in-process) serve Prometheus metrics in every recipe, on a port
    a scraper is told about: compose exposes it, Kubernetes names it and annotates the pod."""
    runs = [(where, argv) for where, argv in passiton_invocations() if argv and argv[0] in ("jobs", "run")]
    assert {argv[0] for _, argv in runs} == {"jobs", "run"}
    for where, argv in runs:
        assert "--metrics-port" in argv, f"{where}: passiton {shlex.join(argv)} serves no metrics"
        assert int(option_value(argv, "--metrics-port") or 0) > 0, where
    jobs = compose()["services"]["jobs"]
    assert option_value(jobs["command"], "--metrics-port") in [str(p) for p in jobs["expose"]]
    deployment = k8s_object("Deployment", "passiton-jobs")
    container = _container(deployment)
    port = option_value(container["args"], "--metrics-port")
    assert port in {str(p["containerPort"]) for p in container["ports"]}
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == port and annotations["prometheus.io/scrape"] == "true"


def test_the_invocation_check_rejects_what_the_cli_would() -> None:
    # The checker above is only worth something if it says no.
    with pytest.raises(InvocationError):
        check_invocation(["no-such-command"])
    with pytest.raises(InvocationError):
        check_invocation(["db", "upgrade", "--no-such-option"])
    with pytest.raises(InvocationError):
        check_invocation(["db"])
    assert check_invocation(["db", "upgrade"]) == "db upgrade"


def test_every_setting_like_name_in_deploy_files_is_a_setting() -> None:
    known = settings_names()
    unknown: dict[str, str] = {}
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file():
            for name in SETTING_LIKE.findall(path.read_text()):
                if name not in known:
                    unknown.setdefault(name, str(path.relative_to(DEPLOY)))
    assert not unknown, f"not in bot/config.py Settings: {unknown}"


def test_deploy_docs_point_at_files_that_exist() -> None:
    for doc in ("README.md", "SCALING.md"):
        text = (DEPLOY / doc).read_text()
        for rel in set(re.findall(r"(?<![\w/.])deploy/[\w./*-]*[\w/*]", text)) - OTHER_LANES_FILES:
            assert any(ROOT.glob(rel)), f"{doc} names {rel}, which does not exist"


# -- Dockerfile --------------------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_slim_python_311() -> None:
    _, stages = dockerfile_stages(DEPLOY / "Dockerfile")
    assert len(stages) >= 2
    for stage in stages:
        assert re.fullmatch(r"python:3\.11-slim(-\w+)?", stage.base), stage.base
    build, runtime = stages[0], stages[-1]
    assert any(f"--from={build.name}" in c for c in runtime.all("COPY")), "runtime copies the build's venv"
    # psycopg comes through the postgres extra, which requirements.lock includes (checked below).
    assert any("requirements.lock" in r for r in build.all("RUN")), "the build installs the runtime lock"


def test_dockerfile_runs_the_console_script_as_a_non_root_user() -> None:
    _, stages = dockerfile_stages(DEPLOY / "Dockerfile")
    runtime = stages[-1]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert exec_form(runtime.last("ENTRYPOINT") or "") == ["passiton"]
    assert "passiton" in scripts
    user = (runtime.last("USER") or "root").split(":")[0]
    assert user not in {"root", "0"}
    assert int(user) == IMAGE_UID, "k8s runAsUser and the image's user must agree"
    assert any(f"--uid {IMAGE_UID}" in r for r in runtime.all("RUN"))
    cmd = exec_form(runtime.last("CMD") or "")
    assert cmd[0] == "serve" and option_value(cmd, "--port") == SERVE_PORT
    assert option_value(cmd, "--host") == "0.0.0.0", "a container must listen beyond its own loopback"
    assert any(e.split()[0] == SERVE_PORT for e in runtime.all("EXPOSE"))


def test_dockerfile_environment_is_known_and_keeps_the_model_offline() -> None:
    _, stages = dockerfile_stages(DEPLOY / "Dockerfile")
    names = [k for stage in stages for value in stage.all("ENV") for k in env_keys(value)]
    assert set(names) <= settings_names() | FOREIGN_ENV, set(names) - settings_names() - FOREIGN_ENV
    runtime_env = " ".join(stages[-1].all("ENV"))
    assert re.search(r"\bHF_HUB_OFFLINE=1\b", runtime_env)


def _build_snippets() -> list[str]:
    """The `python -c "..."` programs the Dockerfile runs at build time, as the shell would pass them."""
    snippets = []
    for ins in dockerfile_instructions(DEPLOY / "Dockerfile"):
        if ins.keyword == "RUN":
            for match in re.finditer(r'python -c ("(?:[^"\\]|\\.)*")', ins.value):
                snippets.append(shlex.split(match.group(1))[0])
    return snippets


def _lock(name: str) -> dict[str, str]:
    """A lock file as {canonical name: version}; every line must pin one version."""
    from packaging.utils import canonicalize_name

    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        package, sep, version = line.partition("==")
        assert sep and version and not any(c in version for c in "<>=,; *"), f"{name}: not pinned: {line}"
        pins[canonicalize_name(package)] = version
    return pins


def _requirements(*extras: str) -> list[Any]:
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] + [r for e in extras for r in project["optional-dependencies"][e]]
    return [Requirement(line) for line in lines]


@pytest.mark.parametrize(
    ("lock", "extras"), [("requirements.lock", ("postgres",)), ("requirements-dev.lock", ("postgres", "dev"))]
)
def test_lock_files_pin_every_dependency_within_pyprojects_ranges(lock: str, extras: tuple[str, ...]) -> None:
    from packaging.utils import canonicalize_name

    pins = _lock(lock)
    for req in _requirements(*extras):
        name = canonicalize_name(req.name)
        assert name in pins, f"{lock} lacks {req.name}"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{lock}: {name}=={pins[name]} not in {req}"
        )
    assert "passiton" not in pins


def test_dev_lock_has_the_runtime_lock_exactly_and_pyproject_pins_the_fragile_ones() -> None:
    runtime, dev = _lock("requirements.lock"), _lock("requirements-dev.lock")
    assert {n: dev.get(n) for n in runtime} == runtime, "tests must run on the versions the image ships"
    specs = {str(r.name).lower(): str(r.specifier) for r in _requirements()}
    assert specs["wordllama"].startswith("=="), "the embedding model's package is pinned exactly"
    lower, upper = sorted(specs["sqlalchemy"].split(","), key=lambda s: s[0] != ">")
    assert lower.startswith(">=") and upper.startswith("<"), specs["sqlalchemy"]
    low, high = lower[2:].split("."), upper[1:].split(".")
    assert (int(high[0]), int(high[1])) == (int(low[0]), int(low[1]) + 1), (
        "SQLAlchemy held to one minor version"
    )


def test_image_and_ci_install_from_the_locks_and_resolve_nothing_else() -> None:
    runs = " ".join(v for stage in dockerfile_stages(DEPLOY / "Dockerfile")[1] for v in stage.all("RUN"))
    assert "pip install -r requirements.lock" in runs
    assert re.search(r"pip install --no-deps \.(\s|$)", runs), "passiton itself must not pull unpinned deps"
    assert "pip check" in runs
    installs = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if "pip install" in line]
    assert any("-r requirements-dev.lock" in line for line in installs), installs
    assert all("--no-deps" in line or "-r requirements-dev.lock" in line or "--upgrade pip" in line
               for line in installs), installs  # fmt: skip


def test_dockerfile_model_check_loads_the_baked_model_without_the_hub() -> None:
    check = next(s for s in _build_snippets() if "LocalEmbedder" in s)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": "/nonexistent"}
    subprocess.run([sys.executable, "-c", check], cwd="/", env=env, check=True, timeout=120)


def test_dockerignore_keeps_what_the_build_copies() -> None:
    patterns = [
        line.strip()
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "start from nothing, re-include what the image needs"
    included = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    _, stages = dockerfile_stages(DEPLOY / "Dockerfile")
    copied = set()
    for stage in stages:
        for value in stage.all("COPY"):
            if "--from=" not in value:
                copied.update(value.split()[:-1])
    assert copied <= included, copied - included
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["readme"] in copied


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/readyz" else 404)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[tuple[http.server.HTTPServer, type[_Health]]]:
    handler = type("Handler", (_Health,), {"status": 200})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, handler
    server.shutdown()
    server.server_close()


def test_image_healthcheck_runs_and_tells_healthy_from_unhealthy(
    health_server: tuple[http.server.HTTPServer, type[_Health]],
) -> None:
    server, handler = health_server
    value = next(
        i.value for i in dockerfile_instructions(DEPLOY / "Dockerfile") if i.keyword == "HEALTHCHECK"
    )
    argv = exec_form(value[value.index("CMD") + 3 :].strip())
    assert argv[0] == "python" and "/readyz" in argv[-1]
    assert f"127.0.0.1:{SERVE_PORT}/" in argv[-1]
    port = server.server_address[1]
    argv = [sys.executable, *argv[1:-1], argv[-1].replace(f":{SERVE_PORT}/", f":{port}/")]

    assert subprocess.run(argv, capture_output=True, timeout=30).returncode == 0
    handler.status = 503
    assert subprocess.run(argv, capture_output=True, timeout=30).returncode == 1
    server.shutdown()
    server.server_close()
    # Docker reserves exit code 2; a refused connection must still read as "unhealthy" (1).
    assert subprocess.run(argv, capture_output=True, timeout=30).returncode == 1


# -- compose -----------------------------------------------------------------------------------------


def _passiton_services() -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose()["services"].items() if s.get("image", "").startswith("passiton")}


def test_compose_has_postgres_migration_two_serve_two_jobs_and_a_proxy() -> None:
    services = compose()["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert "test" in services["postgres"]["healthcheck"]
    migrate = services["migrate"]
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["serve"]["command"][0] == "serve"
    assert services["serve"]["deploy"]["replicas"] == 2
    assert services["jobs"]["command"][0] == "jobs"
    assert services["jobs"]["deploy"]["replicas"] == 2
    assert services["jobs"]["healthcheck"] == {"disable": True}, "jobs serves no /readyz"
    # The proxy waits for serve to be ready: the process and its database answer.
    serve_check = services["serve"]["healthcheck"]["test"]
    assert serve_check[0] == "CMD" and f"127.0.0.1:{SERVE_PORT}/readyz" in serve_check[-1]
    for name in ("serve", "jobs"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    proxy = services["proxy"]
    assert proxy["depends_on"]["serve"]["condition"] == "service_healthy"


def test_compose_passiton_services_share_the_image_env_and_database() -> None:
    services = _passiton_services()
    assert set(services) == {"migrate", "serve", "jobs"}
    for name, service in services.items():
        assert service["build"]["context"] == "..", name
        assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
        env_file = DEPLOY / service["env_file"]
        assert env_file.parent.resolve() == ROOT and (ROOT / ".env.example").is_file()
        url = service["environment"]["DATABASE_URL"]
        assert url.startswith("postgresql://") and "@postgres:5432/" in url, name
        assert service.get("init") is True, "PID 1 must forward SIGTERM"
        assert service.get("read_only") is True and service.get("cap_drop") == ["ALL"]
        assert set(service["environment"]) <= settings_names()
        _validate_settings({k: re.sub(r"\$\{[^}]*\}", "pw", v) for k, v in service["environment"].items()})


def test_compose_interpolates_only_known_variables() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    names = set(re.findall(r"\$\{(\w+)", text))
    assert names, "expected ${POSTGRES_PASSWORD}"
    assert names <= settings_names() | FOREIGN_ENV, names - settings_names() - FOREIGN_ENV
    assert set(compose()["services"]["postgres"]["environment"]) <= FOREIGN_ENV


def _caddy_site() -> tuple[str, str, str, str]:
    """(listen port, upstream DNS name, upstream port, raw text) of the Caddyfile."""
    text = (DEPLOY / "Caddyfile").read_text()
    listen = re.search(r"^:(\d+) \{", text, re.M)
    dynamic = re.search(r"dynamic a \{\s*name (\S+)\s*port (\d+)", text)
    assert listen and dynamic
    return listen.group(1), dynamic.group(1), dynamic.group(2), text


def test_proxy_balances_over_the_serve_replicas_it_is_wired_to() -> None:
    listen, upstream, upstream_port, text = _caddy_site()
    services = compose()["services"]
    assert upstream == "serve" and upstream in services
    assert option_value(services["serve"]["command"], "--port") == upstream_port
    assert any(p.endswith(f":{listen}") for p in services["proxy"]["ports"])
    mount = next(v for v in services["proxy"]["volumes"] if "Caddyfile" in v)
    assert (DEPLOY / mount.split(":")[0]).resolve() == DEPLOY / "Caddyfile"
    assert "lb_try_duration" in text, "a replica that is down must not fail the request"


@pytest.mark.skipif(shutil.which("caddy") is None, reason="caddy is not installed")
def test_caddyfile_is_valid_for_caddy() -> None:
    result = subprocess.run(
        ["caddy", "adapt", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile", "--validate"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert '"source":"a"' in result.stdout and '"name":"serve"' in result.stdout


# -- Kubernetes --------------------------------------------------------------------------------------


def test_every_k8s_object_is_well_formed_and_in_the_namespace() -> None:
    objects = k8s_objects()
    assert objects
    for path, doc in objects:
        assert {"apiVersion", "kind", "metadata"} <= set(doc), path
        assert doc["metadata"]["name"], path
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "passiton", path


def test_kustomizations_list_existing_files_and_leave_out_only_the_templates() -> None:
    main = load_yaml_documents(K8S / "kustomization.yaml")[0]
    listed = set(main["resources"])
    for rel in listed:
        assert (K8S / rel).is_file(), rel
    top_level = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    # The Secret template must never overwrite real credentials; the Ingress needs a host first.
    assert top_level - listed == {"secret.yaml", "ingress.yaml"}
    migrate = load_yaml_documents(K8S / "migrate" / "kustomization.yaml")[0]
    assert migrate["resources"] == ["job.yaml"]
    assert migrate["images"] == main["images"], "the migration must run the release being rolled out"
    assert {i["name"] for i in main["images"]} == {"passiton"}


def _labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _container(doc: dict[str, Any]) -> dict[str, Any]:
    containers = pod_containers(doc)
    assert len(containers) == 1
    return containers[0]


def _check_pod_hardening(doc: dict[str, Any]) -> None:
    pod = doc["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == IMAGE_UID
    assert pod["automountServiceAccountToken"] is False
    container = _container(doc)
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert any(m["mountPath"] == "/tmp" for m in container["volumeMounts"]), "read-only root needs /tmp"
    refs = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
    assert refs == {"passiton"}
    k8s_object("ConfigMap", "passiton")
    k8s_object("Secret", "passiton")


def test_serve_deployment_probes_livez_and_readyz_on_its_port() -> None:
    serve = k8s_object("Deployment", "passiton-serve")
    _check_pod_hardening(serve)
    container = _container(serve)
    assert container["args"][0] == "serve"
    port = option_value(container["args"], "--port")
    ports = {p["name"]: str(p["containerPort"]) for p in container["ports"]}
    # A database outage must take pods out of the Service (readiness), not restart them all (liveness).
    paths = {"readinessProbe": "/readyz", "livenessProbe": "/livez", "startupProbe": "/livez"}
    for probe, path in paths.items():
        get = container[probe]["httpGet"]
        assert get["path"] == path, probe
        assert ports.get(get["port"], str(get["port"])) == port, probe
    assert "cpu" in container["resources"]["requests"], "the HPA scales on CPU utilisation of requests"
    assert _labels_match(
        serve["spec"]["selector"]["matchLabels"], serve["spec"]["template"]["metadata"]["labels"]
    )


def test_hpa_scales_the_serve_deployment() -> None:
    hpas = [doc for _, doc in k8s_objects() if doc["kind"] == "HorizontalPodAutoscaler"]
    assert len(hpas) == 1
    hpa = hpas[0]
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "passiton-serve")
    k8s_object("Deployment", target["name"])
    assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


def test_service_pdb_and_ingress_reach_the_serve_pods() -> None:
    serve = k8s_object("Deployment", "passiton-serve")
    labels = serve["spec"]["template"]["metadata"]["labels"]
    service = k8s_object("Service", "passiton-serve")
    assert _labels_match(service["spec"]["selector"], labels)
    port_names = {p["name"] for p in _container(serve)["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names
    pdb = k8s_object("PodDisruptionBudget", "passiton-serve")
    assert _labels_match(pdb["spec"]["selector"]["matchLabels"], labels)
    ingress = k8s_object("Ingress", "passiton")
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == service["metadata"]["name"]
            assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}


def test_jobs_deployment_runs_two_replicas_relying_on_leader_election() -> None:
    jobs = k8s_object("Deployment", "passiton-jobs")
    _check_pod_hardening(jobs)
    assert jobs["spec"]["replicas"] == 2
    assert _container(jobs)["args"][0] == "jobs"
    assert _labels_match(
        jobs["spec"]["selector"]["matchLabels"], jobs["spec"]["template"]["metadata"]["labels"]
    )
    # The HPA must never scale the scheduler: leader election wants a fixed, small standby set.
    hpa = next(doc for _, doc in k8s_objects() if doc["kind"] == "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] != "passiton-jobs"


def test_migration_job_upgrades_the_schema_once() -> None:
    job = k8s_object("Job", "passiton-migrate")
    container = _container(job)
    assert container["args"] == ["db", "upgrade"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] >= 1


def test_configmap_and_secret_hold_only_settings_and_secrets_stay_out_of_the_configmap() -> None:
    known, secret = settings_names(), secret_settings_names()
    configmap = k8s_object("ConfigMap", "passiton")["data"]
    assert set(configmap) <= known, set(configmap) - known
    assert not set(configmap) & (secret | {"DATABASE_URL", "SMTP_URL"}), "credentials belong in the Secret"
    assert all(isinstance(v, str) for v in configmap.values()), "ConfigMap values must be strings"
    secret_doc = k8s_object("Secret", "passiton")
    keys = set(secret_doc["stringData"])
    commented = set(re.findall(r"^\s+#\s*([A-Z][A-Z0-9_]+):", (K8S / "secret.yaml").read_text(), re.M))
    assert keys | commented <= known, (keys | commented) - known
    assert {"DATABASE_URL", "SLACK_SIGNING_SECRET"} <= keys
    _validate_settings({**configmap, **secret_doc["stringData"]})


def test_configmap_values_are_checked_by_the_settings_validation() -> None:
    # _validate_settings must reject what passiton would reject, or the test above proves nothing.
    from bot.config import SettingsError

    with pytest.raises(SettingsError):
        _validate_settings({"PASSITON_LOG_LEVEL": "LOUD"})


# -- systemd -----------------------------------------------------------------------------------------

HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictNamespaces": "yes",
    "LockPersonality": "yes",
    "CapabilityBoundingSet": "",
}


@pytest.mark.parametrize("unit", sorted(SYSTEMD.glob("*.service")), ids=lambda p: p.name)
def test_systemd_unit_is_hardened_and_reads_its_environment_file(unit: Path) -> None:
    entries = unit_entries(unit)
    sections = {s for s, _, _ in entries}
    assert sections == {"Unit", "Service", "Install"}
    for key, value in HARDENING.items():
        assert unit_values(unit, key) == [value], f"{unit.name}: {key}"
    assert unit_values(unit, "DynamicUser") == ["yes"] or unit_values(unit, "User")
    assert unit_values(unit, "EnvironmentFile") == ["/etc/passiton/passiton.env"]
    env = unit_environment(unit)
    assert set(env) <= settings_names() | FOREIGN_ENV, set(env) - settings_names() - FOREIGN_ENV
    _validate_settings(env)
    assert unit_values(unit, "WantedBy", "Install") == ["multi-user.target"]


def test_systemd_scaled_out_units_wait_for_the_migration() -> None:
    migrate = SYSTEMD / "passiton-migrate.service"
    assert unit_values(migrate, "Type") == ["oneshot"] and unit_values(migrate, "RemainAfterExit") == ["yes"]
    for name in ("passiton-serve.service", "passiton-jobs.service"):
        unit = SYSTEMD / name
        assert "passiton-migrate.service" in unit_values(unit, "Requires", "Unit")[0].split()
        assert "passiton-migrate.service" in unit_values(unit, "After", "Unit")[0].split()
        assert not unit_values(unit, "StateDirectory"), "scaled-out processes keep no local state"
    serve_argv = shlex.split(unit_values(SYSTEMD / "passiton-serve.service", "ExecStart")[0])
    assert option_value(serve_argv, "--host") == "127.0.0.1", "behind a local TLS proxy, not exposed"
    run = SYSTEMD / "passiton-run.service"
    assert unit_environment(run)["DATABASE_URL"].startswith("sqlite:////var/lib/passiton/")
    assert unit_values(run, "StateDirectory") == ["passiton"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify insists that ExecStart's binary exists; point copies of the units at a stand-in.
    stub = tmp_path / "passiton"
    stub.write_text("#!/bin/sh\n")
    stub.chmod(0o755)
    copies = []
    for unit in sorted(SYSTEMD.glob("*.service")):
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text().replace("/opt/passiton/bin/passiton", str(stub)))
        copies.append(str(copy))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *copies], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_scaling_notes_quote_the_benchmarks_that_produced_their_numbers() -> None:
    text = (DEPLOY / "SCALING.md").read_text()
    commands = re.findall(r"^\s+\.venv/bin/python (bench/\S+\.py)", text, re.M)
    assert {"bench/scale_out.py", "bench/ack_latency.py"} <= set(commands)
    for rel in commands:
        assert (ROOT / rel).is_file(), rel
    assert re.search(r"\| 1 \| [\d.]+ \|", text), "the measured table is missing"
