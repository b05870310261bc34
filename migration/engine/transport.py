"""The transport of one migration: how fast its bytes can cross the wire, and which limit binds.

Two kinds of rate appear here; every name says which one it is:

- **wire** bytes/s: bytes on the link, after compression (what the link, the NIC, TCP and the cipher
  carry; compress-then-encrypt, so the cipher sees compressed bytes);
- **memory** bytes/s: guest data carried per second (what pre-copy rounds are counted in). With a
  WAN optimiser of ratio c, memory = c x wire. The codec's limit is on memory bytes/s (it reads
  guest pages).

A migration's wire rate is the smallest of (docs/engine.md, "Transport"):

- its share of the link (water-filling in :func:`~migration.engine.plan_wave`; alone, the params'
  ``bandwidth_bps``) and its host's migration NIC (``bandwidth_bps``);
- ``streams`` x the per-stream TCP limit, min(window / RTT, C x MSS / (RTT x sqrt(loss))) with
  C = sqrt(3/2) (Mathis, Semke, Mahdavi and Ott, 1997). ``socket_buffer_bytes=None`` means buffers
  sized to the bandwidth-delay product (long-distance vMotion does this), so the window never binds;
  an RTT of 0 (a LAN, in this model) removes both TCP limits;
- ``codec_rate_bps / c`` when WAN compression is on (``compression_ratio > 1``);
- ``cipher_rate_bps`` when the move is encrypted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from hybridcloud.core.units import format_bitrate, format_bytes, format_duration, format_loss, format_rate

from .params import PrecopyParams

#: Mathis et al. (1997): a TCP stream with loss rate p carries at most C x MSS / (RTT x sqrt(p)).
MATHIS_C = math.sqrt(1.5)
#: Initial congestion window in segments (RFC 6928), the start of the slow-start ramp.
INITIAL_WINDOW_SEGMENTS = 10
#: Binding limits, in the order ties are broken among a migration's own limits.
LIMITS = ("link", "nic", "window", "loss", "codec", "cipher")
#: The compression ratio the advice assumes for a WAN optimiser that is not there yet.
ADVICE_COMPRESSION = 2.0
_REL = 1e-9


def _per_stream(rtt_s: float, loss: float, socket_buffer_bytes: float | None, mss_bytes: float) -> tuple[float, float]:
    """(window limit, loss limit) of one TCP stream in wire bytes/s; ``inf`` where it does not apply."""
    if rtt_s <= 0.0:
        return math.inf, math.inf
    window = math.inf if socket_buffer_bytes is None else socket_buffer_bytes / rtt_s
    denominator = rtt_s * math.sqrt(loss)  # 0 without loss (or for an RTT too small to matter)
    mathis = MATHIS_C * mss_bytes / denominator if denominator > 0.0 else math.inf
    return window, mathis


def transport_rate_bps(
    *,
    bandwidth_bps: float,
    rtt_s: float,
    loss: float = 0.0,
    streams: int = 1,
    socket_buffer_bytes: float | None = None,
    mss_bytes: float = 1460,
) -> float:
    """Wire bytes/s that ``streams`` TCP streams carry over a path of ``bandwidth_bps``.

    ``min(bandwidth_bps, streams x min(socket_buffer_bytes / rtt_s, C x mss_bytes / (rtt_s x sqrt(loss))))``
    with C = sqrt(3/2) (Mathis et al., 1997). ``socket_buffer_bytes=None``: buffers sized to the
    bandwidth-delay product, the window never binds. ``rtt_s=0``: no TCP limit. Steady state only
    (the slow-start ramp is :func:`slow_start_s`).
    """
    window, mathis = _per_stream(rtt_s, loss, socket_buffer_bytes, mss_bytes)
    per_stream = window if window < mathis else mathis
    return min(bandwidth_bps, streams * per_stream)


def slow_start_s(*, rate_bps: float, rtt_s: float, streams: int = 1, mss_bytes: float = 1460) -> float:
    """Seconds a new connection loses to TCP slow start before it carries ``rate_bps`` (wire).

    Each stream's window must open from the initial 10 segments (RFC 6928) to W = rate / streams x RTT,
    doubling every RTT: k = log2(W / (10 x MSS)) round trips. The bytes sent meanwhile (about W, one
    RTT at full rate) are taken as paying for the connection's handshake RTT, so the loss is k RTTs,
    modelled as a delay before the first byte (0 when W <= 10 x MSS or RTT is 0).
    """
    if rtt_s <= 0.0 or not math.isfinite(rate_bps) or rate_bps <= 0.0:
        return 0.0
    ratio = rate_bps / streams * rtt_s / (INITIAL_WINDOW_SEGMENTS * mss_bytes)
    return rtt_s * math.log2(ratio) if ratio > 1.0 else 0.0


def _key(p: PrecopyParams, over: dict[str, float] | None = None) -> tuple:
    """The transport inputs of ``p``, with ``over`` (a link's ``rtt_s``, ``loss``, ``compression_ratio``) applied."""
    if over:
        return (
            p.bandwidth_bps,
            over.get("rtt_s", p.rtt_s),
            over.get("loss", p.loss),
            p.streams,
            p.socket_buffer_bytes,
            p.mss_bytes,
            p.codec_rate_bps,
            p.cipher_rate_bps,
            over.get("compression_ratio", p.compression_ratio),
        )
    return (
        p.bandwidth_bps,
        p.rtt_s,
        p.loss,
        p.streams,
        p.socket_buffer_bytes,
        p.mss_bytes,
        p.codec_rate_bps,
        p.cipher_rate_bps,
        p.compression_ratio,
    )


_OWN_CACHE: dict[tuple, tuple[dict[str, float], str, float, float]] = {}
_OWN_CACHE_MAX = 4096


def _own(key: tuple) -> tuple[dict[str, float], str, float, float]:
    """(own wire limits, the binding one's name, its rate, slow-start seconds) for a :func:`_key`.

    Cached (a plain dict, cleared when full: cheaper per hit than lru_cache): the migrations of a wave
    share their link's RTT and loss and usually their host's stack.
    """
    hit = _OWN_CACHE.get(key)
    if hit is not None:
        return hit
    if len(_OWN_CACHE) >= _OWN_CACHE_MAX:
        _OWN_CACHE.clear()
    hit = _OWN_CACHE[key] = _own_uncached(key)
    return hit


def _own_uncached(key: tuple) -> tuple[dict[str, float], str, float, float]:
    bandwidth, rtt, loss, streams, buffer, mss, codec, cipher, c = key
    out = {"nic": float(bandwidth)}
    window, mathis = _per_stream(rtt, loss, buffer, mss)
    if window != math.inf:
        out["window"] = streams * window
    if mathis != math.inf:
        out["loss"] = streams * mathis
    if codec is not None and c > 1.0:
        out["codec"] = codec / c
    if cipher is not None:
        out["cipher"] = float(cipher)
    name = min(out, key=out.__getitem__)  # ties go to the first in LIMITS order
    cap = out[name]
    return out, name, cap, slow_start_s(rate_bps=cap, rtt_s=rtt, streams=streams, mss_bytes=mss)


def own_wire_limits(params: PrecopyParams) -> dict[str, float]:
    """The migration's own limits (all but the link share), in wire bytes/s; inapplicable ones left out.

    ``"nic"`` is ``bandwidth_bps``; ``"window"`` and ``"loss"`` are the stream count times the
    per-stream TCP limits; ``"codec"`` is ``codec_rate_bps / compression_ratio`` (compression on
    only); ``"cipher"`` is ``cipher_rate_bps``.
    """
    return dict(_own(_key(params))[0])


def own_limit(params: PrecopyParams, over: dict[str, float] | None = None) -> tuple[str, float, float]:
    """(name, wire bytes/s) of the smallest of the migration's own limits, and its slow-start seconds;
    ``over``: a link's ``rtt_s`` / ``loss`` / ``compression_ratio`` replacing the params' own."""
    _, name, cap, ramp = _own(_key(params, over))
    return name, cap, ramp


def wire_cap_bps(params: PrecopyParams) -> float:
    """The most wire bytes/s this migration can use, whatever its share of the link."""
    return _own(_key(params))[2]


def binding_limit(own_name: str, own_cap: float, share_bps: float | None) -> str:
    """The binding limit's name, given the smallest own limit and the share (rules of :func:`rate_limits`)."""
    if share_bps is None:
        return "link" if own_name == "nic" else own_name
    return "link" if share_bps < own_cap * (1 - _REL) else own_name


#: How the reason sentence names each limit.
LIMIT_PHRASES = {
    "link": "set by the link",
    "link share": "set by its share of the link",
    "nic": "set by the host's migration NIC",
    "window": "set by the TCP window",
    "loss": "set by packet loss",
    "codec": "set by the compression codec",
    "cipher": "set by the cipher",
}


def limit_phrase(binding: str, share_bps: float | None) -> str:
    """A few words naming the binding limit, for sentences (``"set by the TCP window"``)."""
    return LIMIT_PHRASES["link share" if binding == "link" and share_bps is not None else binding]


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The rate of one migration and the limit that sets it.

    - ``rate_bps``: memory bytes/s the migration achieves (compression included);
    - ``binding``: one of ``"link"``, ``"nic"``, ``"window"``, ``"loss"``, ``"codec"``, ``"cipher"``;
    - ``limits``: every applicable limit in memory bytes/s (keys as ``binding``);
    - ``wire_bps``: the same rate on the wire (``rate_bps / compression_ratio``);
    - ``sentence``: the binding limit and its arithmetic, in words;
    - ``advice``: what would lift it, with the numbers computed from the params.
    """

    rate_bps: float
    binding: str
    limits: dict[str, float]
    sentence: str
    advice: list[str] = field(default_factory=list)
    wire_bps: float = 0.0


def rate_limits(params: PrecopyParams, *, share_bps: float | None = None) -> RateLimits:
    """Which limit sets this migration's rate, and what would lift it.

    ``share_bps`` is the migration's share of the link in wire bytes/s (``plan_wave`` and the driver
    know it). When it is None the migration is alone and ``params.bandwidth_bps`` *is* the bandwidth
    available to it: the limit is called ``"link"`` and there is no separate ``"nic"``. With a share,
    ``bandwidth_bps`` is the host's migration NIC (``"nic"``) and the share is ``"link"``; when the share
    equals one of the migration's own limits (water-filling capped it there) that own limit binds.
    Ties among own limits go to the first of :data:`LIMITS`.
    """
    c = params.compression_ratio
    limits_, own_name, own_cap, _ = _own(_key(params))
    own = dict(limits_)
    binding = binding_limit(own_name, own_cap, share_bps)
    link = own.pop("nic") if share_bps is None else float(share_bps)  # alone, the NIC is the link
    wire = {"link": link} | own
    rate_wire = wire[binding]
    limits = {name: w * c for name, w in wire.items()}
    return RateLimits(
        rate_bps=rate_wire * c,
        binding=binding,
        limits=limits,
        sentence=_sentence(params, binding, rate_wire, share_bps),
        advice=_advice(params, binding, rate_wire, wire, share_bps),
        wire_bps=rate_wire,
    )


# ---------------------------------------------------------------------- words


def _streams(n: int) -> str:
    return f"{n} stream{'s' if n != 1 else ''}"


def _memory(params: PrecopyParams, rate_wire: float) -> str:
    """``= X MB/s`` on the wire, with the memory it carries when compression is on."""
    c = params.compression_ratio
    if c > 1.0:
        return f"{format_rate(rate_wire)} on the wire, {format_rate(rate_wire * c)} of memory at {c:g}× compression"
    return format_rate(rate_wire)


def _sentence(params: PrecopyParams, binding: str, rate_wire: float, share_bps: float | None) -> str:
    p = params
    if binding == "link":
        if share_bps is None:
            return f"The link binds: {format_bitrate(8 * rate_wire)} = {_memory(p, rate_wire)}"
        return f"The link share binds: this migration's share of the link is {_memory(p, rate_wire)}"
    if binding == "nic":
        return f"The host's migration NIC binds: {format_bitrate(8 * rate_wire)} = {_memory(p, rate_wire)}"
    if binding == "window":
        assert p.socket_buffer_bytes is not None
        return (
            f"The TCP window binds: {_streams(p.streams)} × {format_bytes(p.socket_buffer_bytes)} / "
            f"{format_duration(p.rtt_s)} = "
            f"{_memory(p, rate_wire)}"
        )
    if binding == "loss":
        return (
            f"Packet loss binds: {_streams(p.streams)} × 1.22 × {p.mss_bytes:g} B / ({format_duration(p.rtt_s)} × "
            f"√{format_loss(p.loss)}) = {_memory(p, rate_wire)} (Mathis et al.)"
        )
    if binding == "codec":
        return (
            f"The WAN compression codec binds: it compresses at most {format_rate(p.codec_rate_bps or 0.0)} of memory "
            f"({format_rate(rate_wire)} on the wire at {p.compression_ratio:g}×)"
        )
    return f"The cipher binds: it encrypts at most {_memory(p, rate_wire)}"


def _rate(params: PrecopyParams, share_bps: float | None) -> float:
    """Memory bytes/s of ``params`` at that share (the rule of :func:`rate_limits`, without the words)."""
    cap = wire_cap_bps(params)
    if share_bps is None:
        return cap * params.compression_ratio
    return min(share_bps, cap) * params.compression_ratio


def _advice(
    params: PrecopyParams, binding: str, rate_wire: float, wire: dict[str, float], share_bps: float | None
) -> list[str]:
    """What would lift the binding limit, each with the rate it would give (computed, not guessed)."""
    if rate_wire <= 0.0:
        return ["nothing moves at a zero share of the link: wait for the link to free up"]
    now = rate_wire * params.compression_ratio
    others = [w for name, w in wire.items() if name != binding]
    ceiling_wire = min(others) if others else math.inf  # the next limit up, on the wire

    def gain(new: float) -> str:
        return f"{new / now:.3g}× as much ({format_rate(new)})"

    return _tcp_advice(params, binding, rate_wire, ceiling_wire, share_bps, gain) + _path_advice(
        params, binding, now, share_bps, gain
    )


def _tcp_advice(
    p: PrecopyParams, binding: str, rate_wire: float, ceiling_wire: float, share_bps: float | None, gain
) -> list[str]:
    """Advice when TCP binds: more streams, bigger socket buffers, fewer losses."""
    out: list[str] = []
    if binding in ("window", "loss"):
        # Enough streams to reach the next limit up, but no more than 8 (or twice as many as now).
        k = max(8, 2 * p.streams)
        if math.isfinite(ceiling_wire):
            k = min(k, max(p.streams + 1, math.ceil(p.streams * ceiling_wire / rate_wire * (1 - _REL))))
        more = _rate(replace(p, streams=k), share_bps)
        out.append(f"{k} streams would carry {gain(more)}")
    if binding == "window":
        target = ceiling_wire if math.isfinite(ceiling_wire) else p.bandwidth_bps
        buffer = target / p.streams * p.rtt_s
        tuned = _rate(replace(p, socket_buffer_bytes=buffer), share_bps)
        full = (share_bps or p.bandwidth_bps) * p.compression_ratio * (1 - _REL)
        what = "fill this link" if tuned >= full else f"carry {gain(tuned)}"
        out.append(
            f"socket buffers of {format_bytes(buffer)} per stream (the bandwidth-delay product of "
            f"{format_bitrate(8 * target)} × "
            f"{format_duration(p.rtt_s)}) would {what}"
        )
    if binding == "loss":
        per_stream = rate_wire / p.streams
        out.append(
            f"the loss rate of {format_loss(p.loss)} caps each stream at "
            f"{format_rate(per_stream * p.compression_ratio)}; fewer "
            f"losses (a cleaner path: {format_loss(p.loss / 4)} would double it) or more streams"
        )
    return out


def _path_advice(p: PrecopyParams, binding: str, now: float, share_bps: float | None, gain) -> list[str]:
    """Advice on the rest of the path: WAN compression, the link, the NIC, the codec, the cipher."""
    out: list[str] = []
    if binding in ("link", "nic", "window", "loss") and p.compression_ratio <= 1.0:
        compressed = _rate(replace(p, compression_ratio=ADVICE_COMPRESSION), share_bps)
        if compressed > now * (1 + _REL):
            out.append(
                f"WAN optimisation ({ADVICE_COMPRESSION:g}× compression) would carry {gain(compressed)} of memory"
            )
    if binding == "link":
        if share_bps is None:
            out.append("a faster link, or a quieter hour when more of it is free")
        else:
            out.append("a quieter hour: fewer migrations or less traffic on the link would give it a larger share")
    if binding == "nic":
        out.append(
            f"a faster migration NIC than {format_bitrate(8 * p.bandwidth_bps)} "
            "(or a second vmknic / migration network)"
        )
    if binding == "codec":
        off = _rate(replace(p, compression_ratio=1.0, codec_rate_bps=None), share_bps)
        faster = _rate(replace(p, codec_rate_bps=(p.codec_rate_bps or 0.0) * 2), share_bps)
        out.append(f"a codec twice as fast (more CPU for compression) would carry {gain(faster)}")
        if off > now:
            out.append(f"without WAN compression it would carry {gain(off)}: the link is faster than the codec")
    if binding == "cipher":
        faster = _rate(replace(p, cipher_rate_bps=(p.cipher_rate_bps or 0.0) * 2), share_bps)
        out.append(f"a cipher twice as fast (AES-NI, more cores for encryption) would carry {gain(faster)}")
    return out
