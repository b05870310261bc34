"""Shared fixtures: users by role, websocket headers, a real Celery worker, a real ASGI server, a real browser.

Unit tests may use `in_memory_channel_layer`; everything marked `integration` or `browser` runs against
real processes: the session's Redis, a Celery worker subprocess and a Daphne subprocess, both pointed at
the test database (a SQLite file, or PostgreSQL when DATABASE_URL says so).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connections
from hypothesis import settings as hypothesis_settings

from hybridcloud.redis_server import _die_with_parent, free_port

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


# -- Hypothesis ----------------------------------------------------------------------------------------------------

# In CI (the CI variable set) Hypothesis loads its own "ci" profile: derandomized, so every CI run checks the same
# examples (a red CI is a finding anyone can reproduce, not the luck of a draw; its SQLite and PostgreSQL passes check
# the same cases). Elsewhere each run draws new ones; `make fuzz` (HYPOTHESIS_PROFILE=fuzz) runs the property tests
# again and again with new draws, CI or not, to find what the fixed ones do not.
hypothesis_settings.register_profile("fuzz", derandomize=False, database=None, print_blob=True)
if os.environ.get("HYPOTHESIS_PROFILE"):
    hypothesis_settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])


# -- ordering and skipping ----------------------------------------------------------------------------------------


def pytest_collection_modifyitems(config, items):
    """Browser tests run last: Playwright leaves an event loop running that async tests after it would trip on."""
    browser, others = [], []
    for item in items:
        (browser if item.get_closest_marker("browser") else others).append(item)
    if not CHROMIUM and browser and os.environ.get("CI"):
        raise pytest.UsageError("CI=1 but Chromium is not installed: the browser tests would be skipped, not passed")
    if not CHROMIUM:
        skip = pytest.mark.skip(reason="Chromium is not installed (apt-get install -y chromium); browser test skipped")
        for item in browser:
            item.add_marker(skip)
    items[:] = others + browser


# -- users -------------------------------------------------------------------------------------------------------


def make_user(username: str, *, group: str | None = None, superuser: bool = False) -> User:
    if superuser:
        user = User.objects.create_superuser(username, f"{username}@example.com", "correct-horse-battery")
    else:
        user = User.objects.create_user(username, f"{username}@example.com", "correct-horse-battery")
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def viewer(db) -> User:
    return make_user("vera", group="viewers")


@pytest.fixture
def operator(db) -> User:
    return make_user("otto", group="operators")


@pytest.fixture
def admin_user(db) -> User:
    return make_user("ada", superuser=True)


@pytest.fixture
def no_role_user(db) -> User:
    """Signed in, but in no group: no role, sees nothing."""
    return make_user("nora")


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


def session_cookie_header(client, user: User) -> tuple[bytes, bytes]:
    """A Cookie header carrying a real session for `user`, for WebsocketCommunicator."""
    client.force_login(user)
    return (b"cookie", f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode())


ORIGIN = (b"origin", b"http://localhost")


@pytest.fixture
def ws_headers(client):
    """Returns headers (Origin + session cookie) for a websocket opened as the given user."""

    def headers_for(user: User) -> list[tuple[bytes, bytes]]:
        return [ORIGIN, (b"host", b"localhost"), session_cookie_header(client, user)]

    return headers_for


@pytest.fixture
def in_memory_channel_layer(settings):
    """For unit tests only: integration tests use the real Redis layer."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def steady_world(monkeypatch):
    """The pre-checks' forecast in a steady world: guests dirty at their inventory rate and links carry no
    background traffic. The simulated world draws each workload's and link's pattern from its id and the hour (a
    burst up to about 3x, a quarter of the rate at night at the site), so an outcome a test asserts (converges or
    not, which suggestions) would depend on the ids the database hands out and on the clock. The world has its own
    tests (tests/migration/test_world.py, test_driver_world.py)."""
    from migration.prechecks import prediction

    world = prediction.migration_world

    def steady(**kwargs):
        _dirty, _link, capacity = world(**kwargs)
        return None, None, capacity

    monkeypatch.setattr(prediction, "migration_world", steady)


# -- real processes against the test database --------------------------------------------------------------------


def test_database_url() -> str:
    """The URL of the test database pytest-django created, for processes started from the tests."""
    db = connections["default"].settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    user = quote(db.get("USER") or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{db['NAME']}"


def process_env(**extra: str) -> dict[str, str]:
    env = os.environ.copy()
    env["DATABASE_URL"] = test_database_url()
    env["DJANGO_SETTINGS_MODULE"] = "hybridcloud.settings"
    env.update(extra)
    return env


class ManagedProcess:
    """A child process started by a test, in its own process group, killed with its group at the end."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name, self.args, self.env = name, args, env
        ARTIFACTS.mkdir(exist_ok=True)
        self.log_path = ARTIFACTS / f"{name}-{os.getpid()}.log"
        self.process: subprocess.Popen | None = None
        self.node = ""  # the Celery node name, for workers

    def start(self) -> ManagedProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.process = subprocess.Popen(
            self.args, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole group at once, as a crashed machine would."""
        if self.process is None:
            return
        with contextlib.suppress(OSError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 10.0) -> None:
        if not self.alive():
            return
        self.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout)
        self.kill()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_celery_worker(
    name: str = "worker",
    concurrency: int = 2,
    beat: bool = False,
    consume: bool = True,
    prefix: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> ManagedProcess:
    """A worker subprocess; with consume=False it listens to no real queue until `add_consumer` is called.
    `prefix` wraps the command (e.g. `ip netns exec NAME`); `env` overrides the environment it gets."""
    args = [
        sys.executable, "-m", "celery", "-A", "hybridcloud", "worker", "--loglevel", "INFO",
        "--concurrency", str(concurrency), "--without-gossip", "--without-mingle",
        "--hostname", f"{name}-{os.getpid()}@%h",
    ]  # fmt: skip
    if not consume:
        args += ["--queues", f"idle-{name}-{os.getpid()}"]
    if beat:
        args += ["--beat", "--schedule", str(ARTIFACTS / f"{name}-beat-schedule")]
    worker = ManagedProcess(name, [*(prefix or []), *args], process_env(**(env or {}))).start()
    worker.node = wait_for_worker(worker)
    return worker


def wait_for_worker(worker: ManagedProcess, timeout: float = 60.0) -> str:
    """Waits until the worker answers a ping; returns its node name."""
    from hybridcloud.celery import app

    deadline = time.monotonic() + timeout
    prefix = f"{worker.name}-{os.getpid()}@"
    while time.monotonic() < deadline:
        if not worker.alive():
            raise RuntimeError(f"Celery worker exited early:\n{worker.log_tail()}")
        replies = app.control.ping(timeout=0.5) or []
        for reply in replies:
            for node in reply:
                if node.startswith(prefix):
                    return node
    raise RuntimeError(f"Celery worker did not answer within {timeout:.0f} s:\n{worker.log_tail()}")


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """One real Celery worker (prefork, 2 processes) for the session, against the test database and Redis.

    It consumes the task queue only while a test holds `celery_worker`, so tasks that other tests enqueue on
    commit never run behind their backs.
    """
    from hybridcloud.celery import app

    app.control.purge()
    worker = start_celery_worker("worker", consume=False)
    yield worker
    worker.stop()


@pytest.fixture
def celery_worker(celery_worker_process, transactional_db):
    """A live worker for one test; the queue starts empty."""
    from hybridcloud.celery import app

    if not celery_worker_process.alive():
        raise RuntimeError(f"The Celery worker died:\n{celery_worker_process.log_tail()}")
    queue = app.conf.task_default_queue
    app.control.purge()
    app.control.add_consumer(queue, destination=[celery_worker_process.node], reply=True, timeout=10)
    yield celery_worker_process
    app.control.cancel_consumer(queue, destination=[celery_worker_process.node], reply=True, timeout=10)


def start_daphne(name: str = "daphne") -> tuple[ManagedProcess, str]:
    """A Daphne subprocess against the test database, once it answers `/health/`; returns it and its URL."""
    port = free_port()
    server = ManagedProcess(
        name,
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "hybridcloud.asgi:application"],
        process_env(),
    ).start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/health/", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        if not server.alive() or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"Daphne did not start:\n{server.log_tail()}")
        time.sleep(0.2)
    return server, url


@pytest.fixture(scope="session")
def asgi_live_server(django_db_setup):
    """A real Daphne process (HTTP + websockets) serving the app against the test database."""
    server, url = start_daphne()
    yield url
    server.stop()


@pytest.fixture
def live_server_url(asgi_live_server, transactional_db) -> str:
    return asgi_live_server


# -- the browser ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM:
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the tests' own ORM calls are still plain
    # synchronous code (pytest-django's documented setting for Playwright).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        )  # fmt: skip
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, request):
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.console_errors = []
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    yield page
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        screenshot(page, f"FAILED-{request.node.name}")
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def screenshot(page, name: str) -> Path:
    """Saves a full-page screenshot under test-artifacts/screenshots/ (look at them)."""
    directory = ARTIFACTS / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def browser_login(page, base_url: str, username: str, password: str = "correct-horse-battery") -> None:
    """Signs in through the real login form."""
    page.goto(base_url + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
