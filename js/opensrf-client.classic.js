// GENERATED from opensrf-client.js by make-classic.mjs: edit that file, then
// run `node js/make-classic.mjs`.
(function () {
'use strict';
// SPDX-License-Identifier: GPL-2.0-or-later
// opensrf-client.js: a dependency-free OpenSRF client for browsers (and
// anything with a WebSocket class), with the ClientSession API of OpenSRF's
// opensrf.js, over one WebSocket per page, or one for all the tabs of a
// browser through a SharedWorker (options.sharedWorker, below).
//
// This file is an ES module.  js/opensrf-client.classic.js is the same code
// for a plain <script> (it sets window.OpenSRF); js/make-classic.mjs makes
// it, and `make check` fails when it is out of date.
//
// Wire format: frames are built as opensrf.js builds them (same keys, same
// order, same types: threadTrace is the session's request counter as a JSON
// number, CONNECT and DISCONNECT carry the payload "null", every frame names
// service and thread, no log_xid), so a gateway cannot tell the two apart.
// What it does beyond opensrf.js: errors are routed by thread (the router's
// 404 carries threadTrace 1 whatever the request's was), every request in
// flight fails with an error when the socket dies, the endpoint URL is an
// option, and results can be awaited or iterated.

const DEFAULT_PATH = '/osrf-websocket-translator';

const STATUS = Object.freeze({
  CONTINUE: 100, OK: 200, ACCEPTED: 202, NOCONTENT: 204, COMPLETE: 205,
  PARTIAL: 206, REDIRECTED: 307, BADREQUEST: 400, UNAUTHORIZED: 401,
  FORBIDDEN: 403, NOTFOUND: 404, NOTALLOWED: 405, TIMEOUT: 408,
  EXPFAILED: 417, INTERNALSERVERERROR: 500, NOTIMPLEMENTED: 501,
  SERVICEUNAVAILABLE: 503, VERSIONNOTSUPPORTED: 505,
});

// Session states, as opensrf.js numbers them.
const CONNECTED = 0;
const CONNECTING = 1;
const DISCONNECTED = 2;

// kind: 'method' (a method's STATUS), 'service' (osrfServiceException, e.g.
// the router's 404), 'session' (408 on a stateful session), 'transport'
// (transport_error, the socket died, or the endpoint cannot be reached),
// 'timeout' (the request's own timeout ran out).
class OpenSRFError extends Error {
  constructor(kind, status, text, extra = {}) {
    super(status ? `${status} ${text}` : text);
    this.name = 'OpenSRFError';
    this.kind = kind;
    this.status = status || null;
    this.statusText = text;
    Object.assign(this, extra);
  }
}

// A user callback must not break the client's bookkeeping.
function callback(fn, ...args) {
  if (typeof fn !== 'function') return;
  try {
    fn(...args);
  } catch (e) {
    if (typeof globalThis.reportError === 'function') globalThis.reportError(e);
    else console.error(e);
  }
}

function timeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return undefined;
  }
}

// opensrf.js turns fieldmapper objects into class-hinted arrays.
function encodeParam(key, value) {
  if (value && typeof value === 'object' && value._isfieldmapper)
    return { __c: value.classname, __p: value.a || [] };
  return value;
}

// An osrfMessage as opensrf.js serialises it: keys in its order, payload
// the string "null" when there is none, api_level only when set.
function osrfMessage(threadTrace, type, payload, locale, tz, apiLevel) {
  return {
    __c: 'osrfMessage',
    __p: { threadTrace, type, payload: payload || 'null', locale, tz, api_level: apiLevel },
  };
}

// opensrf.js's thread: Math.random() then the time in ms, as one string.
function newThread() {
  return Math.random() + '' + Date.now();
}

function backoffDelay(attempt, base, max, random = Math.random) {
  const full = Math.min(max, base * 2 ** Math.min(attempt, 20));
  return Math.round(full / 2 + (random() * full) / 2);
}

function defaultUrl() {
  const loc = globalThis.location;
  if (!loc || !loc.host) throw new Error('OpenSRF: no endpoint URL (pass options.url)');
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}${DEFAULT_PATH}`;
}

// One result as opensrf.js hands it out through req.recv().
class Result {
  constructor(p) { this.hash = p; }
  content() { return this.hash.content; }
  status() { return this.hash.status; }
  statusCode() { return this.hash.statusCode; }
}

// Every session of conn learns that its socket is gone: what it had on the
// wire fails (the gateway keeps stateful sessions per connection, and
// replies cannot come back).
function socketLost(conn, code) {
  const err = new OpenSRFError('transport', null,
    `the WebSocket to ${conn.url} closed (${code}) with the request in flight`,
    { code });
  for (const ses of [...conn.sessions.values()]) ses._socketLost(err);
}

// The reconnect settings a Connection takes, with their defaults.
const CONNECTION_DEFAULTS = Object.freeze({
  reconnectBase: 250, reconnectMax: 10000, connectTimeout: 15000, idleRetries: 8,
});

// --- the page's WebSocket ------------------------------------------------------

class Connection {
  // options: url, WebSocket (the class), reconnectBase and reconnectMax (ms,
  // the backoff between attempts), connectTimeout (ms a message may wait
  // for the socket before its request fails), idleRetries (reconnect
  // attempts after a lost socket when nothing waits to be sent),
  // onstatechange(state, detail): idle, connecting, open, closed, waiting.
  constructor(options = {}) {
    this.options = { ...CONNECTION_DEFAULTS, ...options };
    this.url = this.options.url || defaultUrl();
    this.state = 'idle';            // idle, connecting, open, closed
    this.socket = null;
    this.sessions = new Map();      // thread -> ClientSession with work or a CONNECT
    this.outbox = [];               // {data, owner, timer} waiting for the socket
    this.attempt = 0;
    this.retryTimer = null;
    this.opened = 0;                // how many times a socket opened (tests, demo)
    this.closedByUser = false;
  }

  _setState(state, detail) {
    this.state = state;
    callback(this.options.onstatechange, state, detail);
  }

  register(ses) { this.sessions.set(ses.thread, ses); }

  forget(ses) { this.sessions.delete(ses.thread); }

  // owner: a Request or ClientSession told when its frame is on the wire
  // (_wired) or when it could not be sent in time (_fail).  (The third
  // argument, what the frame is, only matters to SharedConnection.)
  send(data, owner) {
    this.closedByUser = false;
    if (this.state === 'open') {
      this.socket.send(data);
      if (owner) owner._wired = true;
      return;
    }
    const entry = { data, owner, timer: null };
    if (owner) {
      entry.timer = setTimeout(() => {
        const i = this.outbox.indexOf(entry);
        if (i < 0) return;
        this.outbox.splice(i, 1);
        owner._fail(new OpenSRFError('transport', null,
          `cannot reach ${this.url} within ${this.options.connectTimeout} ms`));
      }, this.options.connectTimeout);
    }
    this.outbox.push(entry);
    this._ensureOpen();
  }

  // Drops a message still waiting for the socket (a request that ended).
  unqueue(owner) {
    this.outbox = this.outbox.filter((e) => {
      if (e.owner !== owner) return true;
      clearTimeout(e.timer);
      return false;
    });
  }

  _ensureOpen() {
    if (this.socket || this.retryTimer) return;
    const WS = this.options.WebSocket || globalThis.WebSocket;
    let socket;
    try {
      socket = new WS(this.url);
    } catch (e) {
      this._retry(String(e));
      return;
    }
    this.socket = socket;
    this._setState('connecting');
    socket.onopen = () => this._opened(socket);
    socket.onmessage = (ev) => this._message(ev.data);
    socket.onclose = (ev) => this._closed(socket, ev);
    socket.onerror = () => {};      // onclose follows, with the code
  }

  _opened(socket) {
    if (socket !== this.socket) return;
    this.attempt = 0;
    this.opened++;
    this._setState('open');
    const queued = this.outbox;
    this.outbox = [];
    for (const e of queued) {
      clearTimeout(e.timer);
      socket.send(e.data);
      if (e.owner) e.owner._wired = true;
    }
  }

  _closed(socket, ev) {
    if (socket !== this.socket) return;
    this.socket = null;
    const code = ev && ev.code ? ev.code : 1006;
    this._setState('closed', { code, reason: ev && ev.reason });
    socketLost(this, code);
    if (this.closedByUser) return;
    // Reconnect with backoff after a server restart (1001) or a failure;
    // after a clean close (the gateway's idle timeout) the next send does.
    if (this.outbox.length || code !== 1000) this._retry(`closed (${code})`);
  }

  _retry(why) {
    if (this.retryTimer || this.closedByUser) return;
    // with nothing to send, give up after a while: the next send retries
    if (!this.outbox.length && this.attempt >= this.options.idleRetries) return;
    const delay = backoffDelay(this.attempt++, this.options.reconnectBase,
      this.options.reconnectMax);
    this._setState('waiting', { delay, why });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this._ensureOpen();
    }, delay);
  }

  _message(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch (e) {
      console.error('OpenSRF: a frame that is not JSON', data);
      return;
    }
    const ses = frame && this.sessions.get(frame.thread);
    if (ses) ses._receive(frame);  // else a late reply for a finished request
  }

  // Closes the socket for good (until the next send).
  close() {
    this.closedByUser = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.socket) this.socket.close(1000, 'client closing');
  }
}

// --- one WebSocket for every tab: the SharedWorker mode -------------------------
//
// With options.sharedWorker (the URL of js/opensrf-shared-worker.js), the
// page's connection is a SharedConnection: the tab's sessions live in the
// tab as before, but their frames go through a MessagePort to a
// SharedWorker that holds one Connection per endpoint URL for every tab of
// the origin, so a workstation costs the gateway one child, not one per
// tab.  The worker routes each reply by its thread to the tab that sent on
// it (each tab knows its own threads; opensrf.js's worker broadcast the
// replies it could not place, we drop them as the plain mode does).
//
// Messages on a tab's port (a MessagePort keeps their order):
//   tab -> worker  hello {url, options}      first: the endpoint, its settings
//                  send {data, id, thread, service, type, trace}
//                  unqueue {id}              a queued frame's request ended
//                  forget {thread}           the tab is done with a thread
//                  lock {name}               a Web Lock the tab holds until it dies
//                  bye                       the tab is going away (pagehide)
//                  stats {id}                what the worker holds (tests, demo)
//   worker -> tab  state {state, detail, opened}   the socket's state changes
//                  frame {frame}             a reply on one of the tab's threads
//                  wired {id} / failed {id, message}  a frame's fate (send's id)
//                  stats {id, stats}
//
// The guarantees are the plain mode's, from the same Connection code in the
// worker: frames wait for the socket within connectTimeout, a lost socket
// fails what every tab had on the wire (the state message "closed" makes
// each tab fail its own), and the worker reconnects with backoff.  A tab
// that goes away (pagehide, or its Web Lock released when it crashed)
// has its threads released in the worker, and a DISCONNECT sent for each
// stateful session it left connected, so its OpenSRF workers are free.

class SharedConnection {
  // options: those of Connection (but WebSocket and onstatechange stay in
  // the tab; the worker makes its own sockets), and sharedWorker, the URL
  // of the worker script.
  constructor(options = {}) {
    this.options = { ...CONNECTION_DEFAULTS, ...options };
    this.url = this.options.url || defaultUrl();
    this.state = 'idle';
    this.sessions = new Map();      // thread -> ClientSession with work or a CONNECT
    this.owners = new Map();        // send's id -> owner waiting for wired or failed
    this.nextId = 1;
    this.opened = 0;                // the worker's count: sockets opened for every tab
    this.asked = new Map();         // stats id -> resolve
    const worker = new SharedWorker(this.options.sharedWorker, { name: 'opensrf-client' });
    worker.onerror = () => this._workerFailed();
    this.port = worker.port;
    this.port.onmessage = (ev) => this._fromWorker(ev.data);
    const settings = {};
    for (const k of Object.keys(CONNECTION_DEFAULTS)) settings[k] = this.options[k];
    this.port.postMessage({ op: 'hello', url: this.url, options: settings });
    this._holdLock();
    this._bye = () => this.port.postMessage({ op: 'bye' });
    if (typeof globalThis.addEventListener === 'function')
      globalThis.addEventListener('pagehide', this._bye);
  }

  // The worker learns that this tab died (no pagehide after a crash) when
  // the lock is released; the tab asks for it before naming it, so the
  // worker's request can only be granted after the tab's ends.
  _holdLock() {
    const locks = globalThis.navigator && globalThis.navigator.locks;
    if (!locks) return;
    const name = `opensrf-tab-${newThread()}`;
    locks.request(name, () => {
      this.port.postMessage({ op: 'lock', name });
      return new Promise(() => {});
    }).catch(() => {});
  }

  register(ses) { this.sessions.set(ses.thread, ses); }

  forget(ses) {
    if (this.sessions.delete(ses.thread)) this.port.postMessage({ op: 'forget', thread: ses.thread });
  }

  send(data, owner, what = {}) {
    let id = 0;
    if (owner) {
      id = this.nextId++;
      this.owners.set(id, owner);
    }
    this.port.postMessage({ op: 'send', data, id, ...what });
  }

  unqueue(owner) {
    for (const [id, o] of this.owners) {
      if (o !== owner) continue;
      this.owners.delete(id);
      this.port.postMessage({ op: 'unqueue', id });
    }
  }

  // What the worker holds: {tabs, threads, opened, state}.
  stats() {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.asked.set(id, resolve);
      this.port.postMessage({ op: 'stats', id });
    });
  }

  _fromWorker(m) {
    if (!m || typeof m !== 'object') return;
    if (m.op === 'frame') {
      const ses = m.frame && this.sessions.get(m.frame.thread);
      if (ses) ses._receive(m.frame);
    } else if (m.op === 'wired' || m.op === 'failed') {
      const owner = this.owners.get(m.id);
      this.owners.delete(m.id);
      if (owner && m.op === 'wired') owner._wired = true;
      else if (owner) owner._fail(new OpenSRFError('transport', null, m.message));
    } else if (m.op === 'state') {
      this.state = m.state;
      this.opened = m.opened;
      callback(this.options.onstatechange, m.state, m.detail);
      if (m.state === 'closed') socketLost(this, (m.detail && m.detail.code) || 1006);
    } else if (m.op === 'stats') {
      const resolve = this.asked.get(m.id);
      this.asked.delete(m.id);
      if (resolve) resolve(m.stats);
    }
  }

  // The worker script did not load or died: nothing sent can be answered.
  _workerFailed() {
    const err = new OpenSRFError('transport', null,
      `the shared worker ${this.options.sharedWorker} failed`);
    const owners = [...this.owners.values()];
    this.owners.clear();
    for (const o of owners) o._fail(err);
    this.state = 'closed';
    callback(this.options.onstatechange, 'closed', { code: 1006, reason: err.message });
    socketLost(this, 1006);
  }

  // This tab stops using the worker (its threads are released there).
  close() {
    this._bye();
    if (typeof globalThis.removeEventListener === 'function')
      globalThis.removeEventListener('pagehide', this._bye);
    this.port.close();
  }
}

// The worker's stand-in for a tab's request or session waiting for its
// frame to go out: Connection sets _wired or calls _fail on it.
class TabOwner {
  constructor(tab, id) { this.tab = tab; this.id = id; }

  set _wired(yes) {
    this.tab.owners.delete(this.id);
    if (yes) this.tab.port.postMessage({ op: 'wired', id: this.id });
  }

  _fail(err) {
    this.tab.owners.delete(this.id);
    this.tab.port.postMessage({ op: 'failed', id: this.id, message: err.message });
  }
}

// The worker's stand-in for a tab's session, in its Connection's sessions:
// replies on the thread go to the tab's port.
class TabThread {
  constructor(tab, thread) {
    this.tab = tab;
    this.thread = thread;
    this.service = null;
    this.trace = 0;
    this.connected = false;         // a CONNECT went out and no DISCONNECT since
  }

  _receive(frame) { this.tab.port.postMessage({ op: 'frame', frame }); }

  // The gateway forgot its stateful sessions with the socket; the tab
  // hears of the loss from the state message.
  _socketLost() { this.connected = false; }
}

// Runs the worker side in scope (the SharedWorker's global): the script
// js/opensrf-shared-worker.js calls it.
function serveTabs(scope = globalThis) {
  const endpoints = new Map();      // url -> { conn, tabs: Set of tab }

  function endpoint(url, options) {
    let ep = endpoints.get(url);
    if (ep) return ep;
    const tabs = new Set();
    const conn = new Connection({ ...options, url,
      onstatechange: (state, detail) => {
        for (const tab of tabs) tab.port.postMessage({ op: 'state', state, detail, opened: conn.opened });
      } });
    ep = { conn, tabs };
    endpoints.set(url, ep);
    return ep;
  }

  function release(tab, thread) {
    const route = tab.threads.get(thread);
    if (!route) return;
    tab.threads.delete(thread);
    if (tab.conn.sessions.get(thread) === route) tab.conn.sessions.delete(thread);
    if (route.connected && tab.conn.state === 'open') {
      const msg = osrfMessage(route.trace + 1, 'DISCONNECT', null, OpenSRF.locale || 'en-US', OpenSRF.tz);
      tab.conn.send(JSON.stringify({ service: route.service, thread, osrf_msg: [msg] }));
    }
  }

  function leave(tab) {
    if (!tab.conn) return;
    for (const thread of [...tab.threads.keys()]) release(tab, thread);
    for (const owner of [...tab.owners.values()]) tab.conn.unqueue(owner);
    tab.owners.clear();
    tab.ep.tabs.delete(tab);
  }

  function send(tab, m) {
    let route = tab.threads.get(m.thread);
    if (!route) {
      route = new TabThread(tab, m.thread);
      tab.threads.set(m.thread, route);
    }
    tab.conn.sessions.set(m.thread, route);
    route.service = m.service;
    route.trace = Number(m.trace) || 0;
    if (m.type === 'CONNECT') route.connected = true;
    else if (m.type === 'DISCONNECT') route.connected = false;
    let owner = null;
    if (m.id) {
      owner = new TabOwner(tab, m.id);
      tab.owners.set(m.id, owner);
    }
    tab.conn.send(m.data, owner);
  }

  function stats(tab) {
    let threads = 0;
    for (const ep of endpoints.values()) threads += ep.conn.sessions.size;
    return { tabs: tab.ep.tabs.size, threads, mine: tab.threads.size,
             opened: tab.conn.opened, state: tab.conn.state };
  }

  function fromTab(tab, m) {
    if (!m || typeof m !== 'object') return;
    if (m.op === 'hello') {
      tab.ep = endpoint(m.url, m.options);
      tab.conn = tab.ep.conn;
      tab.ep.tabs.add(tab);
      tab.port.postMessage({ op: 'state', state: tab.conn.state, opened: tab.conn.opened });
      return;
    }
    if (!tab.conn) return;
    if (m.op === 'send') {
      tab.ep.tabs.add(tab);          // back from the page cache after a bye
      send(tab, m);
    } else if (m.op === 'unqueue') {
      const owner = tab.owners.get(m.id);
      if (owner) tab.conn.unqueue(owner);
      tab.owners.delete(m.id);
    } else if (m.op === 'forget') {
      release(tab, m.thread);
    } else if (m.op === 'bye') {
      leave(tab);
    } else if (m.op === 'lock') {
      const locks = scope.navigator && scope.navigator.locks;
      if (locks) locks.request(m.name, () => { leave(tab); tab.port.close(); }).catch(() => {});
    } else if (m.op === 'stats') {
      tab.port.postMessage({ op: 'stats', id: m.id, stats: stats(tab) });
    }
  }

  scope.onconnect = (ev) => {
    const tab = { port: ev.ports[0], ep: null, conn: null, threads: new Map(), owners: new Map() };
    tab.port.onmessage = (e) => fromTab(tab, e.data);
  };
}

// --- sessions and requests ------------------------------------------------------

class ClientSession {
  // options.connection: a Connection (default: the page's, OpenSRF.connection()).
  constructor(service, options = {}) {
    this.service = service;
    this.locale = OpenSRF.locale || 'en-US';
    this.tz = OpenSRF.tz;
    this.last_id = 0;
    this.thread = newThread();
    this.state = DISCONNECTED;
    this.requests = [];             // requests not finished yet
    this.onconnect = null;
    this.ondisconnect = null;
    this.connection = options.connection || OpenSRF.connection();
    this._connecting = null;        // the CONNECT waiting for its STATUS 200
  }

  // request({method, params, ...callbacks}) or request(method, ...params).
  request(args, ...params) {
    if (typeof args === 'string') args = { method: args, params };
    return new Request(this, this.last_id++, args || {});
  }

  find_request(reqid) {
    return this.requests.find((r) => r.reqid == reqid) || null;   // "1" == 1
  }

  // Resolves once the worker answers STATUS 200; args.onconnect as opensrf.js.
  connect(args = {}) {
    if (args.onconnect) this.onconnect = args.onconnect;
    if (this.state === CONNECTED) {
      callback(args.onconnect);
      return Promise.resolve(this);
    }
    if (this._connecting) return this._connecting.promise;
    const waiter = { trace: this.last_id++, _wired: false, session: this };
    waiter.promise = new Promise((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    waiter._fail = (err) => {
      if (this._connecting !== waiter) return;
      this._connecting = null;
      this.state = DISCONNECTED;
      this.connection.unqueue(waiter);
      this._release();
      waiter.reject(err);
    };
    this._connecting = waiter;
    this.state = CONNECTING;
    this._register();
    this._send(osrfMessage(waiter.trace, 'CONNECT', null, this.locale, this.tz), waiter);
    if (args.timeout) {
      setTimeout(() => waiter._fail(new OpenSRFError('timeout', STATUS.TIMEOUT,
        `no answer to CONNECT within ${args.timeout} s`)), args.timeout * 1000);
    }
    return waiter.promise;
  }

  // Sends DISCONNECT (no reply comes) when the session is connected.
  disconnect() {
    if (this.state === CONNECTED && this.connection.state === 'open')
      this._send(osrfMessage(this.last_id++, 'DISCONNECT', null, this.locale, this.tz));
    this.state = DISCONNECTED;
    this._release();
  }

  // Forgets the session (opensrf.js's cleanup).
  cleanup() {
    this.connection.forget(this);
  }

  _send(msg, owner) {
    const frame = { service: this.service, thread: this.thread, osrf_msg: [msg] };
    this.connection.send(JSON.stringify(frame, encodeParam), owner,
      { thread: this.thread, service: this.service, type: msg.__p.type, trace: msg.__p.threadTrace });
  }

  _register() {
    this.connection.register(this);
  }

  // Keeps the session reachable only while something can still arrive.
  _release() {
    if (!this.requests.length && !this._connecting && this.state !== CONNECTED)
      this.cleanup();
  }

  _pending() {
    return this._connecting ? [...this.requests, this._connecting] : [...this.requests];
  }

  _socketLost(err) {
    const wasConnected = this.state === CONNECTED;
    for (const r of this._pending()) if (r._wired) r._fail(err);
    if (wasConnected) {
      this.state = DISCONNECTED;
      callback(this.ondisconnect, err);
    }
    this._release();
  }

  _receive(frame) {
    const msgs = Array.isArray(frame.osrf_msg) ? frame.osrf_msg : [];
    if (frame.transport_error) {
      // A bounced message: osrf_msg holds what was sent.
      const first = msgs[0] && msgs[0].__p;
      const req = first ? this.find_request(first.threadTrace) : null;
      const err = new OpenSRFError('transport', null, `Service ${this.service} unavailable`);
      for (const r of req ? [req] : this._pending()) r._fail(err, true);
      return;
    }
    for (const m of msgs) this._handle(m);
  }

  _handle(m) {
    const p = m && m.__p;
    if (!p || typeof p !== 'object') return;
    const payload = p.payload && typeof p.payload === 'object' ? p.payload : {};
    const body = payload.__p && typeof payload.__p === 'object' ? payload.__p : {};
    const code = Number(body.statusCode);
    const req = this.find_request(p.threadTrace);
    if (p.type === 'RESULT') {
      if (req) req._result(body, code);
      return;
    }
    if (p.type !== 'STATUS') return;
    if (code === STATUS.COMPLETE) {
      if (req) req._complete();
    } else if (code === STATUS.OK) {
      const waiter = this._connecting;
      this._connecting = null;
      this.state = CONNECTED;
      callback(this.onconnect);
      if (waiter) waiter.resolve(this);
    } else if (code === STATUS.TIMEOUT && payload.__c === 'osrfConnectStatus') {
      // The worker ended the stateful session (its keepalive ran out).
      const err = new OpenSRFError('session', code, body.status || 'Disconnected on timeout');
      for (const r of this._pending()) r._fail(err);
      if (this.state === CONNECTED) {
        this.state = DISCONNECTED;
        callback(this.ondisconnect, err);
      }
      this._release();
    } else if (code >= 400) {
      // A service error concerns the whole thread, and the router's does
      // not carry the request's threadTrace; a method error without a
      // matching request goes to every request on the thread too.
      const service = payload.__c === 'osrfServiceException';
      const err = new OpenSRFError(service ? 'service' : 'method', code,
        body.status || 'error', { className: payload.__c, service: this.service });
      for (const r of service || !req ? this._pending() : [req]) r._fail(err);
    }
  }
}

class Request {
  constructor(session, reqid, args) {
    this.session = session;
    this.reqid = reqid;
    this.onresponse = args.onresponse;
    this.oncomplete = args.oncomplete;
    this.onerror = args.onerror;
    this.onmethoderror = args.onmethoderror;
    this.ontransporterror = args.ontransporterror;
    this.method = args.method;
    this.params = args.params || [];
    this.timeout = args.timeout;         // seconds, optional
    this.api_level = args.api_level || OpenSRF.api_level;
    this.complete = false;               // STATUS 205 seen
    this.error = null;                   // the OpenSRFError that ended it
    this.sent = false;
    this._wired = false;
    this._results = [];                  // osrfResult bodies, in order
    this._read = 0;                      // how many recv() has handed out
    this._partial = null;                // osrfResultPartial pieces so far
    this._waiters = [];
    this._timer = null;
  }

  send() {
    if (this.sent) return this;
    this.sent = true;
    const s = this.session;
    s.requests.push(this);
    s._register();
    const method = { __c: 'osrfMethod', __p: { method: this.method, params: this.params } };
    s._send(osrfMessage(this.reqid, 'REQUEST', method, s.locale, s.tz, this.api_level), this);
    if (this.timeout) {
      this._timer = setTimeout(() => this._fail(new OpenSRFError('timeout', STATUS.TIMEOUT,
        `${this.method}: no answer within ${this.timeout} s`)), this.timeout * 1000);
    }
    return this;
  }

  get done() { return this.complete || this.error !== null; }

  // opensrf.js's queue interface.
  recv() { return this._read < this._results.length ? new Result(this._results[this._read++]) : null; }
  peek() { return this._read < this._results.length ? new Result(this._results[this._read]) : null; }
  peek_last() { return this._results.length ? new Result(this._results[this._results.length - 1]) : null; }

  // Every result's content once the request is complete.
  results() {
    this.send();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.error) reject(this.error);
        else if (this.complete) resolve(this._results.map((r) => r.content));
        else this._waiters.push(check);
      };
      check();
    });
  }

  // The first result's content (undefined when there is none).
  async first() {
    return (await this.results())[0];
  }

  // for await (const content of request) ...: results as they arrive.
  [Symbol.asyncIterator]() {
    this.send();
    let i = 0;
    const next = () => new Promise((resolve, reject) => {
      const step = () => {
        if (i < this._results.length) resolve({ value: this._results[i++].content, done: false });
        else if (this.error) reject(this.error);
        else if (this.complete) resolve({ value: undefined, done: true });
        else this._waiters.push(step);
      };
      step();
    });
    return { next, return: async () => ({ value: undefined, done: true }) };
  }

  _wake() {
    const w = this._waiters;
    this._waiters = [];
    for (const f of w) f();
  }

  _result(body, code) {
    if (this.done) return;
    if (code === STATUS.PARTIAL) {
      // a piece of one large result's JSON text
      this._partial = (this._partial || '') + (body.content == null ? '' : String(body.content));
      return;
    }
    if (code === STATUS.NOCONTENT) {
      if (this._partial === null) return;
      const text = this._partial;
      this._partial = null;
      let content;
      try {
        content = JSON.parse(text);
      } catch (e) {
        this._fail(new OpenSRFError('method', STATUS.INTERNALSERVERERROR,
          `partial result pieces do not make JSON (${text.length} characters)`));
        return;
      }
      body = { status: 'OK', statusCode: STATUS.OK, content };
    }
    if (OpenSRF.decode) body = { ...body, content: OpenSRF.decode(body.content) };
    this._results.push(body);
    callback(this.onresponse, this, body.content);
    this._wake();
  }

  _finish() {
    clearTimeout(this._timer);
    const s = this.session;
    s.requests = s.requests.filter((r) => r !== this);
    s.connection.unqueue(this);
    s._release();
    this._wake();
  }

  _complete() {
    if (this.done) return;
    this.complete = true;
    this._finish();
    callback(this.oncomplete, this);
  }

  _fail(err, transport) {
    if (this.done) return;
    const awaited = this._waiters.length > 0;
    this.error = err;
    this._finish();
    if (err.kind === 'method' && this.onmethoderror) {
      callback(this.onmethoderror, this, err.status, err.statusText);
    } else if ((transport || err.kind === 'transport') && this.ontransporterror) {
      callback(this.ontransporterror, err, this);
    } else if (this.onerror) {
      callback(this.onerror, err, this);
    } else if (!awaited) {
      console.error(`OpenSRF ${this.session.service} ${this.method}:`, err.message);
    }
  }
}

// --- the global object -----------------------------------------------------------

let pageConnection = null;

// The shared mode where it is asked for and the browser has SharedWorker
// (not every browser does, nor a page from file://); else the plain one.
function makeConnection(options) {
  if (options.sharedWorker && typeof globalThis.SharedWorker === 'function') {
    try {
      return new SharedConnection(options);
    } catch (e) {
      console.warn('OpenSRF: no shared worker, one WebSocket for this page:', e);
    }
  }
  return new Connection(options);
}

const OpenSRF = {
  STATUS,
  ClientSession,
  Request,
  Connection,
  SharedConnection,
  OpenSRFError,
  serveTabs,
  locale: null,
  tz: timeZone(),
  api_level: 1,
  decode: null,                 // optional: a function applied to each result's content
  // The page's one WebSocket, made with the options of configure().
  connection() {
    if (!pageConnection) pageConnection = makeConnection(OpenSRF.options);
    return pageConnection;
  },
  options: {},
  // Sets the options (url, ...) of the page's connection; call it before
  // the first session.  A connection already open is closed.
  configure(options = {}) {
    OpenSRF.options = { ...options };
    if (pageConnection) pageConnection.close();
    pageConnection = null;
    return OpenSRF.connection();
  },
};

globalThis.OpenSRF = OpenSRF;
})();
