// SPDX-License-Identifier: GPL-2.0-or-later
// A small program against js/opensrf-client.d.ts: t/16-js-types.t checks it
// with tsc --noEmit (strict).  Each @ts-expect-error line is a misuse the
// declarations must refuse (tsc fails on one they let through).
import OpenSRF, { ClientSession, OpenSRFError, STATUS, SharedConnection } from '../../js/opensrf-client.js';

const conn = OpenSRF.configure({
  url: 'wss://gateway.example.org:7682/osrf-websocket-translator',
  sharedWorker: '/js/opensrf-shared-worker.js',
  reconnectBase: 250,
  onstatechange: (state, detail) => console.log(state, detail?.code),
});
if (conn instanceof SharedConnection) conn.stats().then((s) => console.log(s.tabs, s.threads));

export async function examples(): Promise<number> {
  const math = new ClientSession('opensrf.math');
  const sum = await math.request<number>('add', 2, 3).send().first();
  const all: number[] = await math.request<number>('add', 1, 1).send().results();

  math.request<number>({
    method: 'add',
    params: [2, 3],
    onresponse: (req, content) => console.log(req.reqid, content.toFixed(0)),
    oncomplete: (req) => console.log(req.complete),
    onmethoderror: (req, status, text) => console.log(status, text),
    onerror: (err) => console.log(err.kind, err.status),
  }).send();

  const test = new ClientSession('opensrf.test');
  await test.connect({ timeout: 10 });
  for await (const n of test.request<number>('stream', 5)) console.log(n + 1);
  const r = test.request('whoami').send();
  const first = r.recv();
  if (first) console.log(first.content(), first.statusCode());
  test.disconnect();

  try {
    await math.request('div', 1, 0).send().results();
  } catch (e) {
    if (e instanceof OpenSRFError && e.kind === 'method' && e.status === STATUS.INTERNALSERVERERROR)
      console.log(e.statusText, e.className);
  }

  // @ts-expect-error: an error kind that does not exist
  const kind: OpenSRFError['kind'] = 'network';
  // @ts-expect-error: results() is a promise of an array, not of a number
  const wrong: number = await math.request<number>('add', 1, 2).send().results();
  // @ts-expect-error: a request needs its method
  math.request({ params: [1] });
  // @ts-expect-error: reconnectBase is a number of milliseconds
  OpenSRF.configure({ reconnectBase: '250ms' });
  console.log(kind, wrong, all);
  return (sum ?? 0) + STATUS.OK;
}
