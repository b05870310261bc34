"""Schemathesis against /api/schema/: for every operation, no server error and no response that breaks the schema.

The app runs in-process through Django's WSGI handler (the same code Daphne serves), signed in as an operator
with a DRF token; examples per operation are few so that the whole run takes a minute or two. Negative mode (data
that breaks the schema: wrong types, missing fields, bad ids) runs for every role, a user in no group included:
whatever is sent, a client error, never a server error.
"""

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.conftest import make_user

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 12
NEGATIVE_EXAMPLES = 5
ROLE_GROUPS = {"nogroup": None, "viewer": "viewers", "operator": "operators", "admin": "superuser"}


@pytest.fixture
def keep_test_connection():
    """As Django's test client does: requests must not close the test's database connection."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


def test_every_api_operation_answers_without_server_errors_and_as_its_schema_says(operator, keep_test_connection):
    call_command("seed_demo", workloads=30, verbosity=0)
    auth = {"Authorization": f"Token {Token.objects.create(user=operator).key}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler(), headers=auth)
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call(headers=auth)
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect every operation's failure, then report them all
            failures[operation.label] = str(exc)[:1500]
    assert operations >= 40, f"only {operations} operations in the schema"
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


@pytest.mark.parametrize("role", list(ROLE_GROUPS))
def test_negative_data_is_never_a_server_error_for_any_role(role, keep_test_connection):
    call_command("seed_demo", workloads=30, verbosity=0)
    group = ROLE_GROUPS[role]
    user = make_user(f"fuzz-{role}", group=group if group != "superuser" else None, superuser=group == "superuser")
    auth = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    # The schema is read as an administrator: a user in no group may not read it (403).
    reader = make_user("schema-reader", superuser=True)
    reader_auth = {"Authorization": f"Token {Token.objects.create(user=reader).key}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler(), headers=reader_auth)
    failures: dict[str, str] = {}
    sent, statuses, unbreakable = 0, {}, []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
        @settings(max_examples=NEGATIVE_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case):
            nonlocal sent
            sent += 1
            response = case.call(headers=auth)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            case.validate_response(response, checks=[not_a_server_error])

        try:
            run()
        except Unsatisfiable:
            unbreakable.append(operation.label)  # no parameter or body to break
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect every operation's failure
            failures[operation.label] = str(exc)[:1500]
    print(
        f"\n{role}: {sent} negative requests, statuses {dict(sorted(statuses.items()))}, {len(unbreakable)} unbreakable"
    )
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    assert sent >= 100
    if role == "nogroup":
        assert set(statuses) <= {401, 403, 404, 405}, statuses  # refused before anything else is looked at
