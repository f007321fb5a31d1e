# SPDX-License-Identifier: GPL-2.0-or-later
"""Echo round trips with Python's websockets library: text of 0 B, 125 B,
64 KiB and 4 MiB (multi-byte UTF-8), a binary message and a ping.
Usage: echo.py URL   (prints one line per check, exits non-zero on failure)
"""
import asyncio
import ssl
import sys

import websockets


def text(n):
    s = ("é0123456789abcdef" * (n // 17 + 1))
    return s[:n]


async def main(url):
    ctx = None
    if url.startswith("wss:"):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    async with websockets.connect(url, ssl=ctx, max_size=None) as ws:
        for n in (0, 125, 65536, 4 * 1024 * 1024):
            await ws.send(text(n))
            got = await asyncio.wait_for(ws.recv(), 30)
            print("text %d %s" % (n, "ok" if got == text(n) else "BAD"))
        await ws.send(b"\x00\x01\x02\xff")
        got = await asyncio.wait_for(ws.recv(), 30)
        print("binary %s" % ("ok" if got == b"\x00\x01\x02\xff" else "BAD"))
        await asyncio.wait_for(await ws.ping(b"p"), 30)
        print("ping ok")


asyncio.run(main(sys.argv[1]))
