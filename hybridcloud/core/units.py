"""Units for people: the one place that turns bytes, rates, seconds, fractions and instants into text.

`static/js/units.js` (`HC.units`) holds the same rules for the live pages; a browser test feeds both the same values
and asserts the same strings. Change one, change the other.

The rules:

- Sizes are binary and labelled so: B, KiB, MiB, GiB, TiB, PiB, EiB (1 KiB = 1024 B). One decimal below 10 of the
  unit, none from 10 up: "512 MiB", "2.0 GiB", "16 GiB", "1.5 TiB". Never "GB" for 2**30.
- Data rates are decimal bytes per second: "47.7 MB/s" (1 MB = 10**6 B), "12.5 GB/s" from 10 GB/s. Links and NICs
  are bits per second: "10 Gbit/s", "250 Mbit/s", "1.25 Gbit/s" (1 Gbit/s = 125,000,000 B/s).
- Durations have one style: "123 ms" below a second, "4.2 s" below a minute, "3 min 20 s" below an hour,
  "2 h 05 min" from an hour.
- Percentages: "4.2 %" (and "+4.2 %" for a signed change); a loss rate to three significant digits: "0.01 %".
- Usage bars: `usage_level(fraction)` is "ok" below 70 %, "warn" from 70 %, "high" from 90 % (CSS `.bar.warn`,
  `.bar.high`).
- Times: every instant is shown in the operator's time zone (settings.TIME_ZONE), and the zone is named:
  "2026-12-01 14:05 UTC", "14:05:09 UTC". The server renders them so (`hybridcloud.core.times`, the one part that
  reads Django's settings); the page's JavaScript formats live instants in the same zone (read from
  `<html data-time-zone>`), never in the browser's own.
- Numbers are rounded half away from zero on their exact value (as JavaScript's toFixed does) and thousands are
  grouped with commas. An unknown value (None, "", NaN, not a number) reads "–".

This module imports nothing but the standard library, so the pure engine (`migration.engine`) words its sentences
with the same rules as the pages.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal

KIB = 2**10
MIB = 2**20
GIB = 2**30
TIB = 2**40
PIB = 2**50
EIB = 2**60

KB = 10**3
MB = 10**6
GB = 10**9

UNKNOWN = "–"

USAGE_WARN = 0.7
USAGE_HIGH = 0.9

_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
_BITS = ((1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s"), (1.0, "bit/s"))
_EXACT = Context(prec=400)  # enough digits for any float, so rounding never fails


def _number(value) -> float | None:
    """The value as a finite float, or None when it is unknown."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _round(x: float, digits: int) -> Decimal:
    """x rounded to `digits` decimals, half away from zero on its exact value (as JavaScript's toFixed)."""
    return Decimal(x).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP, context=_EXACT)


def _fixed(x: float, digits: int) -> str:
    """A non-negative x with `digits` decimals, commas grouping the thousands."""
    return f"{_round(x, digits):,.{digits}f}"


def _signed(x: float, text: str) -> str:
    """Prefix a minus for a negative value that does not round to zero."""
    return "-" + text if x < 0 and any(c in "123456789" for c in text) else text


def format_bytes(n) -> str:
    """A size in bytes, binary units: 0 → "0 B", 1023 → "1023 B", 1024 → "1.0 KiB", 2**29 → "512 MiB"."""
    x = _number(n)
    if x is None:
        return UNKNOWN
    a = abs(x)
    unit = 0
    while unit < len(_BINARY) - 1 and a >= 1024 ** (unit + 1):
        unit += 1
    v = a / 1024**unit
    text = _fixed(v, 1) if unit and _round(v, 1) < 10 else _fixed(v, 0)
    if text == "1,024" and unit < len(_BINARY) - 1:
        unit, text = unit + 1, "1.0"
    return _signed(x, f"{text} {_BINARY[unit]}")


def format_rate(bytes_per_s) -> str:
    """A data rate in bytes per second, decimal: "47.7 MB/s", and "12.5 GB/s" from 10 GB/s."""
    x = _number(bytes_per_s)
    if x is None:
        return UNKNOWN
    a = abs(x)
    text = f"{_fixed(a / GB, 1)} GB/s" if a >= 10 * GB else f"{_fixed(a / MB, 1)} MB/s"
    return _signed(x, text)


def format_bitrate(bits_per_s) -> str:
    """A link's or NIC's rate in bits per second: "10 Gbit/s", "250 Mbit/s", "1.25 Gbit/s"."""
    x = _number(bits_per_s)
    if x is None:
        return UNKNOWN
    a = abs(x)
    for i, (scale, unit) in enumerate(_BITS):
        if a >= scale or scale == 1.0:
            text = _fixed(a / scale, 2).rstrip("0").rstrip(".")
            if text == "1,000" and i > 0:
                text, unit = "1", _BITS[i - 1][1]
            return _signed(x, f"{text} {unit}")
    raise AssertionError("unreachable")


def format_mbit(mbit) -> str:
    """A bandwidth stored in Mbit/s (inventory links): 10000 → "10 Gbit/s"."""
    x = _number(mbit)
    return UNKNOWN if x is None else format_bitrate(x * 1e6)


def format_duration(seconds) -> str:
    """Seconds in the one style: "123 ms", "4.2 s", "3 min 20 s", "2 h 05 min"."""
    x = _number(seconds)
    if x is None:
        return UNKNOWN
    a = abs(x)
    whole = int(_round(a, 0))
    if a < 1 and _round(a * 1000, 0) < 1000:
        text = f"{_fixed(a * 1000, 0)} ms"
    elif _round(a, 1) < 60:
        text = f"{_fixed(a, 1)} s"
    elif whole < 3600:
        text = f"{whole // 60} min {whole % 60:02d} s"
    else:
        minutes = int(_round(a / 60, 0))
        text = f"{minutes // 60:,} h {minutes % 60:02d} min"
    return _signed(x, text)


def format_percent(fraction) -> str:
    """A fraction as a percentage: 0.042 → "4.2 %"."""
    x = _number(fraction)
    return UNKNOWN if x is None else _signed(x, f"{_fixed(abs(x * 100), 1)} %")


def format_loss(fraction) -> str:
    """A packet loss rate as a percentage to three significant digits, since a hundredth of a percent already caps a
    long link's streams: 0.0001 → "0.01 %", 0.0125 → "1.25 %", 0 → "0 %"."""
    x = _number(fraction)
    if x is None:
        return UNKNOWN
    pct = abs(x) * 100
    if pct == 0:
        return "0 %"
    digits = max(0, 2 - math.floor(math.log10(pct)))
    text = _fixed(pct, digits)
    return _signed(x, (text.rstrip("0").rstrip(".") if "." in text else text) + " %")


def format_signed_percent(fraction) -> str:
    """A change as a signed percentage: 0.042 → "+4.2 %", -0.1 → "-10.0 %", 0 → "+0.0 %"."""
    x = _number(fraction)
    if x is None:
        return UNKNOWN
    text = format_percent(x)
    return text if text.startswith("-") else "+" + text


def usage_fraction(used, total) -> float:
    """How full something is, 0.0 to 1.0 (0.0 when the total is unknown or zero)."""
    u, t = _number(used), _number(total)
    if not t or t <= 0:
        return 0.0
    return min(1.0, max(0.0, (u or 0.0) / t))


def usage_level(fraction) -> str:
    """The usage bar's level: "ok" below 70 %, "warn" from 70 %, "high" from 90 % (CSS .bar.warn, .bar.high)."""
    x = _number(fraction)
    if x is None or x < USAGE_WARN:
        return "ok"
    return "high" if x >= USAGE_HIGH else "warn"
