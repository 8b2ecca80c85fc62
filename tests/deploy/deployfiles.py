"""Readers for the deploy files (Dockerfile, compose, Kubernetes, systemd, Caddyfile) and the CLI they call.

Containers, clusters and systemd cannot run in CI, so the tests read these files the way the tools would
and hold what they name against the code: the `passiton` commands and options, the settings in
`bot/config.py`, the image's user and health check.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
SYSTEMD = DEPLOY / "systemd"

# Variables deploy files may name that are not passiton settings: the PostgreSQL image's own, and the
# interpreter/runtime knobs the image sets.
FOREIGN_ENV = {
    "POSTGRES_PASSWORD",
    "POSTGRES_USER",
    "POSTGRES_DB",
    "PATH",
    "HOME",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "HF_HUB_OFFLINE",
    "PIP_NO_CACHE_DIR",
    "PIP_DISABLE_PIP_VERSION_CHECK",
}

# Anything spelled like one of passiton's own settings, wherever it appears (prose included).
SETTING_LIKE = re.compile(r"\b(?:PASSITON|SLACK|OPENAI|SMTP|EMAIL|DATABASE|PUBLIC)_[A-Z0-9_]*[A-Z0-9]\b")


def settings_names() -> set[str]:
    from bot.config import Settings

    return {name.upper() for name in Settings.model_fields}


def secret_settings_names() -> set[str]:
    from pydantic import SecretStr

    from bot.config import Settings

    names = set()
    for name, info in Settings.model_fields.items():
        if "SecretStr" in repr(info.annotation) or info.annotation is SecretStr:
            names.add(name.upper())
    return names


# -- the CLI -----------------------------------------------------------------------------------------


class InvocationError(Exception):
    """`passiton <argv>` would stop at start-up: unknown command, unknown option or bad value."""


def _is_group(command: Any) -> bool:
    # Typer vendors click in recent releases, so test the shape rather than click's classes.
    return hasattr(command, "list_commands") and hasattr(command, "get_command")


def cli_root() -> Any:
    from bot.cli import app

    return typer.main.get_command(app)


def check_invocation(argv: list[str]) -> str:
    """Resolve `passiton <argv>` down to a leaf command and parse its options the way the CLI would.

    Returns the command path (e.g. "db upgrade"); raises InvocationError for an unknown command, an
    unknown option or a bad value, exactly where the real process would stop at start-up.
    """
    command = cli_root()
    path: list[str] = []
    args = list(argv)
    while _is_group(command) and args and not args[0].startswith("-"):
        name = args.pop(0)
        ctx = command.make_context(" ".join(["passiton", *path]), [], resilient_parsing=True)
        sub = command.get_command(ctx, name)
        if sub is None:
            raise InvocationError(f"no such command: passiton {' '.join([*path, name])}")
        command, path = sub, [*path, name]
    if _is_group(command) and not args and not getattr(command, "invoke_without_command", False):
        raise InvocationError(f"`passiton {' '.join(path)}` is a group, not a command")
    if args in (["--help"], ["-h"]):
        return " ".join(path)
    try:
        command.make_context(" ".join(["passiton", *path]), args)
    except Exception as exc:
        message = exc.format_message() if hasattr(exc, "format_message") else repr(exc)
        raise InvocationError(f"passiton {' '.join(path)}: {message}") from exc
    return " ".join(path)


def option_value(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


# -- Dockerfile --------------------------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    value: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.value for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> str | None:
        found = self.all(keyword)
        return found[-1] if found else None


def dockerfile_instructions(path: Path) -> list[Instruction]:
    """Instructions with comments dropped and backslash continuations joined, as BuildKit reads them."""
    out: list[Instruction] = []
    pending = ""
    for raw in path.read_text().splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are dropped
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1]
            continue
        line = (pending + raw).strip()
        pending = ""
        keyword, _, value = line.partition(" ")
        out.append(Instruction(keyword.upper(), value.strip()))
    assert not pending, "Dockerfile ends inside a continued line"
    return out


def dockerfile_stages(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the build stages."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for ins in dockerfile_instructions(path):
        if ins.keyword == "FROM":
            parts = ins.value.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), parts[0])
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base, name))
        elif not stages:
            if ins.keyword == "ARG" and "=" in ins.value:
                key, _, default = ins.value.partition("=")
                args[key.strip()] = default.strip()
        else:
            stages[-1].instructions.append(ins)
    return args, stages


def env_keys(instruction_value: str) -> list[str]:
    """Names set by an ENV instruction (`ENV A=1 B=2` or the legacy `ENV A 1`)."""
    tokens = shlex.split(instruction_value, posix=True)
    if tokens and "=" not in tokens[0]:
        return [tokens[0]]
    return [t.split("=", 1)[0] for t in tokens]


def exec_form(value: str) -> list[str]:
    """The JSON array of an exec-form CMD/ENTRYPOINT/HEALTHCHECK CMD; fails on shell form."""
    import json

    parsed = json.loads(value)
    assert isinstance(parsed, list) and all(isinstance(x, str) for x in parsed), value
    return parsed


# -- YAML --------------------------------------------------------------------------------------------


def yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in {".yaml", ".yml"})


def load_yaml_documents(path: Path) -> list[Any]:
    with path.open() as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc is not None]


def compose() -> dict[str, Any]:
    docs = load_yaml_documents(DEPLOY / "compose.yaml")
    assert len(docs) == 1
    doc: dict[str, Any] = docs[0]
    return doc


def k8s_objects() -> list[tuple[Path, dict[str, Any]]]:
    out: list[tuple[Path, dict[str, Any]]] = []
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        out.extend((path, doc) for doc in load_yaml_documents(path))
    return out


def k8s_object(kind: str, name: str) -> dict[str, Any]:
    found = [doc for _, doc in k8s_objects() if doc.get("kind") == kind and doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def pod_containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec", {}) or spec.get("jobTemplate", {}).get("spec", {}).get(
        "template", {}
    ).get("spec", {})
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


# -- systemd -----------------------------------------------------------------------------------------


def unit_entries(path: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) in file order; systemd allows a key more than once, so no dict."""
    section = ""
    entries: list[tuple[str, str, str]] = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not a key=value line: {raw!r}"
        entries.append((section, key.strip(), value.strip()))
    return entries


def unit_values(path: Path, key: str, section: str = "Service") -> list[str]:
    return [v for s, k, v in unit_entries(path) if s == section and k == key]


def unit_environment(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for value in unit_values(path, "Environment"):
        for assignment in shlex.split(value):
            key, _, val = assignment.partition("=")
            env[key] = val
    return env


# -- invocations of passiton across every target --------------------------------------------------------


def passiton_invocations() -> Iterator[tuple[str, list[str]]]:
    """(where, argv after `passiton`) for every place a deploy file starts passiton."""
    _, stages = dockerfile_stages(DEPLOY / "Dockerfile")
    final = stages[-1]
    entrypoint = exec_form(final.last("ENTRYPOINT") or "[]")
    cmd = exec_form(final.last("CMD") or "[]")
    yield "Dockerfile CMD", cmd
    for stage in stages:
        for run in stage.all("RUN"):
            for match in re.finditer(r"/opt/passiton/bin/passiton((?: [\w-]+)*)", run):
                yield "Dockerfile RUN", match.group(1).split()
    assert entrypoint == ["passiton"], entrypoint

    for name, service in compose()["services"].items():
        if service.get("image", "").startswith("passiton"):
            yield f"compose service {name}", list(service["command"])

    for path, doc in k8s_objects():
        for container in pod_containers(doc):
            if container.get("image", "").split(":")[0].split("/")[-1] == "passiton":
                assert "command" not in container, "keep the image's ENTRYPOINT; set args only"
                yield f"{path.relative_to(DEPLOY)} {container['name']}", list(container["args"])

    for unit in sorted(SYSTEMD.glob("*.service")):
        for key in ("ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop"):
            for value in unit_values(unit, key):
                argv = shlex.split(value.lstrip("-@+!:"))
                if argv and argv[0].endswith("/passiton"):
                    yield f"{unit.name} {key}", argv[1:]
