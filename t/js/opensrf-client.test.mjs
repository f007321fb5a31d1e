// SPDX-License-Identifier: GPL-2.0-or-later
// Unit tests of js/opensrf-client.js's pure logic against a fake WebSocket
// (node --test; t/15-js-client.t runs them under make check).  The real
// browser, gateway and OpenSRF are in t/28-browser-client.t.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenSRF, Connection, ClientSession, SharedConnection, serveTabs, backoffDelay, newThread }
  from '../../js/opensrf-client.js';

// A WebSocket that records what is sent and lets the test play the gateway.
function fakeSockets() {
  const made = [];
  class FakeWebSocket {
    constructor(url) { this.url = url; this.sent = []; this.readyState = 0; made.push(this); }
    send(data) { assert.equal(this.readyState, 1, 'send only on an open socket'); this.sent.push(data); }
    close(code = 1000) { this.readyState = 3; this.onclose?.({ code }); }
    open() { this.readyState = 1; this.onopen?.(); }
    reply(obj) { this.onmessage?.({ data: JSON.stringify(obj) }); }
    die(code = 1006) { this.readyState = 3; this.onclose?.({ code }); }
  }
  return { made, FakeWebSocket };
}

function setup(options = {}) {
  const { made, FakeWebSocket } = fakeSockets();
  const connection = new Connection({ url: 'wss://gw.example:7682/osrf-websocket-translator',
    WebSocket: FakeWebSocket, reconnectBase: 5, reconnectMax: 20, ...options });
  return { made, connection, session: (svc) => new ClientSession(svc, { connection }) };
}

// until(check, what): waits (bounded: 200 steps of 2 ms) for what a timer
// or a message will make true, then asserts it.
const tick = (ms) => new Promise((r) => setTimeout(r, ms));
const until = async (check, what) => {
  for (let i = 0; i < 200 && !check(); i++) await tick(2);
  assert.ok(check(), what);
};
const status = (trace, cls, text, code) => ({ __c: 'osrfMessage', __p: { threadTrace: trace, type: 'STATUS',
  payload: { __c: cls, __p: { status: text, statusCode: code } } } });
const result = (trace, content, cls = 'osrfResult', code = '200') => ({ __c: 'osrfMessage', __p: {
  threadTrace: trace, type: 'RESULT', payload: { __c: cls, __p: { status: 'OK', statusCode: code, content } } } });

test('frames are built as opensrf.js builds them', async () => {
  OpenSRF.tz = 'America/New_York';
  const { made, session } = setup();
  const ses = session('opensrf.math');
  assert.match(ses.thread, /^0\.\d+\d{13}$/);
  ses.connect();
  ses.request('add', 2, 3).send();
  made[0].open();
  made[0].reply({ thread: ses.thread, osrf_msg: [status('0', 'osrfConnectStatus', 'Connection Successful', '200')] });
  ses.disconnect();
  assert.deepEqual(made[0].sent, [
    `{"service":"opensrf.math","thread":"${ses.thread}","osrf_msg":[{"__c":"osrfMessage","__p":`
      + '{"threadTrace":0,"type":"CONNECT","payload":"null","locale":"en-US","tz":"America/New_York"}}]}',
    `{"service":"opensrf.math","thread":"${ses.thread}","osrf_msg":[{"__c":"osrfMessage","__p":`
      + '{"threadTrace":1,"type":"REQUEST","payload":{"__c":"osrfMethod","__p":{"method":"add","params":[2,3]}},'
      + '"locale":"en-US","tz":"America/New_York","api_level":1}}]}',
    `{"service":"opensrf.math","thread":"${ses.thread}","osrf_msg":[{"__c":"osrfMessage","__p":`
      + '{"threadTrace":2,"type":"DISCONNECT","payload":"null","locale":"en-US","tz":"America/New_York"}}]}',
  ]);
  assert.equal(made.length, 1, 'one socket for everything');
});

test('threads differ between sessions', () => {
  const seen = new Set(Array.from({ length: 50 }, newThread));
  assert.equal(seen.size, 50);
});

test('results and completion, status codes as strings or numbers', async () => {
  const { made, session } = setup();
  const ses = session('opensrf.test');
  const got = [];
  let completed = 0;
  const req = ses.request({ method: 'stream', params: [2],
    onresponse: (r) => got.push(r.recv().content()), oncomplete: () => completed++ }).send();
  made[0].open();
  made[0].reply({ thread: ses.thread, osrf_msg: [result(0, 1, 'osrfResult', 200), result('0', 2)] });
  made[0].reply({ thread: ses.thread, osrf_msg: [status('0', 'osrfConnectStatus', 'Request Complete', 205)] });
  assert.deepEqual(got, [1, 2]);
  assert.equal(completed, 1);
  assert.deepEqual(await req.results(), [1, 2]);
  assert.equal(ses.connection.sessions.size, 0, 'a finished stateless session is forgotten');
});

test("the router's 404 (threadTrace 1) reaches the request on that thread", async () => {
  const { made, session } = setup();
  const ses = session('opensrf.nope');
  let error;
  const req = ses.request({ method: 'x', onerror: (e) => { error = e; } }).send();
  made[0].open();
  made[0].reply({ thread: ses.thread, osrf_msg: [status('1', 'osrfServiceException', 'Service Not Found', '404')] });
  assert.equal(error.status, 404);
  assert.equal(error.kind, 'service');
  await assert.rejects(req.results(), /404 Service Not Found/);
});

test('a method exception goes to onmethoderror, else onerror', () => {
  const { made, session } = setup();
  const ses = session('opensrf.math');
  const calls = [];
  ses.request({ method: 'div', params: [1, 0], onmethoderror: (r, code, text) => calls.push([r.reqid, code, text]) }).send();
  ses.request({ method: 'div', params: [1, 0], onerror: (e) => calls.push([e.kind, e.status]) }).send();
  made[0].open();
  made[0].reply({ thread: ses.thread, osrf_msg: [status(0, 'osrfMethodException', 'Division by zero', 500),
    status(1, 'osrfMethodException', 'Division by zero', '500')] });
  assert.deepEqual(calls, [[0, 500, 'Division by zero'], ['method', 500]]);
});

test('partial results are put back together', async () => {
  const { made, session } = setup();
  const ses = session('opensrf.test');
  const req = ses.request('partial').send();
  made[0].open();
  const text = JSON.stringify({ list: [1, 2, 3], name: 'größer' });
  const pieces = [text.slice(0, 5), text.slice(5, 17), text.slice(17)];
  made[0].reply({ thread: ses.thread, osrf_msg: pieces.map((p) => result(0, p, 'osrfResultPartial', 206)) });
  made[0].reply({ thread: ses.thread, osrf_msg: [result(0, null, 'osrfResultPartialComplete', '204'),
    result(0, 'after'), status(0, 'osrfConnectStatus', 'Request Complete', 205)] });
  assert.deepEqual(await req.results(), [{ list: [1, 2, 3], name: 'größer' }, 'after']);
});

test('transport_error calls ontransporterror', () => {
  const { made, session } = setup();
  const ses = session('opensrf.test');
  let got;
  ses.request({ method: 'a', ontransporterror: (e) => { got = e; } }).send();
  made[0].open();
  made[0].reply({ thread: ses.thread, transport_error: true, osrf_msg: [{ __c: 'osrfMessage',
    __p: { threadTrace: 0, type: 'REQUEST' } }] });
  assert.equal(got.kind, 'transport');
  assert.match(got.message, /Service opensrf.test unavailable/);
});

test('messages wait for the socket; a lost socket fails what was in flight, then reconnects', async () => {
  const { made, session } = setup();
  const ses = session('opensrf.test');
  const errors = [];
  const inflight = ses.request({ method: 'sleep', onerror: (e) => errors.push(e) }).send();
  assert.equal(made[0].sent.length, 0, 'queued while connecting');
  made[0].open();
  assert.equal(made[0].sent.length, 1, 'sent once open');
  made[0].die(1006);
  assert.equal(errors.length, 1);
  assert.match(errors[0].message, /closed \(1006\) with the request in flight/);
  await assert.rejects(inflight.results(), /in flight/);
  // the gateway is down: attempts fail; a new request waits, then goes
  await until(() => made.length >= 2, 'reconnects after the close');
  made.at(-1).die(1006);
  const later = ses.request('whoami').send();
  const tried = made.length;
  await until(() => made.length > tried, 'tries again for the queued request');
  const sock = made.at(-1);
  sock.open();
  assert.equal(sock.sent.length, 1, 'the queued request goes out on the new socket');
  sock.reply({ thread: ses.thread, osrf_msg: [result(1, 'w'), status(1, 'osrfConnectStatus', 'Request Complete', 205)] });
  assert.equal(await later.first(), 'w');
});

test('a request waiting for an unreachable endpoint fails after connectTimeout', async () => {
  const { made, session } = setup({ connectTimeout: 40 });
  const ses = session('opensrf.test');
  const req = ses.request('whoami').send();
  made[0].die(1006);
  await assert.rejects(req.results(), /cannot reach .* within 40 ms/);
});

test('the async iterator yields results as they come, and throws errors', async () => {
  const { made, session } = setup();
  const ses = session('opensrf.test');
  const req = ses.request('stream', 3);
  const got = [];
  const done = (async () => { for await (const r of req) got.push(r); })();
  made[0].open();
  for (const n of [1, 2, 3]) {
    made[0].reply({ thread: ses.thread, osrf_msg: [result(0, n)] });
    await until(() => got.length === n, `result ${n} yielded`);
  }
  assert.deepEqual(got, [1, 2, 3]);
  made[0].reply({ thread: ses.thread, osrf_msg: [status(0, 'osrfConnectStatus', 'Request Complete', 205)] });
  await done;
  const bad = ses.request('x');
  const failing = (async () => { for await (const r of bad) got.push(r); })();
  made[0].reply({ thread: ses.thread, osrf_msg: [status(1, 'osrfMethodException', 'Method [x] not found', 404)] });
  await assert.rejects(failing, /404 Method \[x\] not found/);
});

test('a 408 ends a stateful session and fails its requests', async () => {
  const { made, session } = setup();
  const ses = session('opensrf.test');
  const connected = ses.connect();
  made[0].open();
  made[0].reply({ thread: ses.thread, osrf_msg: [status('0', 'osrfConnectStatus', 'Connection Successful', '200')] });
  await connected;
  assert.equal(ses.state, 0);
  const req = ses.request('sleep', 10).send();
  made[0].reply({ thread: ses.thread, osrf_msg: [status('0', 'osrfConnectStatus', 'Disconnected on timeout', '408')] });
  await assert.rejects(req.results(), /408 Disconnected on timeout/);
  assert.equal(ses.state, 2);
});

test('backoff grows, is capped, and has jitter', () => {
  assert.equal(backoffDelay(0, 250, 10000, () => 1), 250);
  assert.equal(backoffDelay(3, 250, 10000, () => 1), 2000);
  assert.equal(backoffDelay(30, 250, 10000, () => 1), 10000);
  assert.equal(backoffDelay(30, 250, 10000, () => 0), 5000);
});

// The shared mode in node: a fake SharedWorker whose scope runs serveTabs,
// tabs talking to it over real MessageChannels.
function sharedSetup() {
  const { made, FakeWebSocket } = fakeSockets();
  const scope = {};
  serveTabs(scope);
  const saved = { SharedWorker: globalThis.SharedWorker, WebSocket: globalThis.WebSocket };
  globalThis.WebSocket = FakeWebSocket;         // the worker's own sockets
  globalThis.SharedWorker = class {
    constructor() {
      const ch = new MessageChannel();
      this.port = ch.port1;
      scope.onconnect({ ports: [ch.port2] });
    }
  };
  const ports = [];
  const tab = () => {
    const conn = new SharedConnection({ url: 'wss://gw.example:7682/osrf-websocket-translator',
      sharedWorker: '/js/opensrf-shared-worker.js', reconnectBase: 5, reconnectMax: 20 });
    ports.push(conn.port);
    return { conn, session: (svc) => new ClientSession(svc, { connection: conn }) };
  };
  const restore = () => {
    for (const p of ports) p.close();
    Object.assign(globalThis, saved);
  };
  return { made, tab, restore };
}

// A test in shared mode: body gets sharedSetup()'s tools; restored after.
function sharedTest(name, body) {
  test(name, async () => {
    const env = sharedSetup();
    try {
      await body(env);
    } finally {
      env.restore();
    }
  });
}

sharedTest('shared mode: tabs share one socket, replies go to the tab of their thread', async ({ made, tab }) => {
  const [a, b] = [tab(), tab()];
  const ra = a.session('opensrf.math').request('add', 1, 2).send();
  const rb = b.session('opensrf.math').request('add', 3, 4).send();
  await until(() => made.length === 1, 'one socket');
  made[0].open();
  await until(() => made[0].sent.length === 2, 'both frames sent on it');
  for (const f of made[0].sent.map((d) => JSON.parse(d)))
    made[0].reply({ thread: f.thread, osrf_msg: [result(0, f.osrf_msg[0].__p.payload.__p.params.join('+')),
      status(0, 'osrfConnectStatus', 'Request Complete', '205')] });
  assert.deepEqual([await ra.results(), await rb.results()], [['1+2'], ['3+4']]);
  assert.equal(made.length, 1);
  assert.equal(a.conn.opened, 1);
  const st = await a.conn.stats();
  assert.deepEqual([st.tabs, st.threads], [2, 0], 'finished threads are released in the worker');
});

sharedTest('shared mode: a lost socket fails what every tab had on the wire, then reconnects', async ({ made, tab }) => {
  const [a, b] = [tab(), tab()];
  const pa = a.session('opensrf.test').request('sleep', 9).send().results().catch((e) => e);
  const pb = b.session('opensrf.test').request('sleep', 9).send().results().catch((e) => e);
  await until(() => made.length === 1, 'one socket');
  made[0].open();
  await until(() => made[0].sent.length === 2, 'both frames sent');
  made[0].die(1006);
  const [ea, eb] = await Promise.all([pa, pb]);
  assert.equal(ea.kind, 'transport');
  assert.match(eb.message, /closed \(1006\) with the request in flight/);
  await until(() => made.length === 2, 'the worker reconnects by itself');
});

sharedTest('shared mode: a tab that leaves releases its threads and its stateful sessions', async ({ made, tab }) => {
  const [a, b] = [tab(), tab()];
  const ses = b.session('opensrf.test');
  const connected = ses.connect();
  await until(() => made.length === 1, 'one socket');
  made[0].open();
  await until(() => made[0].sent.length === 1, 'CONNECT sent');
  made[0].reply({ thread: ses.thread, osrf_msg: [status(0, 'osrfConnectStatus', 'Connection Successful', '200')] });
  await connected;
  b.session('opensrf.test').request('sleep', 9).send();
  await until(() => made[0].sent.length === 2, 'request sent');
  assert.equal((await a.conn.stats()).threads, 2);
  b.conn.close();
  await until(() => made[0].sent.length === 3, 'DISCONNECT sent for the session left connected');
  const last = JSON.parse(made[0].sent[2]);
  assert.deepEqual([last.thread, last.osrf_msg[0].__p.type, last.osrf_msg[0].__p.threadTrace],
    [ses.thread, 'DISCONNECT', 1]);
  const st = await a.conn.stats();
  assert.deepEqual([st.tabs, st.threads], [1, 0]);
});

test('without SharedWorker, the sharedWorker option falls back to a WebSocket per page', () => {
  assert.equal(typeof globalThis.SharedWorker, 'undefined');
  const conn = OpenSRF.configure({ url: 'wss://gw.example/x', sharedWorker: '/js/opensrf-shared-worker.js' });
  assert.ok(conn instanceof Connection);
  conn.close();
});
