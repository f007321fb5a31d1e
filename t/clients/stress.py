# SPDX-License-Identifier: GPL-2.0-or-later
"""Many WebSocket connections at full speed against the stress plugin.

Each connection sends numbered messages and reads, at the same time, its
echoes and the plugin thread's own numbered messages, checking every one:
a lost, reordered or corrupted frame fails the run.  Prints one JSON line.
Usage: stress.py URL CONNECTIONS SECONDS
"""
import asyncio
import json
import ssl
import sys
import time

import websockets


def expected_thread_message(seq):
    return "T %d " % seq + chr(ord("a") + seq % 26) * (seq % 2000)


async def one(url, conn_id, seconds, ctx, totals):
    # The server's close frame comes after what its outbox and the socket
    # buffers hold (the plugin's thread keeps them full): on a loaded
    # machine this client can take longer than websockets' default 10 s
    # to read through that.
    async with websockets.connect(url, ssl=ctx, max_size=None,
                                  ping_interval=None, close_timeout=60) as ws:
        deadline = time.monotonic() + seconds
        sent = 0
        state = {"echo": 0, "thread": 0}
        echoed = asyncio.Event()        # set by the reader at each echo, and when it ends

        async def reader():
            try:
                async for msg in ws:
                    if msg.startswith("T "):
                        seq = int(msg.split(" ", 2)[1])
                        if seq != state["thread"] or msg != expected_thread_message(seq):
                            raise AssertionError("conn %d: bad thread message %r..."
                                                 % (conn_id, msg[:40]))
                        state["thread"] += 1
                    else:
                        want = "E %d %d %s" % (conn_id, state["echo"],
                                               "x" * (state["echo"] % 3000))
                        if msg != want:
                            raise AssertionError("conn %d: bad echo %r..." % (conn_id, msg[:40]))
                        state["echo"] += 1
                        echoed.set()
            finally:
                echoed.set()

        async def echoes_until(enough, timeout):
            """Waits for the reader's echoes until enough() holds or the
            reader ends; fails when no echo comes for timeout seconds."""
            while not enough() and not task.done():
                echoed.clear()
                try:
                    await asyncio.wait_for(echoed.wait(), timeout)
                except asyncio.TimeoutError:
                    raise AssertionError("conn %d: no echo for %d s (%d of %d back)"
                                         % (conn_id, timeout, state["echo"], sent))

        task = asyncio.ensure_future(reader())
        while time.monotonic() < deadline and not task.done():
            await ws.send("E %d %d %s" % (conn_id, sent, "x" * (sent % 3000)))
            sent += 1
            # at most 64 in flight: the run checks every frame, not the
            # server's speed, so a slow (sanitizer) build must not fall
            # ever further behind
            await echoes_until(lambda: sent - state["echo"] <= 64, 60)
        # every echo back, then close while the reader keeps draining (a
        # client that stops reading never sees the server's close frame)
        await echoes_until(lambda: state["echo"] == sent, 30)
        if task.done():
            task.result()               # raises what the reader found
        if state["echo"] != sent:
            raise AssertionError("conn %d: %d echoes of %d" % (conn_id, state["echo"], sent))
        await asyncio.wait_for(ws.close(), timeout=90)
        await asyncio.wait_for(task, timeout=30)
        totals["echoes"] += state["echo"]
        totals["thread_messages"] += state["thread"]


async def main():
    url, conns, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    ctx = None
    if url.startswith("wss:"):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    totals = {"echoes": 0, "thread_messages": 0}
    await asyncio.gather(*(one(url, i, seconds, ctx, totals) for i in range(conns)))
    print(json.dumps(totals))


asyncio.run(main())
