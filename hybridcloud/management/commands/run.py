"""`manage.py run`: the whole stack in one command (what `make run` calls).

Prepares the database (migrate, demo data when empty, an admin account when none exists), starts a
private Redis when REDIS_URL is unset, then the ASGI server (Daphne), one Celery worker and one beat,
and supervises them. Rules:
- a process that dies once the stack is up (web, worker, beat or the private Redis) is restarted, after
  1 s, then 2 s, 4 s ... at most 30 s for a process that keeps crashing; the delay starts again at 1 s once
  a process has stayed up for a minute. Each crash is one line: which process, its exit code, when it is
  tried again. The others keep running;
- a process that dies before the stack first answers stops everything (a configuration error, not a crash);
- Ctrl-C or SIGTERM stops every process it started (and whatever those left behind), Redis last.
A second `run` while one is up says so and exits.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError

from hybridcloud.env import runtime_file
from hybridcloud.redis_server import ManagedRedis, _die_with_parent, free_port
from inventory.models import Site, Workload

#: Restart delays: the first after 1 s, doubling up to 30 s; back to 1 s once a process stayed up this long.
RESTART_FIRST_DELAY_S = 1.0
RESTART_MAX_DELAY_S = 30.0
RESTART_RESET_AFTER_S = 60.0


def restart_delay(crashes_in_a_row: int) -> float:
    """Seconds to wait before restarting a process that crashed `crashes_in_a_row` times without staying up for
    `RESTART_RESET_AFTER_S` in between (1 for the first crash): 1, 2, 4, 8, 16, 30, 30 ..."""
    return min(RESTART_FIRST_DELAY_S * 2 ** max(crashes_in_a_row - 1, 0), RESTART_MAX_DELAY_S)


def describe_exit(code: int) -> str:
    """`code 1`, or `code -9 (SIGKILL)` for a process killed by a signal."""
    if code < 0:
        try:
            return f"code {code} ({signal.Signals(-code).name})"
        except ValueError:
            pass
    return f"code {code}"


class Child:
    """One supervised process: how to start it again, when it started, and its crashes in a row."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path | None) -> None:
        self.name, self.args, self.env, self.log = name, args, env, log
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0
        self.crashes = 0
        self.restart_at: float | None = None  # set while it waits for its next attempt


class Command(BaseCommand):
    help = "Set up and run the whole HybridCloud stack: Redis (if REDIS_URL is unset), web, worker and beat."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--concurrency", type=int, default=int(os.environ.get("WORKER_CONCURRENCY", "2")))
        parser.add_argument("--no-seed", action="store_true", help="Do not load the demo inventory.")
        parser.add_argument("--no-beat", action="store_true", help="Do not start beat (one runs elsewhere).")

    def handle(self, *args, host: str, port: int, concurrency: int, no_seed: bool, no_beat: bool, **options):
        var_dir = Path(settings.VAR_DIR)
        (var_dir / "run").mkdir(parents=True, exist_ok=True)
        (var_dir / "log").mkdir(parents=True, exist_ok=True)
        self.refuse_if_running(var_dir, host, port)

        self.stdout.write("Preparing the database…")
        call_command("migrate", interactive=False, verbosity=0)
        if not no_seed:
            self.seed_if_empty()
        credentials = self.ensure_admin(var_dir)
        if not settings.DEBUG or not settings.WHITENOISE_USE_FINDERS:
            call_command("collectstatic", interactive=False, verbosity=0)

        self.children: list[Child] = []
        self.redis: ManagedRedis | None = None
        self.stopping = False
        env = os.environ.copy()
        try:
            if not os.environ.get("REDIS_URL"):
                self.redis = ManagedRedis(log_path=var_dir / "log" / "redis.log").start()
                env["REDIS_URL"] = self.redis.url
                self.stdout.write(f"Started a private Redis on 127.0.0.1:{self.redis.port}")
            runtime_file(var_dir).write_text(
                json.dumps({"pid": os.getpid(), "url": f"http://{host}:{port}/", "redis_url": env.get("REDIS_URL")})
            )
            signal.signal(signal.SIGINT, self.on_signal)
            signal.signal(signal.SIGTERM, self.on_signal)

            python = sys.executable
            asgi_server = [python, "-m", "daphne", "-b", host, "-p", str(port), "hybridcloud.asgi:application"]
            self.spawn("web", asgi_server, env)
            url = f"http://{host}:{port}/"
            # The web server first, alone (on a small machine three processes importing the project at once compete
            # for the cores and the dashboard answers later); tasks sent meanwhile wait in Redis for the worker.
            self.wait_until_healthy(url)
            self.spawn(
                "worker",
                [python, "-m", "celery", "-A", "hybridcloud", "worker", "--loglevel", "INFO",
                 "--concurrency", str(concurrency), "--hostname", f"worker-{port}@%h"],
                env,
                log=var_dir / "log" / "worker.log",
            )  # fmt: skip
            if not no_beat:
                self.spawn(
                    "beat",
                    [python, "-m", "celery", "-A", "hybridcloud", "beat", "--loglevel", "INFO",
                     "--schedule", str(var_dir / "run" / "celerybeat-schedule")],
                    env,
                    log=var_dir / "log" / "beat.log",
                )  # fmt: skip
            self.stdout.write(self.style.SUCCESS(f"\nHybridCloud is running at {url}"))
            self.stdout.write(credentials)
            self.stdout.write(f"Logs: {var_dir / 'log'}   Stop with Ctrl-C.\n")
            self.stdout.flush()
            self.supervise()
        finally:
            self.stop_all()
            runtime_file(var_dir).unlink(missing_ok=True)

    # -- preparation -------------------------------------------------------------------------------------------

    def refuse_if_running(self, var_dir: Path, host: str, port: int) -> None:
        path = runtime_file(var_dir)
        try:
            data = json.loads(path.read_text())
            os.kill(int(data["pid"]), 0)
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)
        else:
            raise CommandError(
                f"HybridCloud is already running (pid {data['pid']}) at {data.get('url')}. "
                "Stop it (Ctrl-C in its terminal) before starting another."
            )
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((host, port))
        except OSError as exc:
            suggestion = free_port(host) if host in ("127.0.0.1", "localhost", "0.0.0.0") else None  # noqa: S104
            hint = f" Try PORT={suggestion} make run." if suggestion else ""
            raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror}.{hint}") from None

    def seed_if_empty(self) -> None:
        if Site.objects.exists():
            return
        if "seed_demo" in get_commands():
            self.stdout.write("Loading the demo hybrid cloud (first run)…")
            log = Path(settings.VAR_DIR) / "log" / "seed_demo.log"
            with open(log, "w") as output:
                call_command("seed_demo", stdout=output, stderr=output)
            sites, workloads = Site.objects.count(), Workload.objects.count()
            self.stdout.write(f"Loaded {sites} sites and {workloads} workloads (details in {log}).")

    def ensure_admin(self, var_dir: Path) -> str:
        """Create `admin` with a random password when no superuser exists; say how to sign in either way."""
        user_model = get_user_model()
        credentials_file = var_dir / "admin-credentials.txt"
        if not user_model.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            user_model.objects.create_superuser("admin", "admin@example.com", password)
            credentials_file.write_text(f"admin\n{password}\n")
            credentials_file.chmod(0o600)
            return f"Created the admin account:  username: admin   password: {password}"
        if credentials_file.exists():
            username, password = (credentials_file.read_text().splitlines() + ["", ""])[:2]
            user = user_model.objects.filter(username=username).first()
            if user is not None and user.check_password(password):
                return f"Sign in with:  username: {username}   password: {password}"
        return "Sign in with your existing account (create another with `manage.py createsuperuser`)."

    # -- processes ---------------------------------------------------------------------------------------------

    def spawn(self, name: str, args: list[str], env: dict[str, str], log: Path | None = None) -> None:
        child = Child(name, args, env, log)
        self.start_child(child)
        self.children.append(child)

    def start_child(self, child: Child) -> None:
        output = open(child.log, "ab") if child.log else None  # noqa: SIM115 - closed below, the child has its copy
        try:
            child.process = subprocess.Popen(
                child.args, env=child.env, stdin=subprocess.DEVNULL, stdout=output,
                stderr=subprocess.STDOUT if output else None, preexec_fn=_die_with_parent,
            )  # fmt: skip
        finally:
            if output:
                output.close()
        child.started_at = time.monotonic()
        child.restart_at = None
        self.stdout.write(f"Started {child.name} (pid {child.process.pid})")
        self.stdout.flush()

    def wait_until_healthy(self, url: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_children()
            try:
                with urllib.request.urlopen(url + "health/", timeout=2) as response:  # noqa: S310 - our own URL
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        raise CommandError(f"The web server did not answer at {url}health/ within {timeout:.0f} s")

    def check_children(self) -> None:
        """Before the stack is up, any exit is fatal: it is a configuration error, not a crash to retry."""
        for child in self.children:
            code = child.process.poll()
            if code is not None and not self.stopping:
                raise CommandError(
                    f"The {child.name} process exited unexpectedly ({describe_exit(code)}); stopping the others."
                )
        if self.redis and self.redis.process and self.redis.process.poll() is not None and not self.stopping:
            raise CommandError("The private Redis exited unexpectedly; stopping the others.")

    def supervise(self) -> None:
        """Restart whatever dies, with backoff, until Ctrl-C or SIGTERM (see the module's rules)."""
        redis = Child("redis", [], {}, None) if self.redis else None
        if redis is not None:
            redis.process, redis.started_at = self.redis.process, time.monotonic()
        supervised = [*self.children, *([redis] if redis else [])]
        while not self.stopping:
            now = time.monotonic()
            for child in supervised:
                if self.stopping:
                    break
                if child.restart_at is None:
                    code = child.process.poll()
                    if code is not None:
                        self.crashed(child, f"exited with {describe_exit(code)}", now)
                elif now >= child.restart_at:
                    try:
                        if child is redis:
                            self.redis.start()
                            redis.process, redis.started_at, redis.restart_at = self.redis.process, now, None
                            self.stdout.write(f"Started redis (pid {redis.process.pid}) on port {self.redis.port}")
                        else:
                            self.start_child(child)
                    except (OSError, RuntimeError) as exc:
                        self.crashed(child, f"could not be started ({exc})", now)
            time.sleep(0.2)

    def crashed(self, child: Child, what: str, now: float) -> None:
        """Note a crash: reap what the process left behind, and say when it is tried again."""
        pid = child.process.pid
        # A process group per child: its leftovers (Celery's pool processes) go with it.
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        uptime = now - child.started_at
        child.crashes = 1 if uptime >= RESTART_RESET_AFTER_S else child.crashes + 1
        delay = restart_delay(child.crashes)
        child.restart_at = now + delay
        child.started_at = now  # a failed start counts as no uptime
        self.stdout.write(
            f"{child.name} (pid {pid}) {what} after {uptime:.0f} s up; restarting it in {delay:.0f} s "
            f"(crash {child.crashes} in a row)"
        )
        self.stdout.flush()

    def on_signal(self, signum, frame) -> None:
        if not self.stopping:
            self.stopping = True
            self.stdout.write(f"\nReceived {signal.Signals(signum).name}: stopping…")

    def stop_all(self, grace: float = 15.0) -> None:
        self.stopping = True
        children = getattr(self, "children", [])
        # Web first (no new work), then beat, then the worker (warm shutdown lets its task finish), Redis last.
        for child in reversed(children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in children:
            process = child.process
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                self.stdout.write(f"{child.name} did not stop within {grace:.0f} s; killing it.")
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except OSError:
                    process.kill()
                process.wait()
            # A process group per child: reap anything it left behind (Celery's pool processes).
            with contextlib.suppress(OSError):
                os.killpg(process.pid, signal.SIGKILL)
        if getattr(self, "redis", None):
            self.redis.stop()
        if children:
            self.stdout.write("Stopped every process.")
