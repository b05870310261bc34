"""hybridcloud.core.refusals.Refused: a service's refusal, answered by the API's exception handler in one shape."""

from containers.services.refusals import ContainerRefused
from hybridcloud.core.api import exception_handler
from hybridcloud.core.refusals import Refused
from migration.alarms.services import AlarmStateError
from migration.assessment.services import AssessmentRefused
from migration.capacity.services import refusals as capacity
from migration.dr.services import DrillNotStarted, OverrideReasonRequired, PlannedMigrationRefused
from migration.moves.services import MoveGroupRefused
from migration.services import MigrationRefused


def test_a_refusal_is_a_400_with_its_errors():
    response = exception_handler(Refused(["Segment web is not on Virginia."]), {})
    assert response.status_code == 400 and response.data == {"errors": ["Segment web is not on Virginia."]}


def test_warnings_are_in_the_body_only_when_there_are_some_and_the_status_is_the_refusal_s():
    response = exception_handler(Refused("In the way.", warnings=["w1"], status_code=409), {})
    assert response.status_code == 409 and response.data == {"errors": ["In the way."], "warnings": ["w1"]}


def test_an_invalid_body_names_each_field():
    refused = Refused.invalid({"override_reason": ["Too long.", "Blank."]})
    assert refused.errors == ["override_reason: Too long. Blank."] and str(refused) == refused.errors[0]


def test_the_dr_refusals_keep_their_statuses_and_bodies():
    assert exception_handler(DrillNotStarted("A drill of P is already running."), {}).status_code == 409
    refused = exception_handler(PlannedMigrationRefused(["a: no segment", "b: no room"]), {})
    assert refused.status_code == 400 and refused.data == {"errors": ["a: no segment", "b: no room"]}
    needs_reason = exception_handler(OverrideReasonRequired(["a: RTT 160 ms"]), {})
    assert needs_reason.status_code == 400 and needs_reason.data["warnings"] == ["a: RTT 160 ms"]
    assert "1 pre-check warning need a written override reason" in needs_reason.data["errors"][0]


def test_every_api_s_refusal_is_answered_by_the_handler_in_the_shape_that_api_has_always_had():
    answers = [
        (MigrationRefused(["Host a is full."]), 400, {"errors": ["Host a is full."]}),
        (MoveGroupRefused(["No workload."]), 400, {"errors": ["No workload."]}),
        (capacity.CapacityActionRefused("Already evacuated."), 400, {"errors": ["Already evacuated."]}),
        (AlarmStateError("Alarm #1 is already cleared."), 409, {"errors": ["Alarm #1 is already cleared."]}),
        (ContainerRefused("In use.", code="name_in_use"), 400, {"errors": ["In use."], "code": "name_in_use"}),
        (AssessmentRefused({"scope": "No workloads."}), 400,
         {"errors": ["scope: No workloads."], "field_errors": {"scope": "No workloads."}}),
    ]  # fmt: skip
    for refusal, status, body in answers:
        response = exception_handler(refusal, {})
        assert (response.status_code, response.data) == (status, body), type(refusal).__name__
    needs_reason = exception_handler(capacity.OverrideReasonRequired(["w: RTT 160 ms"]), {})
    assert needs_reason.status_code == 400 and needs_reason.data["warnings"] == ["w: RTT 160 ms"]
    assert list(needs_reason.data) == ["errors", "warnings"]


def test_a_container_refusal_is_still_a_validation_error_for_the_docker_engine_api_and_the_pages():
    refused = ContainerRefused("No such image: nginx:9.", code="no_such_image")
    assert refused.messages == ["No such image: nginx:9."] and refused.message == "No such image: nginx:9."
    assert refused.errors == refused.messages
