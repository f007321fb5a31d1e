// SPDX-License-Identifier: GPL-2.0-or-later
// TypeScript declarations of opensrf-client.js (the ES module).  The classic
// build sets a global OpenSRF of the same type (typeof OpenSRF below).
// t/16-js-types.t checks them with tsc --noEmit against t/js/types-example.ts
// and checks that every export of the module is declared here.

export declare const STATUS: Readonly<{
  CONTINUE: 100; OK: 200; ACCEPTED: 202; NOCONTENT: 204; COMPLETE: 205;
  PARTIAL: 206; REDIRECTED: 307; BADREQUEST: 400; UNAUTHORIZED: 401;
  FORBIDDEN: 403; NOTFOUND: 404; NOTALLOWED: 405; TIMEOUT: 408;
  EXPFAILED: 417; INTERNALSERVERERROR: 500; NOTIMPLEMENTED: 501;
  SERVICEUNAVAILABLE: 503; VERSIONNOTSUPPORTED: 505;
}>;

/** What ended a request: a method's STATUS, the service (router's 404), a
 * stateful session's 408, the transport (socket, bounce, endpoint), or the
 * request's own timeout. */
export type ErrorKind = 'method' | 'service' | 'session' | 'transport' | 'timeout';

export declare class OpenSRFError extends Error {
  constructor(kind: ErrorKind, status: number | null, text: string, extra?: object);
  readonly name: 'OpenSRFError';
  kind: ErrorKind;
  status: number | null;
  statusText: string;
  /** The payload's class (osrfMethodException, osrfServiceException, ...). */
  className?: string;
  service?: string;
  /** The WebSocket close code, when the socket died. */
  code?: number;
}

/** An osrfMessage as it goes on the wire. */
export interface OsrfMessage {
  __c: 'osrfMessage';
  __p: {
    threadTrace: number | string;
    type: 'CONNECT' | 'REQUEST' | 'DISCONNECT' | 'RESULT' | 'STATUS';
    payload: unknown;
    locale?: string;
    tz?: string;
    api_level?: number;
  };
}

export declare function osrfMessage(threadTrace: number, type: string, payload: unknown,
  locale?: string, tz?: string, apiLevel?: number): OsrfMessage;
export declare function newThread(): string;
export declare function backoffDelay(attempt: number, base: number, max: number,
  random?: () => number): number;

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'closed' | 'waiting';

export interface StateDetail {
  code?: number;
  reason?: string;
  delay?: number;
  why?: string;
}

export interface ConnectionOptions {
  /** wss://host/osrf-websocket-translator; default: the page's host. */
  url?: string;
  /** The WebSocket class (plain mode only). */
  WebSocket?: { new (url: string): WebSocket };
  /** Backoff between reconnect attempts, ms (default 250 to 10000). */
  reconnectBase?: number;
  reconnectMax?: number;
  /** How long a message may wait for the socket before its request fails, ms. */
  connectTimeout?: number;
  /** Reconnect attempts after a lost socket when nothing waits to be sent. */
  idleRetries?: number;
  onstatechange?: (state: ConnectionState, detail?: StateDetail) => void;
  /** URL of js/opensrf-shared-worker.js: one WebSocket for every tab of the
   * origin where the browser has SharedWorker (else the plain mode). */
  sharedWorker?: string | URL;
}

/** What a connection is to its sessions (plain or shared). */
interface PageConnection {
  readonly url: string;
  state: ConnectionState;
  /** Sockets opened so far (in shared mode: the worker's, for every tab). */
  opened: number;
  sessions: Map<string, ClientSession>;
  close(): void;
}

export declare class Connection implements PageConnection {
  constructor(options?: ConnectionOptions);
  readonly url: string;
  options: ConnectionOptions;
  state: ConnectionState;
  opened: number;
  sessions: Map<string, ClientSession>;
  close(): void;
}

export interface SharedStats {
  /** Tabs using the worker's socket to this endpoint. */
  tabs: number;
  /** Threads the worker routes, for every tab; mine: this tab's. */
  threads: number;
  mine: number;
  opened: number;
  state: ConnectionState;
}

export declare class SharedConnection implements PageConnection {
  constructor(options: ConnectionOptions & { sharedWorker: string | URL });
  readonly url: string;
  options: ConnectionOptions;
  state: ConnectionState;
  opened: number;
  sessions: Map<string, ClientSession>;
  port: MessagePort;
  stats(): Promise<SharedStats>;
  close(): void;
}

/** Runs the worker side of the shared mode in a SharedWorker's global. */
export declare function serveTabs(scope?: { onconnect: ((ev: MessageEvent) => void) | null }): void;

export interface SessionOptions {
  connection?: Connection | SharedConnection;
}

/** A session's state, as opensrf.js numbers them. */
export type SessionState = 0 | 1 | 2;

export declare class ClientSession {
  constructor(service: string, options?: SessionOptions);
  service: string;
  thread: string;
  locale: string;
  tz: string | undefined;
  last_id: number;
  state: SessionState;
  requests: Request[];
  connection: Connection | SharedConnection;
  onconnect: (() => void) | null;
  ondisconnect: ((err: OpenSRFError) => void) | null;
  request<T = unknown>(args: RequestArgs<T>): Request<T>;
  request<T = unknown>(method: string, ...params: unknown[]): Request<T>;
  find_request(reqid: number | string): Request | null;
  connect(args?: { onconnect?: () => void; timeout?: number }): Promise<ClientSession>;
  disconnect(): void;
  cleanup(): void;
}

export interface RequestArgs<T = unknown> {
  method: string;
  params?: unknown[];
  /** Seconds. */
  timeout?: number;
  api_level?: number;
  onresponse?: (req: Request<T>, content: T) => void;
  oncomplete?: (req: Request<T>) => void;
  onerror?: (err: OpenSRFError, req: Request<T>) => void;
  onmethoderror?: (req: Request<T>, status: number | null, text: string) => void;
  ontransporterror?: (err: OpenSRFError, req: Request<T>) => void;
}

/** One result as opensrf.js hands it out through recv(). */
export interface Result<T = unknown> {
  hash: { status: string; statusCode: number | string; content: T };
  content(): T;
  status(): string;
  statusCode(): number | string;
}

export declare class Request<T = unknown> implements AsyncIterable<T> {
  constructor(session: ClientSession, reqid: number, args: RequestArgs<T>);
  session: ClientSession;
  reqid: number;
  method: string;
  params: unknown[];
  timeout?: number;
  api_level: number;
  /** STATUS 205 seen. */
  complete: boolean;
  /** The error that ended the request. */
  error: OpenSRFError | null;
  sent: boolean;
  readonly done: boolean;
  onresponse?: RequestArgs<T>['onresponse'];
  oncomplete?: RequestArgs<T>['oncomplete'];
  onerror?: RequestArgs<T>['onerror'];
  onmethoderror?: RequestArgs<T>['onmethoderror'];
  ontransporterror?: RequestArgs<T>['ontransporterror'];
  send(): this;
  recv(): Result<T> | null;
  peek(): Result<T> | null;
  peek_last(): Result<T> | null;
  /** Every result's content once the request is complete. */
  results(): Promise<T[]>;
  /** The first result's content (undefined when there is none). */
  first(): Promise<T | undefined>;
  [Symbol.asyncIterator](): AsyncIterator<T>;
}

export interface OpenSRFGlobal {
  STATUS: typeof STATUS;
  ClientSession: typeof ClientSession;
  Request: typeof Request;
  Connection: typeof Connection;
  SharedConnection: typeof SharedConnection;
  OpenSRFError: typeof OpenSRFError;
  serveTabs: typeof serveTabs;
  locale: string | null;
  tz: string | undefined;
  api_level: number;
  /** Applied to each result's content (a fieldmapper decoder, say). */
  decode: ((content: unknown) => unknown) | null;
  options: ConnectionOptions;
  /** The page's connection, made with the options of configure(). */
  connection(): Connection | SharedConnection;
  /** Sets the options of the page's connection (closing one already open). */
  configure(options?: ConnectionOptions): Connection | SharedConnection;
}

export declare const OpenSRF: OpenSRFGlobal;
export default OpenSRF;
