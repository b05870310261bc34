"""The schema of the API's one refusal body, ``{"errors": [...]}`` (hybridcloud.core.refusals.Refused.body(),
answered by hybridcloud.core.api.exception_handler): one "Errors" component for every app's API."""

from rest_framework import serializers


class ErrorsSerializer(serializers.Serializer):
    errors = serializers.ListField(child=serializers.CharField())
