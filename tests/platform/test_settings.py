"""Production settings: `check --deploy` passes with DEBUG off, and refuses to start without a secret."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STRONG_SECRET = "m9#Qv2$Lp8@Zr4!Tx7&Wn1*Ks6^Hd3%Jf5(Bg0)Yc8-Ue2+Ia7=Ol4"


def production_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECURE_SSL_REDIRECT", "SECURE_COOKIES"}}
    env.update(
        DJANGO_SETTINGS_MODULE="hybridcloud.settings",
        DEBUG="0",
        SECRET_KEY=STRONG_SECRET,
        ALLOWED_HOSTS="cloud.example.com",
        HYBRIDCLOUD_VAR_DIR=str(tmp_path),
        WHITENOISE_USE_FINDERS="0",
    )
    env.pop("DATABASE_URL", None)
    env.update(extra)
    return env


def manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_configuration_passes_check_deploy(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_defaults_are_https_only(tmp_path):
    script = (
        "from django.conf import settings as s;"
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS >= 31536000,"
        " s.SESSION_COOKIE_HTTPONLY, s.X_FRAME_OPTIONS, s.SECURE_CONTENT_TYPE_NOSNIFF)"
    )
    result = manage(production_env(tmp_path), "shell", "-v", "0", "-c", script)
    assert result.stdout.split() == ["True", "True", "True", "True", "True", "DENY", "True"], result.stderr


def test_tls_proxy_setting_turns_off_the_redirect(tmp_path):
    env = production_env(tmp_path, SECURE_SSL_REDIRECT="0", SECURE_PROXY_SSL_HEADER="1")
    script = "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SECURE_PROXY_SSL_HEADER)"
    result = manage(env, "shell", "-v", "0", "-c", script)
    assert result.stdout.strip() == "False ('HTTP_X_FORWARDED_PROTO', 'https')", result.stderr


def test_production_without_secret_key_refuses_to_start(tmp_path):
    env = production_env(tmp_path)
    env.pop("SECRET_KEY")
    result = manage(env, "check")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_admin_path_is_configurable(tmp_path):
    env = production_env(tmp_path, ADMIN_URL="/backoffice-7f3a/")
    script = "from django.urls import reverse; print(reverse('admin:index'))"
    result = manage(env, "shell", "-v", "0", "-c", script)
    assert result.stdout.strip() == "/backoffice-7f3a/", result.stderr
