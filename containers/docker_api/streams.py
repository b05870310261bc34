"""Docker's stream formats: the multiplexed log framing and the newline-delimited JSON progress of a pull."""

from __future__ import annotations

import asyncio
import hashlib
import json
import struct
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

STDOUT, STDERR = 1, 2
MULTIPLEXED = "application/vnd.docker.multiplexed-stream"
PULL_SECONDS = 1.2  # a simulated pull takes about this long, whatever the image's size
DOWNLOAD_STEPS = 4


def frame(stream: int, payload: bytes) -> bytes:
    """One frame: [stream, 0, 0, 0, size as big-endian uint32] then the payload."""
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def multiplex(lines: Iterable[tuple[int, str]]) -> bytes:
    """Lines (stream, text) framed one per frame, each ending with a newline."""
    return b"".join(frame(stream, (text if text.endswith("\n") else text + "\n").encode()) for stream, text in lines)


def demultiplex(data: bytes) -> list[tuple[int, bytes]]:
    """The inverse of multiplex: [(stream, payload)]; for tests and clients."""
    frames, offset = [], 0
    while offset < len(data):
        stream, size = struct.unpack(">BxxxL", data[offset : offset + 8])
        frames.append((stream, data[offset + 8 : offset + 8 + size]))
        offset += 8 + size
    return frames


# -- pull progress --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    id: str
    size: int


def layers_of(digest: str, size_bytes: int) -> list[Layer]:
    """The image's layers, derived from its digest so the same image always shows the same layers: 2 to 6 layers,
    the first the largest (a base image), their sizes summing to the image's."""
    seed = hashlib.sha256(digest.encode()).hexdigest()
    count = 2 + int(seed[0], 16) % 5
    weights = [8] + [1 + int(seed[2 + i], 16) % 5 for i in range(count - 1)]
    total = sum(weights)
    sizes = [size_bytes * w // total for w in weights]
    sizes[0] += size_bytes - sum(sizes)
    return [
        Layer(hashlib.sha256(f"{digest}/{i}".encode()).hexdigest()[:12], max(size, 1)) for i, size in enumerate(sizes)
    ]


def human_size(value: float) -> str:
    """Docker's HumanSize: decimal units, 3 significant digits (12.3MB, 188MB, 1.24GB)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.3g}{unit}"
        value /= 1000
    return f"{value:.3g}TB"


def progress_bar(current: int, total: int, width: int = 50) -> str:
    """The bar the daemon puts in "progress": [=====>     ]  12.3MB/45.6MB."""
    filled = int(width * current / total) if total else width
    arrow = ">" if filled < width else ""
    bar = "=" * max(filled - (1 if arrow else 0), 0) + arrow + " " * (width - filled)
    return f"[{bar}] {human_size(current):>8}/{human_size(total)}"


def pull_messages(*, repository: str, tag: str, digest: str, size_bytes: int, already_present: bool) -> list[dict]:
    """The messages of one pull, in order, as the Docker daemon writes them."""
    shown = repository if "/" in repository else f"library/{repository}"
    reference = f"{repository}:{tag}"
    if already_present:
        return [
            {"status": f"Pulling from {shown}", "id": tag},
            {"status": f"Digest: {digest}"},
            {"status": f"Status: Image is up to date for {reference}"},
        ]
    layers = layers_of(digest, size_bytes)
    messages: list[dict] = [{"status": f"Pulling from {shown}", "id": tag}]
    messages += [{"status": "Pulling fs layer", "progressDetail": {}, "id": layer.id} for layer in layers]
    for layer in layers:
        for step in range(1, DOWNLOAD_STEPS + 1):
            current = layer.size * step // (DOWNLOAD_STEPS + 1)
            messages.append(
                {
                    "status": "Downloading",
                    "progressDetail": {"current": current, "total": layer.size},
                    "progress": progress_bar(current, layer.size),
                    "id": layer.id,
                }
            )
        messages.append({"status": "Verifying Checksum", "progressDetail": {}, "id": layer.id})
        messages.append({"status": "Download complete", "progressDetail": {}, "id": layer.id})
    for layer in layers:
        messages.append(
            {
                "status": "Extracting",
                "progressDetail": {"current": layer.size, "total": layer.size},
                "progress": progress_bar(layer.size, layer.size),
                "id": layer.id,
            }
        )
        messages.append({"status": "Pull complete", "progressDetail": {}, "id": layer.id})
    messages.append({"status": f"Digest: {digest}"})
    messages.append({"status": f"Status: Downloaded newer image for {reference}"})
    return messages


def error_message(message: str) -> dict:
    return {"errorDetail": {"message": message}, "error": message}


async def json_stream(messages: list[dict], seconds: float = PULL_SECONDS) -> AsyncIterator[bytes]:
    """The messages as newline-delimited JSON, spread over `seconds` so the CLI draws the transfer."""
    pause = seconds / max(len(messages), 1)
    for message in messages:
        yield (json.dumps(message) + "\r\n").encode()
        if pause:
            await asyncio.sleep(pause)
