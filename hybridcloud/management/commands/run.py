"""`manage.py run`: the whole stack in one command (what `make run` calls).

Prepares the database (migrate, demo data when empty, an admin account when none exists), starts a
private Redis when REDIS_URL is unset, then the ASGI server (Daphne), one Celery worker and one beat,
and supervises them: Ctrl-C or SIGTERM stops every process it started, and if any of them dies the
others are stopped too. A second `run` while one is up says so and exits.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
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

        self.children: list[tuple[str, subprocess.Popen]] = []
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
            url = f"http://{host}:{port}/"
            self.wait_until_healthy(url)
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
            import socket

            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((host, port))
        except OSError as exc:
            suggestion = free_port(host) if host in ("127.0.0.1", "localhost", "0.0.0.0") else None  # noqa: S104
            hint = f" Try PORT={suggestion} make run." if suggestion else ""
            raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror}.{hint}") from None

    def seed_if_empty(self) -> None:
        from inventory.models import Site

        if Site.objects.exists():
            return
        if "seed_demo" in get_commands():
            self.stdout.write("Loading the demo hybrid cloud (first run)…")
            log = Path(settings.VAR_DIR) / "log" / "seed_demo.log"
            with open(log, "w") as output:
                call_command("seed_demo", stdout=output, stderr=output)
            from inventory.models import Workload

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
        output = open(log, "ab") if log else None  # noqa: SIM115 - the child keeps it
        process = subprocess.Popen(
            args, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT if output else None,
            preexec_fn=_die_with_parent,
        )  # fmt: skip
        self.children.append((name, process))
        self.stdout.write(f"Started {name} (pid {process.pid})")

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
        for name, process in self.children:
            code = process.poll()
            if code is not None and not self.stopping:
                raise CommandError(f"The {name} process exited unexpectedly (code {code}); stopping the others.")
        if self.redis and self.redis.process and self.redis.process.poll() is not None and not self.stopping:
            raise CommandError("The private Redis exited unexpectedly; stopping the others.")

    def supervise(self) -> None:
        while not self.stopping:
            self.check_children()
            time.sleep(0.5)

    def on_signal(self, signum, frame) -> None:
        if not self.stopping:
            self.stopping = True
            self.stdout.write(f"\nReceived {signal.Signals(signum).name}: stopping…")

    def stop_all(self, grace: float = 15.0) -> None:
        self.stopping = True
        # Web first (no new work), then beat, then the worker (warm shutdown lets its task finish), Redis last.
        for _name, process in reversed(getattr(self, "children", [])):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for name, process in getattr(self, "children", []):
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                self.stdout.write(f"{name} did not stop within {grace:.0f} s; killing it.")
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
        if getattr(self, "children", None):
            self.stdout.write("Stopped every process.")
