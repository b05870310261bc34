"""What each Docker API operation accepts, in one place: the shape of its query string and of its JSON body.

`docker_endpoint(query=..., body=...)` validates a request against these before the view runs; a request of the wrong
shape is refused with BadParameter (a 400 `{"message": ...}` naming the field, as moby answers a bad parameter) and
nothing runs. The rules follow the Docker daemon's Go decoding, which is strict about JSON types: a string where a
number or an object belongs is an error, never coerced ("2" is not NanoCpus 2). Values the view passes on to the
services (an image reference, a port number, a memory size) are then checked by the services themselves, so a rule
is not written twice; this layer only makes sure each value has the type those services expect.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rest_framework import serializers

INT64 = (-(2**63), 2**63 - 1)


class BadParameter(Exception):
    """The request does not have the shape its operation accepts; `message` names the field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- strict JSON types (Go's encoding/json does not coerce) -------------------------------------------------------


class String(serializers.CharField):
    """A JSON string, as is (no trimming; empty allowed)."""

    default_error_messages = {"invalid": "must be a string."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class Integer(serializers.IntegerField):
    """A JSON integer (a 64-bit one, as Go's int64): not a string, a boolean or a fraction."""

    default_error_messages = {"invalid": "must be an integer."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("min_value", INT64[0])
        kwargs.setdefault("max_value", INT64[1])
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class Boolean(serializers.BooleanField):
    """A JSON boolean: not "true", not 1."""

    default_error_messages = {"invalid": "must be true or false."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class Object(serializers.DictField):
    """A JSON object (its contents are not used here); with `of`, every value must be that field."""

    def __init__(self, of: serializers.Field | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(child=of if of is not None else serializers.JSONField(), **kwargs)


class ObjectList(serializers.ListField):
    """A JSON array of objects (their contents are not used here)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(child=Object(allow_null=False), **kwargs)


class IntegerList(serializers.ListField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(child=Integer(allow_null=False), **kwargs)


class StringList(serializers.ListField):
    """A JSON array of strings."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(child=String(allow_null=False), **kwargs)


class StrSlice(serializers.Field):
    """Docker's strslice (Cmd, Entrypoint): a string or an array of strings."""

    default_error_messages = {"invalid": "must be a string or an array of strings."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        if isinstance(data, str):
            return [data]
        if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
            self.fail("invalid")
        return data


class Shape(serializers.Serializer):
    """A JSON object with the fields declared; unknown fields are ignored, as the daemon ignores them."""

    default_error_messages = {"invalid": "must be a JSON object."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "data" not in kwargs and not args:
            kwargs.setdefault("required", False)
            kwargs.setdefault("allow_null", True)
        super().__init__(*args, **kwargs)

    def to_internal_value(self, data: Any) -> dict:
        if not isinstance(data, dict):
            self.fail("invalid")
        return super().to_internal_value(data)


# -- the container create body (ContainerConfig + HostConfig) ------------------------------------------------------

PORT_KEY = re.compile(r"[0-9]{1,5}(?:-[0-9]{1,5})?(?:/(?:tcp|udp|sctp))?", re.IGNORECASE)
HOST_PORT = re.compile(r"(?:[0-9]{1,5}(?:-[0-9]{1,5})?)?")


class PortBinding(Shape):
    HostIp = String()
    HostPort = String()

    def validate_HostPort(self, value: str | None) -> str | None:  # noqa: N802 - Docker's field name
        if value and not HOST_PORT.fullmatch(value):
            raise serializers.ValidationError(f"'{value}' is not a port number or a range of them.")
        return value


class PortBindings(serializers.DictField):
    """{"80/tcp": [{"HostIp": "", "HostPort": "8080"}], ...}"""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(child=serializers.ListField(child=PortBinding(allow_null=True), allow_null=True), **kwargs)

    def to_internal_value(self, data: Any) -> dict:
        value = super().to_internal_value(data)
        for key in value:
            if not PORT_KEY.fullmatch(key):
                raise serializers.ValidationError({key: ["a port key is PORT/PROTOCOL, e.g. 80/tcp."]})
        return value


class RestartPolicyShape(Shape):
    Name = String()
    MaximumRetryCount = Integer(min_value=0)


def moby_fields(
    *,
    strings: str = "",
    booleans: str = "",
    integers: str = "",
    string_lists: str = "",
    string_maps: str = "",
    object_maps: str = "",
    objects: str = "",
    object_lists: str = "",
    integer_lists: str = "",
) -> dict[str, serializers.Field]:
    """Fields by their type in moby's swagger definitions (names separated by spaces): the daemon refuses a wrong
    type in any of them, used here or not, so this endpoint does too."""
    kinds = [
        (strings, String), (booleans, Boolean), (integers, Integer), (string_lists, StringList),
        (string_maps, lambda: Object(of=String(allow_null=False))),
        (object_maps, lambda: Object(of=Object(allow_null=False))),
        (objects, Object), (object_lists, ObjectList), (integer_lists, IntegerList),
    ]  # fmt: skip
    return {name: make() for names, make in kinds for name in names.split()}


# HostConfig (moby's HostConfig + Resources), the fields the view reads declared by hand with their own rules.
HostConfig = type(
    "HostConfig",
    (Shape,),
    {
        **moby_fields(
            strings="CgroupParent CpusetCpus CpusetMems ContainerIDFile NetworkMode VolumeDriver CgroupnsMode IpcMode "
            "Cgroup PidMode UTSMode UsernsMode Runtime Isolation",
            booleans="OomKillDisable Init AutoRemove Privileged PublishAllPorts ReadonlyRootfs",
            integers="CpuShares BlkioWeight CpuRealtimePeriod CpuRealtimeRuntime KernelMemoryTCP MemoryReservation "
            "MemorySwap MemorySwappiness PidsLimit CpuCount CpuPercent IOMaximumIOps IOMaximumBandwidth OomScoreAdj "
            "ShmSize",
            string_lists="DeviceCgroupRules Binds VolumesFrom CapAdd CapDrop Dns DnsOptions DnsSearch ExtraHosts "
            "GroupAdd Links SecurityOpt MaskedPaths ReadonlyPaths",
            string_maps="Annotations StorageOpt Tmpfs Sysctls",
            objects="LogConfig",
            object_lists="BlkioWeightDevice BlkioDeviceReadBps BlkioDeviceWriteBps BlkioDeviceReadIOps "
            "BlkioDeviceWriteIOps Devices DeviceRequests Ulimits Mounts",
            integer_lists="ConsoleSize",
        ),
        "NanoCpus": Integer(min_value=0),
        "CpuQuota": Integer(),
        "CpuPeriod": Integer(min_value=0),
        "Memory": Integer(min_value=0),
        "RestartPolicy": RestartPolicyShape(),
        "PortBindings": PortBindings(),
    },
)

# The create body: moby's ContainerConfig, plus HostConfig and NetworkingConfig.
ContainerCreateBody = type(
    "ContainerCreateBody",
    (Shape,),
    {
        **moby_fields(
            strings="Hostname Domainname User WorkingDir MacAddress StopSignal",
            booleans="AttachStdin AttachStdout AttachStderr Tty OpenStdin StdinOnce ArgsEscaped NetworkDisabled",
            integers="StopTimeout",
            string_lists="OnBuild Shell",
            string_maps="Labels",
            object_maps="ExposedPorts Volumes",
            objects="Healthcheck NetworkingConfig",
        ),
        "Image": String(),
        "Cmd": StrSlice(),
        "Entrypoint": StrSlice(),
        "Env": StringList(),
        "HostConfig": HostConfig(),
    },
)


# -- query strings (every value is text; these say which text is valid) -------------------------------------------


class QueryInt(serializers.Field):
    """An integer in the query string, as Go's strconv.Atoi reads it."""

    default_error_messages = {"invalid": "'{value}' is not an integer."}

    def __init__(self, *, minimum: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.minimum = minimum

    def to_internal_value(self, data: str) -> int | None:
        if data == "":
            return None
        if not re.fullmatch(r"[+-]?[0-9]{1,18}", data):
            self.fail("invalid", value=data[:40])
        number = int(data)
        if self.minimum is not None and number < self.minimum:
            raise serializers.ValidationError(f"{number} is below {self.minimum}.")
        return number


class Tail(QueryInt):
    """`docker logs --tail`: "all" or a number of lines."""

    def to_internal_value(self, data: str) -> int | None:
        return None if data.lower() in ("", "all") else super().to_internal_value(data)


class Filters(serializers.Field):
    """Docker's `filters`: JSON {"name": ["web"]} or the older {"name": {"web": true}}, keys from `allowed`; read as
    {key: [values]}."""

    def __init__(self, *, allowed: set[str], **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.allowed = allowed

    def to_internal_value(self, data: str) -> dict[str, list[str]]:
        if not data:
            return {}
        try:
            parsed = json.loads(data)
        except ValueError:
            raise serializers.ValidationError(f"invalid filter: '{data[:80]}' is not JSON.") from None
        if parsed is None:
            return {}
        if not isinstance(parsed, dict):
            raise serializers.ValidationError('must be a JSON object such as {"name": ["web"]}.')
        filters = {}
        for key, values in parsed.items():
            if key not in self.allowed:
                # The daemon's own words, which scripts match on.
                raise BadParameter(f"invalid filter '{key}'")
            if isinstance(values, dict) and all(isinstance(on, bool) for on in values.values()):
                filters[key] = [value for value, on in values.items() if on]
            elif isinstance(values, list) and all(isinstance(value, str) for value in values):
                filters[key] = values
            else:
                raise serializers.ValidationError(
                    f"the values of filter '{key}' must be an array of strings (or an object of booleans)."
                )
        return filters


class QueryShape(serializers.Serializer):
    """A query string: unknown parameters are ignored, as the daemon ignores them."""


class ContainerListQuery(QueryShape):
    all = serializers.CharField(required=False, allow_blank=True)
    limit = QueryInt()
    filters = Filters(allowed={"name", "id", "status", "ancestor"})


class ImageListQuery(QueryShape):
    filters = Filters(allowed={"reference", "dangling"})


class ContainerStopQuery(QueryShape):
    t = QueryInt(minimum=-1)


class ContainerLogsQuery(QueryShape):
    tail = Tail(minimum=0)


# -- validation ----------------------------------------------------------------------------------------------------


def _flatten(errors: Any, path: str = "") -> list[str]:
    """DRF's nested error dict → ["HostConfig.RestartPolicy: must be a JSON object.", ...]."""
    if isinstance(errors, dict):
        lines = []
        for key, value in errors.items():
            if key in ("non_field_errors", "__all__"):
                step = path
            elif isinstance(key, int):  # a list's item
                step = f"{path}[{key}]"
            else:
                step = f"{path}.{key}" if path else str(key)
            lines += _flatten(value, step)
        return lines
    if isinstance(errors, list):
        if all(isinstance(e, str) for e in errors):
            return [f"{path}: {' '.join(errors)}" if path else " ".join(errors)]
        lines = []
        for index, value in enumerate(errors):
            if value:
                lines += _flatten(value, f"{path}[{index}]")
        return lines
    return [f"{path}: {errors}" if path else str(errors)]


def validate(shape: type[serializers.Serializer], data: Any, *, where: str) -> dict:
    """`data` read through `shape`, or BadParameter naming each field that is wrong."""
    if where == "body" and not isinstance(data, dict):
        raise BadParameter("invalid JSON in the request body: it must be a JSON object.")
    serializer = shape(data=data)
    if not serializer.is_valid():
        problems = " ".join(_flatten(serializer.errors))
        raise BadParameter(f"invalid {'request body' if where == 'body' else 'query parameter'}: {problems}")
    return dict(serializer.validated_data)


def parse_body(raw: bytes, shape: type[serializers.Serializer]) -> dict:
    """The JSON body (an empty body is an empty object) read through `shape`."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadParameter(f"invalid JSON in the request body: {exc}") from None
    return validate(shape, data, where="body")
