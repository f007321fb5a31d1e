# SPDX-License-Identifier: GPL-2.0-or-later
# The status page for people (?html, or a browser's Accept): served with a
# strict Content-Security-Policy and nothing to fetch; live charts of open
# connections, requests per second and errors by kind from the history the
# parent samples; children by state; the bus state of the child answering
# (reachable, or why not), its errors and reconnects; the values those of
# the JSON view.  Then in Chromium: it renders under its own policy, and a
# screenshot is kept (OSRFWS_SCREENSHOT=FILE) for a person to look at.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::XS;
use OSRFWS::Gateway;
use OSRFWS::OsrfClient;
use OSRFWS::Chromium;
use OSRFWS::Util qw(wait_until http_get tempdir);

my $gw = OSRFWS::Gateway->new(apache => { conf => <<'CONF' });
<Location /osrf-ws-status>
    Require all granted
    SetHandler osrf-websocket-status
</Location>
CONF
my $port = $gw->httpd->port;
my $CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
        . "form-action 'none'; frame-ancestors 'none'";
my $BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

sub page { http_get($port, '/osrf-ws-status?html') }
sub td { my ($html, $id) = @_; $html =~ m{<td id="\Q$id\E"[^>]*>([^<]*)</td>} ? $1 : undef }

# Load while the parent samples: three connections open, calls, 404s.
my @c = map { OSRFWS::OsrfClient->new(port => $port) } 1 .. 3;
my $calls = 0;
my $html;
ok wait_until(sub {
        for my $c (@c) {
            $c->call('opensrf.math', 'add', [1, 2]);
            $calls++;
        }
        $c[0]->call('opensrf.nosuch', 'x', []);
        (undef, undef, $html) = page();
        $html =~ /id="chart-requests" data-points="(\d+)"/ && $1 >= 2;
    }, 60, 0.5),
    "the parent's samples make the rate charts (two intervals after $calls calls)"
    or diag $html;

my ($code, $h, $body) = page();
is $code, 200, '?html: 200';
like $h->{'content-type'}, qr{^text/html; charset=utf-8$}, '... text/html';
is $h->{'content-security-policy'}, $CSP, '... with a strict Content-Security-Policy';
is $h->{'x-content-type-options'}, 'nosniff', '... nosniff';
is $h->{'cache-control'}, 'no-store', '... not cached';
like $h->{vary}, qr/\bAccept\b/, '... Vary: Accept';
unlike $body, qr/<script|\bsrc=|\@import|url\(|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i,
    'nothing to run or fetch: no script, no source, no external address';
is scalar(() = $body =~ /<svg /g), 3, 'three charts, inline SVG';
is scalar(() = $body =~ /<polyline /g), 6, 'a line each, four for the error kinds';
like $body, qr/<meta http-equiv="refresh" content="10">/, 'live: reloads itself every 10 s';
my ($rps) = $body =~ m{Requests per second .*?<b class="last">([\d.]+)</b>};
cmp_ok $rps // 0, '>', 0, "requests per second in the last interval: $rps";
like $body, qr{OpenSRF STATUS <b class="last">[1-9][\d.]*</b>}, "the router's 404s among the errors";

my $json = decode_json((http_get($port, '/osrf-ws-status'))[2]);
is td($body, 'connections-open'), $json->{connections_open}, "open connections as in JSON ($json->{connections_open})";
is td($body, 'connections-open'), 3, '... the three clients';
is td($body, "children-$_"), $json->{children}{$_}, "children $_ as in JSON"
    for qw(total idle websocket other starting stopping);
is td($body, 'bus-state'), 'yes', 'the bus: reachable';
is td($body, 'bus-reconnects'), $json->{bus_reconnects_total}, 'bus reconnects as in JSON';
is td($body, 'bus-errors'), $json->{bus_errors_total}, 'bus errors as in JSON';

($code, $h) = http_get($port, '/osrf-ws-status', headers => { Accept => $BROWSER });
like $h->{'content-type'}, qr{^text/html}, "a browser's Accept gets the page";
($code, $h) = http_get($port, '/osrf-ws-status', headers => { Accept => '*/*' });
is $h->{'content-type'}, 'application/json', 'anything else still gets JSON';
ok !$h->{'content-security-policy'}, '(the policy is the page\'s alone)';

# The bus down: the page says so, and why.
$gw->redis->stop;
(undef, undef, $body) = page();
like td($body, 'bus-state'), qr/^no: OSRFWS02001: cannot reach the bus at \S+:\d+: /,
    'Redis stopped: the page says the bus is unreachable, and why';
$gw->redis->start;
(undef, undef, $body) = page();
is td($body, 'bus-state'), 'yes', 'back once Redis is';

# In Chromium, with the browser's own Accept.
SKIP: {
    skip 'chromium is not installed', 4 unless OSRFWS::Chromium::binary();
    my $browser = OSRFWS::Chromium->new;
    my $tab = $browser->open_page("http://127.0.0.1:$port/osrf-ws-status");
    ok $tab->wait_js(q{document.readyState === 'complete' && document.querySelectorAll('svg polyline').length}, 20),
        'Chromium renders the page at the bare URL';
    is $tab->eval_js('document.contentType'), 'text/html', '... as HTML';
    is $tab->eval_js(q{[...document.querySelectorAll('figure')].filter((f) => f.getBoundingClientRect().width > 300).length}),
        3, 'three charts laid out';
    my $shot = $ENV{OSRFWS_SCREENSHOT} // tempdir() . '/status-page.png';
    $tab->screenshot($shot);
    ok -s $shot > 10_000, "screenshot taken ($shot)";
    $tab->close;
}

$_->ws->send_close(1000) for @c;
# (the listeners of the children that served the clients lose the bus)
is_deeply [ grep { !/OSRFWS0200[1236]/ } $gw->httpd->log_problems ], [],
    'no errors in the error log but the bus outage';
done_testing;
