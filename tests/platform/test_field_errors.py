"""hybridcloud.core.refusals.field_errors / error_sentences: DRF's errors put into words once for every API."""

from rest_framework import serializers

from hybridcloud.core.refusals import error_sentences, field_errors
from migration.alarms.api.serializers import NoteSerializer

NESTED = {
    "scope": {"site": ["This field is required."], "non_field_errors": ["Name a site or a cluster."]},
    "scenario": {"rtt_ms": ["Ensure this value is greater than or equal to 0.", "A number is required."]},
    "name": ["Too long."],
}


def test_nested_dicts_are_dotted_paths_and_a_nested_non_field_message_is_its_parent_s():
    assert field_errors(NESTED) == {
        "scope.site": "This field is required.",
        "scope": "Name a site or a cluster.",
        "scenario.rtt_ms": "Ensure this value is greater than or equal to 0. A number is required.",
        "name": "Too long.",
    }
    assert error_sentences(NESTED) == [
        "scope.site: This field is required.",
        "scope: Name a site or a cluster.",
        "scenario.rtt_ms: Ensure this value is greater than or equal to 0.",
        "scenario.rtt_ms: A number is required.",
        "name: Too long.",
    ]


def test_a_list_of_dicts_is_under_the_list_s_path_each_message_once():
    errors = {"rows": [{}, {"vcpus": ["Too many."]}, {"vcpus": ["Too many."], "disk": ["Negative."]}]}
    assert field_errors(errors) == {"rows.vcpus": "Too many.", "rows.disk": "Negative."}
    assert error_sentences(errors) == ["rows.vcpus: Too many.", "rows.disk: Negative."]


def test_a_plain_string_is_a_non_field_message_at_the_top_and_a_field_s_under_a_field():
    assert field_errors("Invalid data.") == {"non_field_errors": "Invalid data."}
    assert error_sentences("Invalid data.") == ["Invalid data."]
    assert field_errors({"note": "Blank."}) == {"note": "Blank."}
    assert error_sentences({"note": "Blank."}) == ["note: Blank."]


def test_a_top_level_non_field_message_stands_on_its_own():
    errors = {"non_field_errors": ["Name a host or a site, not both."], "workload": ["Not found."]}
    assert error_sentences(errors) == ["Name a host or a site, not both.", "workload: Not found."]
    assert field_errors(errors) == {"non_field_errors": "Name a host or a site, not both.", "workload": "Not found."}


def test_drf_s_own_errors_come_out_as_sentences():
    class Scope(serializers.Serializer):
        site = serializers.IntegerField()

    class Body(serializers.Serializer):
        scope = Scope()
        hosts = serializers.ListField(child=serializers.IntegerField())

    body = Body(data={"scope": {"site": "x"}, "hosts": [1, "y"]})
    assert not body.is_valid()
    assert error_sentences(body.errors) == [
        "scope.site: A valid integer is required.",
        "hosts.1: A valid integer is required.",
    ]
    assert field_errors(body.errors) == {
        "scope.site": "A valid integer is required.",
        "hosts.1": "A valid integer is required.",
    }


def test_the_alarms_api_s_body_that_is_not_an_object_is_one_sentence_not_non_field_errors_colon():
    note = NoteSerializer(data=["acknowledged"])
    assert not note.is_valid()
    assert error_sentences(note.errors) == ["Invalid data. Expected a dictionary, but got list."]
