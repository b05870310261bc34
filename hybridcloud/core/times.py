"""Instants for people, in the operator's time zone with the zone named (the time rule of `hybridcloud.core.units`;
`static/js/units.js` formats live instants the same way)."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime

from django.conf import settings

from hybridcloud.core.units import UNKNOWN


def time_zone_name() -> str:
    """The operator's time zone, as settings.TIME_ZONE names it; every instant on a page is shown in it."""
    return settings.TIME_ZONE or "UTC"


def _local(value) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zoneinfo.ZoneInfo(time_zone_name()))


def format_datetime(value, *, seconds: bool = False) -> str:
    """An instant in the operator's time zone, named: "2026-12-01 14:05 UTC" (with seconds: "14:05:09")."""
    local = _local(value)
    if local is None:
        return UNKNOWN
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + " " + time_zone_name()


def format_time(value, *, seconds: bool = True) -> str:
    """The time of day of an instant in the operator's time zone, named: "14:05:09 UTC" (without seconds: "14:05")."""
    local = _local(value)
    return UNKNOWN if local is None else local.strftime("%H:%M:%S" if seconds else "%H:%M") + " " + time_zone_name()
