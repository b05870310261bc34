"""hybridcloud.core.refusals.Refused: a service's refusal, answered by the API's exception handler in one shape."""

from hybridcloud.core.api import exception_handler
from hybridcloud.core.refusals import Refused
from migration.dr.services import DrillNotStarted, OverrideReasonRequired, PlannedMigrationRefused


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
