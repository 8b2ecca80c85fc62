from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_are_the_embedded_ones(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    s = load_settings()
    assert s.database_url == "sqlite:///./passiton.db"
    assert s.passiton_embedder == "local"
    assert s.slack_api_url == "https://slack.com/api/"


def test_postgres_url_gets_the_shipped_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    assert load_settings().database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://x"),
        ("PASSITON_EMBEDDER", "bert"),
        ("SMTP_URL", "http://mail"),
        ("PASSITON_SHARE_PER_DAY", "many"),
        ("SLACK_API_URL", "slack.com/api"),
    ],
)
def test_malformed_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert name in message and "\n" not in message


def test_env_example_documents_every_setting() -> None:
    text = (ROOT / ".env.example").read_text()
    documented = {
        line.split("=", 1)[0].strip()
        for line in text.splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert {name.upper() for name in Settings.model_fields} <= documented
    # and documents nothing that does not exist
    assert documented <= {name.upper() for name in Settings.model_fields}


def test_cli_reports_bad_setting_and_exits_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "upgrade"],
        env={"DATABASE_URL": "oracle://x", "PATH": "/usr/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "passiton: setting DATABASE_URL: Value error, must start with sqlite:// or postgresql://"
    ]


def test_cli_db_upgrade_creates_schema(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "upgrade"],
        env={"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "PATH": "/usr/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "x.db").exists()


def test_readme_lists_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in readme]
    assert missing == [], f"README's settings table lacks {missing}"
