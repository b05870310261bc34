"""A delaying TCP relay: the WAN between the source and the destination QEMU (bench/qemu).

``python relay.py --listen PORT --target PORT --rtt-ms 50 --window-bytes 2097152``

Rules (tc netem does not exist on these kernels, see /work/shared/PITFALLS.md):

- every chunk read from one side is written to the other side RTT/2 later (both directions);
- each direction has a window: at most ``window`` bytes are in flight, and a chunk's bytes are
  credited back one RTT after it was read (the time its acknowledgement would take to return),
  so one connection carries at most ``window / RTT`` bytes per second, as one TCP stream with
  that socket buffer does;
- slow start: the window in use opens from 10 segments of 1460 bytes (RFC 6928) and doubles every
  RTT from the first byte until it reaches ``window`` (no loss, so no congestion avoidance).

It prints ``READY <port>`` on stdout once listening, serves connections until killed, and on
exit prints ``RELAYED <bytes forward> <bytes back>``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import signal
import sys

CHUNK = 64 * 1024
INITIAL_WINDOW = 10 * 1460
#: How late (host scheduling) a piece of credit may be used and still return on its own schedule.
MAX_LATE_S = 0.010


class Direction:
    """One direction of one connection: delay, window credit and slow start.

    Credit is a queue of (time it became free, bytes). Bytes read on a piece of credit give it back
    one RTT after the moment the credit became free (not after the moment the relay got round to
    reading, up to ``MAX_LATE_S`` late): a busy host that wakes the relay a few ms late does not
    stretch every RTT, so the rate stays window / RTT.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay_s: float, window: int):
        self.reader = reader
        self.writer = writer
        self.delay_s = delay_s
        self.window = window
        self.free: collections.deque[list] = collections.deque()
        self.granted = 0  # credit handed out so far (the window in use)
        self.credit = asyncio.Event()
        self.bytes = 0
        self.started: float | None = None

    def cwnd(self, now: float) -> float:
        """The window in use: slow start from INITIAL_WINDOW, doubling every RTT, up to ``window``."""
        if self.delay_s <= 0.0:
            return float(self.window)
        if self.started is None:
            return float(min(self.window, INITIAL_WINDOW))
        rtts = (now - self.started) / (2 * self.delay_s)
        return float(self.window) if rtts >= 40 else min(float(self.window), INITIAL_WINDOW * 2.0**rtts)

    def _grow(self, now: float) -> None:
        extra = int(self.cwnd(now)) - self.granted
        if extra > 0:
            self.free.append([now, extra])
            self.granted += extra

    def _release(self, at: float, n: int) -> None:
        if self.free and at - self.free[-1][0] < 0.001:
            self.free[-1][1] += n  # merge credit freed within a millisecond
        else:
            self.free.append([at, n])
        self.credit.set()

    def _deliver(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    def _close(self) -> None:
        if not self.writer.is_closing():
            if self.writer.can_write_eof():
                self.writer.write_eof()
            else:
                self.writer.close()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        rtt = 2 * self.delay_s
        try:
            while True:
                self._grow(loop.time())
                while not self.free:
                    self.credit.clear()
                    if self.granted < self.window:  # slow start: the window also opens with time
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self.credit.wait(), max(self.delay_s / 2, 0.001))
                    else:
                        await self.credit.wait()
                    self._grow(loop.time())
                available = sum(n for _, n in self.free)
                data = await self.reader.read(min(CHUNK, available))
                now = loop.time()
                if self.started is None:
                    self.started = now
                if not data:
                    loop.call_at(now + self.delay_s, self._close)
                    return
                self.bytes += len(data)
                loop.call_at(now + self.delay_s, self._deliver, data)
                need = len(data)
                anchor = now
                while need > 0:  # the credit read comes back at once, on the latest schedule it used
                    piece = self.free[0]
                    take = min(need, piece[1])
                    anchor = max(piece[0], now - MAX_LATE_S)
                    piece[1] -= take
                    need -= take
                    if piece[1] <= 0:
                        self.free.popleft()
                loop.call_at(anchor + rtt, self._release, anchor + rtt, len(data))
        except (ConnectionError, OSError):
            loop.call_at(loop.time() + self.delay_s, self._close)


async def main(args: argparse.Namespace) -> None:
    delay = args.rtt_ms / 2000.0
    conns: list[tuple[Direction, Direction]] = []

    async def handle(src_reader: asyncio.StreamReader, src_writer: asyncio.StreamWriter) -> None:
        dst_reader, dst_writer = await asyncio.open_connection("127.0.0.1", args.target)
        fwd = Direction(src_reader, dst_writer, delay, args.window_bytes)
        back = Direction(dst_reader, src_writer, delay, args.window_bytes)
        conns.append((fwd, back))
        try:
            await asyncio.gather(fwd.run(), back.run())
            await asyncio.sleep(delay + 0.05)
        except asyncio.CancelledError:
            pass
        for w in (dst_writer, src_writer):
            w.close()

    server = await asyncio.start_server(handle, "127.0.0.1", args.listen)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"READY {args.listen}", flush=True)
    async with server:
        await stop.wait()
    print(f"RELAYED {sum(f.bytes for f, _ in conns)} {sum(b.bytes for _, b in conns)}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--target", type=int, required=True)
    parser.add_argument("--rtt-ms", type=float, required=True)
    parser.add_argument("--window-bytes", type=int, required=True)
    asyncio.run(main(parser.parse_args()))
    sys.exit(0)
