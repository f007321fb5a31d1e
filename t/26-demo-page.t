# SPDX-License-Identifier: GPL-2.0-or-later
# The demo page in headless Chromium against the demo stack, over https and
# wss as script/demo serves it: through js/opensrf-client.js it calls
# opensrf.math, echo, a stateful session and a stream, and shows live
# round-trip times.  OSRFWS_SCREENSHOT=FILE saves a screenshot.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use OSRFWS::Gateway;
use OSRFWS::Chromium;
use OSRFWS::Util qw(srcdir);

plan skip_all => 'chromium is not installed' unless OSRFWS::Chromium::binary();
my $gw = OSRFWS::Gateway->new(apache => { tls => 1, docroot => srcdir() . '/demo' });
my $browser = OSRFWS::Chromium->new;
my $page = $browser->open_page('https://127.0.0.1:' . $gw->httpd->tls_port . '/index.html');

ok $page->wait_js(q{document.getElementById('status').textContent === 'open'}, 20),
    'the page connects to the osrf endpoint';
like $page->eval_js(q{document.getElementById('endpoint').textContent}),
    qr{^wss://127\.0\.0\.1:\d+/osrf-websocket-translator$}, 'over wss';
my $text = sub { my $id = shift; "document.getElementById('$id').textContent" };
my $click = sub { $page->eval_js("document.querySelector('$_[0]').click(), 1") };

$click->('button[data-m=add]');
like $page->wait_js($text->('math'), 10), qr/^add = 5 /, 'opensrf.math add shows 5';
$click->('button[data-m=div]');
like $page->wait_js(qq{(t => /div/.test(t) && t)(@{[ $text->('math') ]})}, 10),
    qr/^div = 0\.6/, 'opensrf.math div';
$click->('#echo');
like $page->wait_js($text->('echo-out'), 10), qr/hello, OpenSRF/, 'echo';
$click->('#connect');
like $page->wait_js(qq{(t => /connected/.test(t) && t)(@{[ $text->('session') ]})}, 10),
    qr/^connected  \(\d+\.\d ms\)$/, 'stateful CONNECT, with its round trip';
$click->('#whoami');
like $page->wait_js(qq{(t => /worker/.test(t) && t)(@{[ $text->('session') ]})}, 10),
    qr/served by worker \d+/, 'whoami inside the session';
$click->('#stream');
like $page->wait_js(qq{(t => /complete/.test(t) && t)(@{[ $text->('stream-out') ]})}, 10),
    qr/^1 2 3 .* 25 \W 25 results, complete/, 'streaming results shown as they arrive';
$click->('#bench');
ok $page->wait_js(qq{@{[ $text->('count') ]} === '100'}, 30), '100 round trips measured';
my $median = $page->eval_js($text->('median'));
like $median, qr/^\d+\.\d\d$/, "median round trip shown ($median ms)";
like $page->wait_js(qq{(t => /\\([3-9]\\d* calls/.test(t) && t)(@{[ $text->('live') ]})}, 10),
    qr/^last \d+\.\d\d ms, median \d+\.\d\d ms, max \d+\.\d\d ms \(\d+ calls\)$/,
    'live round trips, one call a second, updating';
is $page->eval_js(q{document.querySelectorAll('#spark rect').length}) >= 3 ? 1 : 0, 1,
    'drawn as bars';
is $page->eval_js(q{document.getElementById('sockets').textContent}), '(WebSockets opened: 1)',
    'everything on one WebSocket';
$page->screenshot($ENV{OSRFWS_SCREENSHOT}) if $ENV{OSRFWS_SCREENSHOT};
is_deeply [ $gw->httpd->log_problems ], [], 'no errors in the error log';
done_testing;
