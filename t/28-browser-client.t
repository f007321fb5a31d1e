# SPDX-License-Identifier: GPL-2.0-or-later
# The JavaScript client (js/opensrf-client.js) in headless Chromium over
# wss, against the gateway and the test OpenSRF: the callback, promise and
# async-iterator forms, frames as opensrf.js builds them, the router's 404
# and method exceptions routed to onerror, a stateful session, streaming,
# partial results, transport_error, one WebSocket per page, a graceful
# restart, two tabs at once, the gateway stopped with requests in flight,
# and reconnecting once it is back.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use Time::HiRes qw(time);
use OSRFWS::Gateway;
use OSRFWS::Chromium;
use OSRFWS::Util qw(wait_until);

plan skip_all => 'chromium is not installed' unless OSRFWS::Chromium::binary();
my $gw = OSRFWS::Gateway->new(apache => { tls => 1 });
my $httpd = $gw->httpd;
my $origin = 'https://127.0.0.1:' . $httpd->tls_port;
my $endpoint = $httpd->tls_url('/osrf-websocket-translator');
my $browser = OSRFWS::Chromium->new;

# Runs async JavaScript in the page; returns its value, or dies with the
# page's exception.
sub js { my ($page, $code) = @_; return $page->run($code) }

# A tab with the client loaded, its WebSocket class counting sockets and
# recording every frame both ways.
sub open_tab {
    my $page = $browser->open_page("$origin/client.html");
    $page->wait_js(q{document.readyState === 'complete'}, 20) or die "client.html did not load";
    js($page, qq{
        window.frames_out = []; window.frames_in = []; window.sockets = 0;
        const Real = WebSocket;
        window.WebSocket = class extends Real {
            constructor(...a) { super(...a); window.sockets++;
                this.addEventListener('message', (e) => frames_in.push(e.data)); }
            send(d) { frames_out.push(d); return super.send(d); }
        };
        const m = await import('/js/opensrf-client.js');
        window.OpenSRF = m.OpenSRF;
        window.states = [];
        OpenSRF.configure({ url: '$endpoint', reconnectBase: 100, reconnectMax: 800,
                            connectTimeout: 20000,
                            onstatechange: (st, d) => states.push(st + (d && d.code ? ' ' + d.code : '')) });
        return 1;
    });
    return $page;
}

my $tab = open_tab();

# --- the callback API, and the frames on the wire ------------------------------
my $r = js($tab, q{
    const ses = new OpenSRF.ClientSession('opensrf.math');
    const seen = [];
    await new Promise((done, fail) => ses.request({ method: 'add', params: [2, 3],
        onresponse: (req) => seen.push(req.recv().content()),
        oncomplete: () => done(), onerror: (e) => fail(e) }).send());
    return { seen, thread: ses.thread, frame: JSON.parse(frames_out.at(-1)), raw: frames_out.at(-1) };
});
is_deeply $r->{seen}, [5], 'request({method, params, onresponse, oncomplete}).send(): add 2 3 = 5';
like $r->{thread}, qr/^0\.\d+\d{13}$/, "thread as opensrf.js makes it ($r->{thread})";
is_deeply [ sort keys %{ $r->{frame} } ], [qw(osrf_msg service thread)],
    'frame: service, thread, osrf_msg, no log_xid';
like $r->{raw}, qr/^\{"service":"opensrf\.math","thread":"[0-9.]+","osrf_msg":\[\{"__c":"osrfMessage","__p":\{"threadTrace":0,"type":"REQUEST","payload":\{"__c":"osrfMethod","__p":\{"method":"add","params":\[2,3\]\}\},"locale":"en-US","tz":"[^"]+","api_level":1\}\}\]\}$/,
    'REQUEST built exactly as opensrf.js builds it';

# --- promises, echo ---------------------------------------------------------------
$r = js($tab, q{
    const ses = new OpenSRF.ClientSession('opensrf.math');
    return { sum: await ses.request('add', 20, 22).send().first(),
             echo: await ses.request('opensrf.system.echo', 'a', { b: [1, 'é'] }, 3).send().results() };
});
is $r->{sum}, 42, 'promise form: first()';
is_deeply $r->{echo}, ['a', { b => [1, 'é'] }, 3], 'results(): opensrf.system.echo, one result per param';

# --- errors routed by thread ----------------------------------------------------------
$r = js($tab, q{
    const ses = new OpenSRF.ClientSession('opensrf.nosuch');
    const t0 = performance.now();
    const err = await new Promise((done) => ses.request({ method: 'x',
        onerror: (e, req) => done({ kind: e.kind, status: e.status, text: e.statusText,
                                    same: req.reqid === 0, complete: req.complete }),
        oncomplete: () => done({ complete: true }) }).send());
    err.ms = performance.now() - t0;
    err.reply = frames_in.filter((f) => f.includes(ses.thread)).at(-1);
    return err;
});
is $r->{status}, 404, "unknown service: the router's 404 reaches onerror";
is $r->{kind}, 'service', '... as a service error';
is $r->{text}, 'Service Not Found', '... with its text';
ok !$r->{complete}, '... and the request does not complete';
like $r->{reply}, qr/"threadTrace":"1"/, "(the router's reply carries threadTrace 1, the request had 0)";

$r = js($tab, q{
    const math = new OpenSRF.ClientSession('opensrf.math');
    const test = new OpenSRF.ClientSession('opensrf.test');
    const catchIt = (p) => p.then(() => 'no error', (e) => [e.kind, e.status, e.statusText, e.className]);
    const viaCallback = await new Promise((done) => math.request({ method: 'div', params: [1, 0],
        onmethoderror: (req, code, text) => done([code, text]) }).send());
    return { viaCallback,
             div: await catchIt(math.request('div', 1, 0).send().results()),
             nomethod: await catchIt(math.request('nosuch').send().results()),
             error: await catchIt(test.request('error').send().results()) };
});
is_deeply $r->{viaCallback}, [500, 'Division by zero'], 'method exception: onmethoderror(req, 500, text)';
is_deeply $r->{div}, ['method', 500, 'Division by zero', 'osrfMethodException'],
    '... and a rejected promise with the status';
is_deeply $r->{nomethod}, ['method', 404, 'Method [nosuch] not found for opensrf.math', 'osrfMethodException'],
    'unknown method: 404 method exception';
is_deeply $r->{error}, ['method', 400, 'Bad request, as asked', 'osrfMethodException'], 'a 400 from a method';

$r = js($tab, q{
    const ses = new OpenSRF.ClientSession('not a service!');
    const err = await ses.request('x').send().results().catch((e) => e);
    return { status: err.status, text: err.statusText,
             reply: frames_in.filter((f) => f.includes(ses.thread)).at(-1) };
});
is $r->{status}, 400, "the gateway's own STATUS 400 (a bad service name) reaches the request";
like $r->{reply}, qr/"threadTrace":"0"/, '... with the threadTrace the request had (a JSON number on the wire)';

# --- a stateful session -----------------------------------------------------------------
$r = js($tab, q{
    const ses = new OpenSRF.ClientSession('opensrf.test');
    const before = frames_out.length;
    let onconnect = 0;
    await ses.connect({ onconnect: () => onconnect++ });
    const who = [];
    for (let i = 0; i < 4; i++) who.push(await ses.request('whoami').send().first());
    await ses.request('session.set', 'k', 'v').send().results();
    const kept = await ses.request('session.get', 'k').send().first();
    ses.disconnect();
    const sent = frames_out.slice(before).map((f) => JSON.parse(f));
    return { onconnect, who, kept, state: ses.state,
             types: sent.map((f) => f.osrf_msg[0].__p.type),
             traces: sent.map((f) => f.osrf_msg[0].__p.threadTrace),
             every: sent.every((f) => f.service === 'opensrf.test' && f.thread === ses.thread),
             connect: frames_out[before] };
});
is $r->{onconnect}, 1, 'connect(): STATUS 200, onconnect called';
is scalar(keys %{{ map { $_ => 1 } @{ $r->{who} } }}), 1, "every request inside the session served by one worker ($r->{who}[0])";
is $r->{kept}, 'v', 'the worker keeps session state';
is_deeply $r->{types}, [qw(CONNECT REQUEST REQUEST REQUEST REQUEST REQUEST REQUEST DISCONNECT)],
    'CONNECT, the requests, DISCONNECT';
is_deeply $r->{traces}, [0 .. 7], 'threadTrace counts on, as opensrf.js does';
ok $r->{every}, 'service and thread on every frame, CONNECT and DISCONNECT included';
like $r->{connect}, qr/"__p":\{"threadTrace":0,"type":"CONNECT","payload":"null","locale":"en-US","tz":"[^"]+"\}\}\]\}$/,
    'CONNECT as opensrf.js sends it (payload "null", no api_level)';
is $r->{state}, 2, 'disconnect(): the session is disconnected';

# --- streaming through the async iterator ------------------------------------------------------
$r = js($tab, q{
    const ses = new OpenSRF.ClientSession('opensrf.test');
    const req = ses.request('stream', 25);
    const got = []; let completeBefore = 0;
    for await (const n of req) { got.push(n); if (req.complete) completeBefore++; }
    return { got, firstEarly: completeBefore < got.length, complete: req.complete };
});
is_deeply $r->{got}, [1 .. 25], 'for await (... of request): 25 results in order';
ok $r->{firstEarly}, 'results are yielded before the request completes';
ok $r->{complete}, 'and the loop ends at STATUS 205';

# --- partial results ----------------------------------------------------------------------------
$r = js($tab, q{
    const ses = new OpenSRF.ClientSession('opensrf.test');
    const start = frames_in.length;
    const got = await ses.request('partial', 300, 97).send().results();
    const want = Array.from({ length: 300 }, (_, i) => ({ n: i + 1, text: `résultat ✓ ${i + 1}` }));
    const pieces = frames_in.slice(start).filter((f) => f.includes('"osrfResultPartial"')).length;
    return { same: JSON.stringify(got) === JSON.stringify([want]), count: got.length, pieces,
             sample: JSON.stringify(got).slice(0, 120),
             finalized: frames_in.slice(start).some((f) => f.includes('"osrfResultPartialComplete"')) };
});
ok $r->{same}, 'osrfResultPartial pieces reassembled into the one result (non-ASCII text intact)'
    or diag $r->{sample};
cmp_ok $r->{pieces}, '>', 50, "it came in $r->{pieces} osrfResultPartial frames";
ok $r->{finalized}, 'closed by osrfResultPartialComplete';
is $r->{count}, 1, 'delivered as one result';

# --- transport_error -----------------------------------------------------------------------------
$r = js($tab, q{
    const ses = new OpenSRF.ClientSession('opensrf.test');
    return await new Promise((done) => ses.request({ method: 'bounce',
        ontransporterror: (e) => done({ kind: e.kind, message: e.message }),
        onerror: () => done('onerror instead'), oncomplete: () => done('completed') }).send());
});
is_deeply $r, { kind => 'transport', message => 'Service opensrf.test unavailable' },
    'transport_error: ontransporterror called';

is js($tab, 'return sockets'), 1, 'one WebSocket for everything so far';

# --- a graceful restart: 1001, and the client reconnects by itself ------------------------------
# (the bounced request above must not count as in flight, or the gateway
# would keep the connection until the max request wait)
my $t1 = time;
$httpd->graceful;
ok wait_until(sub { js($tab, 'return OpenSRF.connection().opened') == 2 }, 20),
    sprintf('graceful restart: the client reconnects by itself (%.1f s)', time - $t1)
    or diag explain(js($tab, 'return states')), join("\n", grep { /OSRFWS/ } split /\n/, $httpd->error_log);
like join(',', @{ js($tab, 'return states') }), qr/^connecting,open,closed 1001,waiting,connecting,open$/,
    'after the gateway closed with 1001 (going away)';
is js($tab, q{return await new OpenSRF.ClientSession('opensrf.math').request('add', 1, 2).send().first()}), 3,
    'and the new socket works';

# --- two tabs at once ----------------------------------------------------------------------------
my $tab2 = open_tab();
my $work = q{
    window.result = null;
    const ses = new OpenSRF.ClientSession('opensrf.test');
    const math = new OpenSRF.ClientSession('opensrf.math');
    Promise.all([ses.request('stream', 40).send().results(),
                 Promise.all(Array.from({ length: 30 }, (_, i) => math.request('add', i, TAB).send().first()))])
        .then(([s, sums]) => { window.result = { s, sums, sockets } }, (e) => { window.result = { error: String(e) } });
    return 1;
};
js($tab, $work =~ s/TAB/1000/r);
js($tab2, $work =~ s/TAB/2000/r);
my @res = map { my $p = $_; wait_until(sub { js($p, 'return window.result') }, 30) } $tab, $tab2;
is_deeply $res[0], { s => [1 .. 40], sums => [ map { $_ + 1000 } 0 .. 29 ], sockets => 2 },
    'tab 1: a stream and 30 concurrent calls, all its own (on its second socket, since the restart)';
is_deeply $res[1], { s => [1 .. 40], sums => [ map { $_ + 2000 } 0 .. 29 ], sockets => 1 },
    'tab 2 at the same time: its own, on its own WebSocket';
$r = js($tab2, q{
    const module = window.OpenSRF;
    await new Promise((ok, fail) => { const s = document.createElement('script');
        s.src = '/js/opensrf-client.classic.js'; s.onload = ok; s.onerror = fail; document.head.append(s); });
    const classic = window.OpenSRF;
    classic.configure({ url: module.connection().url });
    return { other: classic !== module ? 'yes' : 'no',
             sum: await new classic.ClientSession('opensrf.math').request('add', 4, 5).send().first() };
});
is_deeply $r, { other => 'yes', sum => 9 }, 'the classic <script> build works the same';
$tab2->close;

# --- the gateway stops with requests in flight ---------------------------------------------------
my $slept = $gw->osrf->requests_started('opensrf.test', 'sleep');
js($tab, q{
    window.failed = [];
    window.sleeper = new OpenSRF.ClientSession('opensrf.test');
    window.stateful = new OpenSRF.ClientSession('opensrf.test');
    await stateful.connect();
    stateful.ondisconnect = () => failed.push('ondisconnect');
    for (const s of [sleeper, stateful])
        s.request({ method: 'sleep', params: [20],
                    onerror: (e) => failed.push(e.kind + ': ' + e.message) }).send();
    return 1;
});
ok $gw->osrf->wait_started('opensrf.test', 'sleep', count => $slept + 2),
    'both requests are in flight (their workers have started them)';
my $t0 = time;
$httpd->stop;
my $failed = wait_until(sub { my $f = js($tab, 'return failed'); @$f >= 3 && $f }, 20);
my $took = time - $t0;
is scalar(grep { /^transport: the WebSocket to \Q$endpoint\E closed \(\d+\) with the request in flight$/ } @{ $failed // [] }), 2,
    sprintf('gateway stopped: both requests in flight fail with a clear error (%.1f s after the stop began)', $took)
    or diag explain $failed;
ok grep({ $_ eq 'ondisconnect' } @{ $failed // [] }), 'the stateful session is told it is gone';
is js($tab, 'return stateful.state'), 2, '... and is disconnected';

# --- reconnect once the gateway is back ----------------------------------------------------------
js($tab, q{
    window.after = null;
    window.down_at = states.length;
    new OpenSRF.ClientSession('opensrf.math').request('add', 40, 2).send().first()
        .then((v) => { window.after = { v } }, (e) => { window.after = { error: String(e) } });
    return 1;
});
ok wait_until(sub { js($tab, q{return states.slice(down_at).filter((s) => s.startsWith('closed')).length}) >= 2 }, 20),
    'while the gateway is down the client tries again (two attempts refused)';
is js($tab, 'return window.after'), undef, '... and the request waits (queued)';
$httpd->start;
my $after = wait_until(sub { js($tab, 'return window.after') }, 20);
is_deeply $after, { v => 42 }, 'after the restart the queued request goes through';
is js($tab, 'return OpenSRF.connection().opened'), 3, 'on a new WebSocket';
$r = js($tab, q{
    await stateful.connect();
    return await stateful.request('whoami').send().first();
});
like $r, qr/^\d+$/, 'a stateful session can connect again';
$tab->close;

is_deeply [ $httpd->log_problems ], [], 'no errors in the error log';
done_testing;
