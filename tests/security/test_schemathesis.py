"""Schemathesis against /api/schema/: for every operation, no server error and no response that breaks the schema.

The app runs in-process through Django's WSGI handler (the same code Daphne serves), signed in as an operator
with a DRF token; examples per operation are few so that the whole run takes a minute or two.
"""

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error, response_schema_conformance

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 12


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
