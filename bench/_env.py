"""The settings every benchmark runs Django with (not a benchmark itself: `make bench` skips bench/_*.py).

A throwaway folder for the var dir and, unless a script is told another database, its SQLite file; production-like
otherwise (DEBUG off), with what a throwaway folder lacks made up for (no HTTPS redirect for the test Client, static
files from the finders since there is no collectstatic manifest), and quiet logs. Values already in the environment
win, except the database and the var dir, which are the benchmark's own.
"""

from __future__ import annotations

import os

DEFAULTS = {
    "DJANGO_SETTINGS_MODULE": "hybridcloud.settings",
    "SECRET_KEY": "bench-only-secret-" + "x" * 40,
    "DEBUG": "0",
    "SECURE_SSL_REDIRECT": "0",
    "WHITENOISE_USE_FINDERS": "1",
}


def bench_settings(var_dir: str, *, database_url: str | None = None, log_level: str = "WARNING") -> dict[str, str]:
    """The environment a benchmark's Django (or a server or worker it starts) runs with."""
    env = {name: os.environ.get(name, value) for name, value in DEFAULTS.items()}
    env["LOG_LEVEL"] = os.environ.get("LOG_LEVEL", log_level)
    env["DATABASE_URL"] = database_url or f"sqlite:///{var_dir}/bench.sqlite3"
    env["HYBRIDCLOUD_VAR_DIR"] = var_dir
    return env


def use_bench_settings(var_dir: str, *, database_url: str | None = None, log_level: str = "WARNING") -> None:
    """Put `bench_settings` into this process's environment, before Django starts."""
    os.environ.update(bench_settings(var_dir, database_url=database_url, log_level=log_level))
