# SPDX-License-Identifier: GPL-2.0-or-later
# The JavaScript client's shared mode (options.sharedWorker) in headless
# Chromium over wss: three tabs of one origin share one WebSocket, so the
# gateway holds exactly one connection; every tab's calls (stateless,
# streaming, a stateful session) come back to it; a tab closed with work in
# flight, or whose renderer crashes, has its threads released in the worker
# (and its stateful sessions disconnected) while the other tabs go on;
# the gateway stopped with requests in flight fails them in every tab, and
# once it is back the worker reconnects by itself and calls work again.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use Time::HiRes qw(time);
use OSRFWS::Gateway;
use OSRFWS::Chromium;
use OSRFWS::Util qw(wait_until http_get);

plan skip_all => 'chromium is not installed' unless OSRFWS::Chromium::binary();
# (a stateful session the worker does not end stays 30 s: longer than the
# test waits for the closed tab's to end)
my $gw = OSRFWS::Gateway->new(osrf => { keepalive => 30, workers => 6 },
                              apache => { tls => 1, conf => <<'CONF' });
<Location /osrf-ws-status>
    Require all granted
    SetHandler osrf-websocket-status
</Location>
CONF
my $httpd = $gw->httpd;
my $origin = 'https://127.0.0.1:' . $httpd->tls_port;
my $endpoint = $httpd->tls_url('/osrf-websocket-translator');
my $browser = OSRFWS::Chromium->new;

# Runs async JavaScript in the page; returns its value, or dies with the
# page's exception.
sub js { my ($page, $code) = @_; return $page->run($code) }

sub gateway_status {
    my ($code, undef, $body) = http_get($httpd->port, '/osrf-ws-status');
    return $code == 200 ? decode_json($body) : {};
}

# A tab in shared mode; the page itself opens no WebSocket (counted).
sub open_tab {
    my $page = $browser->open_page("$origin/client.html");
    $page->wait_js(q{document.readyState === 'complete'}, 20) or die "client.html did not load";
    js($page, qq{
        window.sockets = 0;
        const Real = WebSocket;
        window.WebSocket = class extends Real { constructor(...a) { super(...a); window.sockets++; } };
        const m = await import('/js/opensrf-client.js');
        window.OpenSRF = m.OpenSRF;
        window.states = [];
        const c = OpenSRF.configure({ url: '$endpoint', sharedWorker: '/js/opensrf-shared-worker.js',
                                      reconnectBase: 100, reconnectMax: 800, connectTimeout: 20000,
                                      onstatechange: (st, d) => states.push(st + (d && d.code ? ' ' + d.code : '')) });
        return c.constructor.name;
    }) eq 'SharedConnection' or die 'not in shared mode';
    return $page;
}

my @tabs = map { open_tab() } 1 .. 3;

# --- calls from every tab, at once, on one gateway connection -------------------
my $work = q{
    window.result = null;
    const math = new OpenSRF.ClientSession('opensrf.math');
    const test = new OpenSRF.ClientSession('opensrf.test');
    const ses = new OpenSRF.ClientSession('opensrf.test');
    Promise.all([
        Promise.all(Array.from({ length: 20 }, (_, i) => math.request('add', i, TAB).send().first())),
        test.request('stream', 30).send().results(),
        ses.connect().then(async () => {
            await ses.request('session.set', 'tab', TAB).send().results();
            const got = await ses.request('session.get', 'tab').send().first();
            ses.disconnect();
            return got;
        }),
    ]).then(([sums, stream, kept]) => { window.result = { sums, stream, kept, sockets } },
            (e) => { window.result = { error: String(e) } });
    return 1;
};
js($tabs[$_], $work =~ s/TAB/($_ + 1) * 1000/ger) for 0 .. 2;
for my $i (0 .. 2) {
    my $n = ($i + 1) * 1000;
    my $r = wait_until(sub { js($tabs[$i], 'return window.result') }, 30);
    is_deeply $r, { sums => [ map { $_ + $n } 0 .. 19 ], stream => [1 .. 30], kept => $n, sockets => 0 },
        "tab " . ($i + 1) . ": 20 calls, a stream of 30 and a stateful session, all its own, no WebSocket of its own";
}
my $st = gateway_status();
is_deeply [ $st->{connections_total}, $st->{connections_open} ], [1, 1],
    'the gateway accepted exactly one connection for the three tabs, and it is open';
my $ws = js($tabs[0], 'return await OpenSRF.connection().stats()');
is_deeply [ @$ws{qw(tabs opened state)} ], [3, 1, 'open'], 'the worker: three tabs, one socket opened';

# --- a tab closed mid-stream -------------------------------------------------------
js($tabs[2], q{
    window.held = new OpenSRF.ClientSession('opensrf.test');
    await held.connect();
    held.request('sleep', 3).send();
    window.got = 0;
    new OpenSRF.ClientSession('opensrf.test').request({ method: 'stream', params: [20000],
        onresponse: () => got++ }).send();
    return 1;
});
ok wait_until(sub { (js($tabs[0], 'return await OpenSRF.connection().stats()')->{threads} // 0) == 2 }, 10),
    "the worker routes tab 3's two threads";
js($_, $work =~ s/TAB/7/gr) for @tabs[0, 1];    # the others keep working meanwhile
my $got = $tabs[2]->wait_js('got > 0 && got', 20);
cmp_ok $got // 0, '<', 20000, "tab 3 closed in the middle of a stream of 20000 (at result $got)";
$tabs[2]->close;
ok my $left = wait_until(sub { my $s = js($tabs[0], 'return await OpenSRF.connection().stats()');
                               $s->{tabs} == 2 && $s->{threads} == 0 && $s }, 15),
    'the worker released its threads (2 tabs, no thread left)';
for my $i (0, 1) {
    my $r = wait_until(sub { js($tabs[$i], 'return window.result') }, 30);
    is_deeply $r, { sums => [ map { $_ + 7 } 0 .. 19 ], stream => [1 .. 30], kept => 7, sockets => 0 },
        'tab ' . ($i + 1) . ' is unaffected';
}
ok wait_until(sub { (gateway_status()->{sessions_cached} // -1) == 0 }, 10),
    "the closed tab's stateful session is disconnected (the worker sent its DISCONNECT)"
    or diag explain gateway_status();
$st = gateway_status();
is $st->{connections_total}, 1, 'still the one gateway connection';

# --- a tab that crashes (no pagehide): its Web Lock tells the worker -------------
my $doomed = open_tab();
js($doomed, q{
    window.held = new OpenSRF.ClientSession('opensrf.test');
    await held.connect();
    held.request('sleep', 2).send();
    return 1;
});
ok wait_until(sub { my $s = js($tabs[0], 'return await OpenSRF.connection().stats()');
                    $s->{tabs} == 3 && $s->{threads} == 1 }, 10), 'a fourth tab with a stateful session';
$doomed->crash;
ok wait_until(sub { my $s = js($tabs[0], 'return await OpenSRF.connection().stats()');
                    $s->{tabs} == 2 && $s->{threads} == 0 }, 15),
    'its renderer crashed: the worker released its threads once its lock was let go';
ok wait_until(sub { (gateway_status()->{sessions_cached} // -1) == 0 }, 10),
    '... and sent the DISCONNECT of its session';
$doomed->close;

# --- the gateway stopped with requests in flight, then back -----------------------
# (once the closed tab's stream has gone out: a child stopped while its
# listener sends a reply crashes on its way out, a fault of the gateway's
# exit path, not of the client, that this test is not about)
ok wait_until(sub { (gateway_status()->{requests_in_flight} // -1) == 0 }, 60),
    "the gateway has sent out the rest of the closed tab's stream";
for my $t (@tabs[0, 1]) {
    js($t, q{
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
}
ok wait_until(sub { (js($tabs[0], 'return await OpenSRF.connection().stats()')->{threads} // 0) == 4 }, 10),
    'both tabs have their requests on the wire';
my $t0 = time;
$httpd->stop;
for my $i (0, 1) {
    my $f = wait_until(sub { my $f = js($tabs[$i], 'return failed'); @$f >= 3 && $f }, 20);
    is scalar(grep { /^transport: the WebSocket to \Q$endpoint\E closed \(\d+\) with the request in flight$/ } @{ $f // [] }), 2,
        sprintf('gateway stopped: tab %d: both requests in flight fail with a clear error (%.1f s)', $i + 1, time - $t0)
        or diag explain $f;
    ok grep({ $_ eq 'ondisconnect' } @{ $f // [] }), '... and its stateful session is told it is gone';
}
js($_, q{
    window.after = null;
    new OpenSRF.ClientSession('opensrf.math').request('add', 40, 2).send().first()
        .then((v) => { window.after = { v } }, (e) => { window.after = { error: String(e) } });
    return 1;
}) for @tabs[0, 1];
$httpd->start;
for my $i (0, 1) {
    is_deeply wait_until(sub { js($tabs[$i], 'return window.after') }, 20), { v => 42 },
        'after the restart, tab ' . ($i + 1) . "'s queued call goes through";
}
$ws = js($tabs[1], 'return await OpenSRF.connection().stats()');
is_deeply [ @$ws{qw(opened state)} ], [2, 'open'], 'the worker reconnected by itself: its second socket';
like join(',', @{ js($tabs[1], 'return states') }), qr/open,closed \d+,waiting,.*open$/,
    'the tabs saw the socket close and open again';
$st = gateway_status();
is_deeply [ $st->{connections_total}, $st->{connections_open} ], [1, 1],
    'the restarted gateway holds one connection for both tabs';
is js($tabs[0], q{
    await stateful.connect();
    return await stateful.request('session.set', 'k', 'again').send().first();
}), 'again', 'a stateful session connects again';
$_->close for @tabs[0, 1];

is_deeply [ $httpd->log_problems ], [], 'no errors in the error log'
    or diag join "\n", grep { /OSRFWS|AH00052|exit signal/ } split /\n/, $httpd->error_log;
done_testing;
