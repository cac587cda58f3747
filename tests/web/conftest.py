"""Fixtures of the staff-web tests: a seeded app behind FastAPI's TestClient, and a real ``thuvien server``
on PostgreSQL with Chromium driven by Playwright."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server import migrate
from server.app import create_app
from server.db import Database
from server.demo.seed import seed
from server.settings import ServerSettings
from tests.conftest import fresh_pg_database
from tests.support import free_port, port_open, require, wait_for

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
CHROMIUM = "/usr/bin/chromium"
SECRET = "test-secret-" + "x" * 24
PREFIX_TOPIC = "w" + secrets.token_hex(4)  # a topic prefix of this run alone on the shared broker


@dataclass
class Seeded:
    db: Database
    settings: ServerSettings


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """The demo data on SQLite, once per test session (tests may add to it, never rely on its absence)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}"
    db = Database(url)
    migrate.upgrade(db)
    seed(db)
    settings = ServerSettings(secret_key=SECRET, database={"url": url}, http={"public_url": "https://testserver"})
    yield Seeded(db, settings)
    db.dispose()


def login(client: TestClient, username: str, password: str) -> TestClient:
    page = client.get("/web/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text
    response = client.post("/web/login", data={"username": username, "password": password,
                                                "csrf": token.group(1), "next": "/web/"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def csrf_of(client: TestClient, path: str = "/web/") -> str:
    page = client.get(path)
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


@pytest.fixture
def client(seeded: Seeded) -> Iterator[TestClient]:
    app = create_app(seeded.settings, seeded.db)
    with TestClient(app, base_url="https://testserver") as test_client:
        yield test_client


_signed_in: dict[str, str] = {}


def signed_in(client: TestClient, username: str, password: str) -> TestClient:
    """``client`` with a session cookie of ``username`` (one real login per test session; argon2 is slow)."""
    from server.web.core import COOKIE

    if username not in _signed_in:
        login(client, username, password)
        _signed_in[username] = client.cookies[COOKIE]
    client.cookies.set(COOKIE, _signed_in[username])
    return client


@pytest.fixture
def as_admin(client: TestClient) -> TestClient:
    return signed_in(client, "admin", "thuvien-admin")


@pytest.fixture
def as_district(client: TestClient) -> TestClient:
    return signed_in(client, "thuthu.gialoc", "thuthu-gialoc")


@dataclass
class LiveServer:
    base: str
    db: Database
    process: subprocess.Popen[str]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``thuvien server`` as a real process on a fresh, seeded PostgreSQL database, ingesting from Mosquitto."""
    require(port_open("127.0.0.1", 1883), "Mosquitto at 127.0.0.1:1883")
    with fresh_pg_database("web") as url:
        db = Database(url)
        migrate.upgrade(db)
        seed(db)
        port = free_port()
        log_path = tmp_path_factory.mktemp("server") / "server.log"
        env = {
            **os.environ,
            "THUVIEN_DATABASE__URL": url,
            "THUVIEN_SECRET_KEY": SECRET,
            "THUVIEN_HTTP__PUBLIC_URL": f"http://127.0.0.1:{port}",
            "THUVIEN_SIP2__ENABLED": "false",
            "THUVIEN_MQTT__ENABLED": "true",
            "THUVIEN_MQTT__TOPIC_PREFIX": PREFIX_TOPIC,
            "THUVIEN_MQTT__CLIENT_ID": "ingest-web-" + secrets.token_hex(4),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("THUVIEN_CONFIG", None)
        with log_path.open("w") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "edge.cli", "server", "--host", "127.0.0.1", "--port", str(port)],
                stdout=log_file, stderr=subprocess.STDOUT, text=True, env=env,
            )
            base = f"http://127.0.0.1:{port}"
            try:
                if not wait_for(lambda: _ready(base + "/readyz"), timeout=60):
                    raise AssertionError("thuvien server never became ready:\n" + log_path.read_text())
                yield LiveServer(base, db, process)
            finally:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                db.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    require(Path(CHROMIUM).exists(), "Chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1180, "height": 820}, locale="vi-VN", accept_downloads=True)
    context.set_default_timeout(15000)
    tab = context.new_page()
    yield tab
    context.close()


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def browser_login(page: Any, base: str, username: str, password: str) -> None:
    page.goto(base + "/web/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/web/$"))


def random_token() -> str:
    return secrets.token_urlsafe(8)
