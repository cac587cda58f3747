"""The app factory, health, metrics and the OpenAPI document, in process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from server import migrate
from server.app import create_app
from server.db import Database
from server.demo.seed import seed
from server.settings import DatabaseSettings, ServerSettings


@pytest.fixture
def client(sqlite_db: Database) -> Iterator[TestClient]:
    seed(sqlite_db)
    settings = ServerSettings(demo=True, database=DatabaseSettings(url=sqlite_db.url))
    with TestClient(create_app(settings, sqlite_db)) as test_client:
        yield test_client


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "database": "sqlite"}


def test_ready_reports_missing_schema(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/empty.db")
    settings = ServerSettings(demo=True, database=DatabaseSettings(url=db.url))
    with TestClient(create_app(settings, db)) as c:
        response = c.get("/readyz")
    assert response.status_code == 503
    assert "thuvien db upgrade" in response.json()["reason"]
    migrate.upgrade(db)
    db.dispose()


def test_openapi_document_loads(client: TestClient) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["info"]["title"] == "thuvien-rfid"
    assert "/api/v1/libraries" in doc["paths"]
    assert client.get("/api/v1/docs").status_code == 200


def test_items_by_barcode_and_tag(client: TestClient) -> None:
    item = client.get("/api/v1/items/3000000006").json()
    assert item["set_parts_total"] == 2
    by_tag = client.get(f"/api/v1/items/by-tag/{item['tag_uids'][1].lower()}").json()
    assert by_tag["barcode"] == "3000000006"
    missing = client.get("/api/v1/items/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_metrics_count_requests(client: TestClient) -> None:
    client.get("/healthz")
    client.get("/sru", params={"query": "kieu"})
    client.post("/oai", data={"verb": "Identify"})
    client.get("/nowhere")
    text = client.get("/metrics").text
    assert 'thuvien_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert 'thuvien_http_requests_total{method="GET",route="/sru",status="200"}' in text
    assert 'thuvien_http_requests_total{method="POST",route="/oai",status="200"}' in text
    assert 'thuvien_http_requests_total{method="GET",route="unmatched",status="404"}' in text


def test_cli_help_and_version() -> None:
    run = [sys.executable, "-m", "edge.cli"]
    out = subprocess.run([*run, "--help"], capture_output=True, text=True, check=True).stdout
    assert "thuvien demo" not in out or "demo" in out
    assert "server" in out and "kiosk" in out
    version = subprocess.run([*run, "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("thuvien-rfid ")
    bad = subprocess.run([*run, "frobnicate"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown command" in bad.stderr


def test_cli_imports_only_its_package() -> None:
    """`thuvien tag --help` must not import the server (a gate PC has no server dependencies)."""
    code = (
        "import sys, edge.cli\n"
        "try:\n    edge.cli.main(['tag', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {'server','fastapi','sqlalchemy'})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json\n" + code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []


def test_bad_settings_file_is_one_sentence(tmp_path: object) -> None:
    path = f"{tmp_path}/bad.toml"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("[http]\nport = 'x'\n")
    result = subprocess.run(
        [sys.executable, "-m", "edge.cli", "server", "--config", path], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "http.port" in result.stderr


def _server(config: str, tmp_path: object) -> subprocess.CompletedProcess[str]:
    path = f"{tmp_path}/server.toml"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('secret_key = "a-long-random-production-secret-0123456789"\n' + config)
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", "server", "--config", path, "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.postgres
def test_missing_postgresql_database_is_one_sentence(tmp_path: object) -> None:
    from tests.conftest import PG_ADMIN_URL, _pg_available
    from tests.support import require

    require(_pg_available(), "PostgreSQL at 127.0.0.1:5432")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/thuvien_no_such_database"
    result = _server(f'[database]\nurl = "{url}"\n', tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "does not exist" in result.stderr and "createdb" in result.stderr


def test_unmigrated_database_is_one_sentence(tmp_path: object) -> None:
    result = _server(f'[database]\nurl = "sqlite:///{tmp_path}/fresh.db"\n', tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "thuvien db upgrade" in result.stderr
