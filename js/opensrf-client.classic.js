// GENERATED from opensrf-client.js by make-classic.mjs: edit that file, then
// run `node js/make-classic.mjs`.
(function () {
'use strict';
// opensrf-client.js: a dependency-free OpenSRF client for browsers (and
// anything with a WebSocket class), with the ClientSession API of OpenSRF's
// opensrf.js, over one WebSocket per page.
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

// --- the page's WebSocket ------------------------------------------------------

class Connection {
  // options: url, WebSocket (the class), reconnectBase and reconnectMax (ms,
  // the backoff between attempts), connectTimeout (ms a message may wait
  // for the socket before its request fails), idleRetries (reconnect
  // attempts after a lost socket when nothing waits to be sent),
  // onstatechange(state, detail): idle, connecting, open, closed, waiting.
  constructor(options = {}) {
    this.options = {
      reconnectBase: 250, reconnectMax: 10000, connectTimeout: 15000, idleRetries: 8,
      ...options,
    };
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

  // owner: a Request or ClientSession told when its frame is on the wire
  // (_wired) or when it could not be sent in time (_fail).
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
    // Everything sent on this socket is lost with it: the gateway keeps
    // stateful sessions per connection, and replies cannot come back.
    const err = new OpenSRFError('transport', null,
      `the WebSocket to ${this.url} closed (${code}) with the request in flight`,
      { code });
    for (const ses of [...this.sessions.values()]) ses._socketLost(err);
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
    this.connection.sessions.delete(this.thread);
  }

  _send(msg, owner) {
    const frame = { service: this.service, thread: this.thread, osrf_msg: [msg] };
    this.connection.send(JSON.stringify(frame, encodeParam), owner);
  }

  _register() {
    this.connection.sessions.set(this.thread, this);
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

const OpenSRF = {
  STATUS,
  ClientSession,
  Request,
  Connection,
  OpenSRFError,
  locale: null,
  tz: timeZone(),
  api_level: 1,
  decode: null,                 // optional: a function applied to each result's content
  // The page's one WebSocket, made with the options of configure().
  connection() {
    if (!pageConnection) pageConnection = new Connection(OpenSRF.options);
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
