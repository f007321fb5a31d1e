# SPDX-License-Identifier: GPL-2.0-or-later
"""The soak client: CONNECTIONS OpenSRF WebSocket clients for SECONDS.

Each connection runs a mix of calls, one at a time with a short pause
between them, checking every answer: stateless (opensrf.math add),
stateful (CONNECT, session.set/get on the same worker, DISCONNECT),
streaming (opensrf.test stream), large results (opensrf.test large) and,
in about 1% of turns, a malformed message that must get its clear answer
(STATUS 400 on the thread, or close 1007 for text that is not JSON).  A
connection ends after a random number of turns and a new one takes its
place.

About 1% of the connections (at least one) are hostile instead, one
attack per connection, in turn: a CONNECT flood (one frame of thousands
of CONNECTs, then reading for a while), a non-reader (large results
asked for, never read, the connection held), an oversized frame (past
the maximum message size: it must be closed with 1009).  The healthy
clients must not notice them.

Prints one JSON object: calls, errors by kind (the healthy clients'),
hostile connections by kind and how each ended, connections.
Usage: soak.py URL CONNECTIONS SECONDS [MAX_MESSAGE_BYTES]
"""
import asyncio
import json
import random
import sys
import time

import websockets

CALL_TIMEOUT = 60


def message(mtype, trace, payload=None):
    p = {"threadTrace": str(trace), "type": mtype, "locale": "en-US",
         "tz": "America/New_York", "api_level": 1}
    if payload is not None:
        p["payload"] = payload
    return {"__c": "osrfMessage", "__p": p}


def request(trace, method, params):
    return message("REQUEST", trace, {"__c": "osrfMethod",
                                      "__p": {"method": method, "params": params}})


class Conn:
    def __init__(self, ws, stats):
        self.ws, self.stats, self.trace, self.serial = ws, stats, 0, 0

    def thread(self):
        self.serial += 1
        return "0.soak%d.%d" % (id(self) % 100000, self.serial)

    async def send(self, service, thread, *msgs):
        await self.ws.send(json.dumps({"service": service, "thread": thread,
                                       "osrf_msg": list(msgs)}, separators=(",", ":")))

    async def collect(self, thread):
        """Results and the final status of one request on thread."""
        results = []
        deadline = time.monotonic() + CALL_TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return results, "timeout"
            raw = await asyncio.wait_for(self.ws.recv(), timeout=left)
            frame = json.loads(raw)
            if frame.get("thread") != thread:
                return results, "foreign_thread"
            for m in frame["osrf_msg"]:
                p = m["__p"]
                if p["type"] == "RESULT":
                    results.append(p["payload"]["__p"]["content"])
                elif p["type"] == "STATUS":
                    code = int(p["payload"]["__p"]["statusCode"])
                    if code >= 205 or code == 200:
                        return results, code

    async def call(self, service, method, params, thread=None):
        thread = thread or self.thread()
        self.trace += 1
        await self.send(service, thread, request(self.trace, method, params))
        return await self.collect(thread)

    def check(self, kind, ok, status):
        self.stats["calls"][kind] = self.stats["calls"].get(kind, 0) + 1
        if not ok:
            why = "%s:status_%s" % (kind, status) if status != 205 else kind + ":wrong_result"
            self.stats["errors"][why] = self.stats["errors"].get(why, 0) + 1

    async def stateless(self):
        a, b = random.randint(0, 10**6), random.randint(0, 10**6)
        res, st = await self.call("opensrf.math", "add", [a, b])
        self.check("stateless", st == 205 and res == [a + b], st)

    async def stateful(self):
        t = self.thread()
        await self.send("opensrf.test", t, message("CONNECT", 0))
        _, st = await self.collect(t)
        ok = st == 200
        if ok:
            v = "v%d" % random.randint(0, 10**9)
            await self.call("opensrf.test", "session.set", ["k", v], thread=t)
            res, st = await self.call("opensrf.test", "session.get", ["k"], thread=t)
            ok = st == 205 and res == [v]
        await self.send("opensrf.test", t, message("DISCONNECT", 0))
        self.check("stateful", ok, st)

    async def streaming(self):
        n = random.randint(10, 300)
        res, st = await self.call("opensrf.test", "stream", [n])
        self.check("streaming", st == 205 and res == list(range(1, n + 1)), st)

    async def large(self):
        n = random.choice([100_000, 300_000, 1_100_000])
        res, st = await self.call("opensrf.test", "large", [n])
        self.check("large", st == 205 and len(res) == 1 and len(res[0]) == n, st)

    async def malformed(self):
        """Returns False when the connection is closed (as it must be)."""
        kind = random.choice(["bad_type", "bad_service", "not_json"])
        if kind == "not_json":
            await self.ws.send("this is not json {")
            try:
                await asyncio.wait_for(self.ws.recv(), timeout=CALL_TIMEOUT)
                ok = False
            except websockets.ConnectionClosed as e:
                ok = e.rcvd is not None and e.rcvd.code == 1007
            self.check("malformed", ok, "no_1007")
            return False
        t = self.thread()
        if kind == "bad_type":
            await self.send("opensrf.math", t, message("RESULT", 1))
        else:
            await self.send("opensrf:math", t, request(1, "add", [1, 2]))
        _, st = await self.collect(t)
        self.check("malformed", st == 400, st)
        return True


async def one_connection(url, stats, deadline):
    async with websockets.connect(url, max_size=None, ping_interval=None,
                                  open_timeout=30, close_timeout=10) as ws:
        stats["connections"] += 1
        c = Conn(ws, stats)
        turns = random.randint(20, 200)
        for _ in range(turns):
            if time.monotonic() > deadline:
                break
            r = random.random()
            if r < 0.01:
                if not await c.malformed():
                    return
            elif r < 0.50:
                await c.stateless()
            elif r < 0.70:
                await c.stateful()
            elif r < 0.90:
                await c.streaming()
            else:
                await c.large()
            await asyncio.sleep(random.uniform(0.5, 3.0))     # a user's pace between calls
        await ws.close()


FLOOD_CONNECTS = 5000
NON_READER_CALLS = 8
NON_READER_HOLD = 20


def tally(stats, kind, outcome):
    h = stats["hostile"].setdefault(kind, {})
    h[outcome] = h.get(outcome, 0) + 1


def closed_how(e):
    return "closed_%d" % e.rcvd.code if e.rcvd is not None else "dropped"


async def connect_flood(ws):
    """One frame of CONNECTs on one thread; reads what comes for 5 s."""
    msgs = [message("CONNECT", i) for i in range(FLOOD_CONNECTS)]
    await ws.send(json.dumps({"service": "opensrf.test", "thread": "0.flood",
                              "osrf_msg": msgs}, separators=(",", ":")))
    frames, deadline = 0, time.monotonic() + 5
    try:
        while time.monotonic() < deadline:
            await asyncio.wait_for(ws.recv(), timeout=deadline - time.monotonic())
            frames += 1
    except asyncio.TimeoutError:
        pass
    return "read_%s_frames" % ("0" if frames == 0 else "some")


async def non_reader(ws):
    """Asks for large results and never reads them, holding on a while."""
    for i in range(NON_READER_CALLS):
        await ws.send(json.dumps({"service": "opensrf.test", "thread": "0.nr%d" % i,
                                  "osrf_msg": [request(1, "large", [1_100_000])]},
                                 separators=(",", ":")))
    await asyncio.sleep(NON_READER_HOLD)     # the attack: holding its replies unread
    return "held_%d_s" % NON_READER_HOLD


async def oversized(ws, max_message):
    """A frame past the maximum message size: closed with 1009."""
    await ws.send("x" * (max_message + 1))
    await asyncio.wait_for(ws.recv(), timeout=CALL_TIMEOUT)
    return "answered"


async def hostile(url, stats, deadline, max_message):
    attacks = [("connect_flood", connect_flood), ("non_reader", non_reader),
               ("oversized", lambda ws: oversized(ws, max_message))]
    turn = random.randrange(len(attacks))
    await asyncio.sleep(random.uniform(5, 15))      # after the healthy ones are in
    while time.monotonic() < deadline:
        kind, attack = attacks[turn % len(attacks)]
        turn += 1
        try:
            async with websockets.connect(url, max_size=None, ping_interval=None,
                                          open_timeout=30, close_timeout=5) as ws:
                stats["connections"] += 1
                outcome = await attack(ws)
        except websockets.ConnectionClosed as e:
            outcome = closed_how(e)
        except (OSError, asyncio.TimeoutError, websockets.InvalidHandshake) as e:
            outcome = "error_" + type(e).__name__
        tally(stats, kind, outcome)
        if kind == "oversized" and outcome != "closed_1009":
            stats["errors"]["hostile:oversized:not_1009"] = \
                stats["errors"].get("hostile:oversized:not_1009", 0) + 1
        await asyncio.sleep(random.uniform(5, 15))      # the pace of the attacks


async def worker(url, stats, deadline):
    await asyncio.sleep(random.uniform(0, 10))      # spread the first connects
    while time.monotonic() < deadline:
        try:
            await one_connection(url, stats, deadline)
        except (websockets.ConnectionClosed, OSError, asyncio.TimeoutError,
                websockets.InvalidHandshake, ValueError, KeyError) as e:
            why = "connection:" + type(e).__name__
            stats["errors"][why] = stats["errors"].get(why, 0) + 1
            await asyncio.sleep(1)      # back off before connecting again


async def main():
    url, conns, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    max_message = int(sys.argv[4]) if len(sys.argv) > 4 else 16 * 1024 * 1024
    stats = {"calls": {}, "errors": {}, "hostile": {}, "connections": 0}
    deadline = time.monotonic() + seconds
    t0 = time.monotonic()
    n_hostile = max(1, round(conns / 100))
    await asyncio.gather(*(worker(url, stats, deadline) for _ in range(conns - n_hostile)),
                         *(hostile(url, stats, deadline, max_message)
                           for _ in range(n_hostile)))
    stats["hostile_connections"] = n_hostile
    stats["seconds"] = round(time.monotonic() - t0, 1)
    stats["total_calls"] = sum(stats["calls"].values())
    stats["total_errors"] = sum(stats["errors"].values())
    print(json.dumps(stats, sort_keys=True))


asyncio.run(main())
