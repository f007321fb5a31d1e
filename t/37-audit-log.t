# SPDX-License-Identifier: GPL-2.0-or-later
# The activity log an administrator reads after an incident: each REQUEST
# is logged once, under its own client and log_xid, refused ones said to
# be refused (two clients, one after the other, on the only child); no
# client text splits or forges a line (NEL, U+2028, U+2029, C1 controls
# in params and log_xid); X-Forwarded-For hops are addresses, bounded.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::XS;
use OSRFWS::Gateway;
use OSRFWS::OsrfClient;
use OSRFWS::Util qw(wait_until tempdir);

my $logfile = tempdir() . '/gateway.log';
my $gw = OSRFWS::Gateway->new(
    gateway_xml => "<logfile>$logfile</logfile><loglevel>3</loglevel>",
    apache => { max_clients => 1, start_servers => 1, min_spare => 1, max_spare => 1,
                conf => "OSRFWebSocketMaxInFlight 2\nOSRFWebSocketTrustedProxies 127.0.0.1" });
my $port = $gw->httpd->port;
my $json = JSON::XS->new->utf8->canonical;

sub request { OSRFWS::OsrfClient::message('REQUEST', $_[0],
    { __c => 'osrfMethod', __p => { method => $_[1], params => $_[2] } }) }

sub frame {
    my ($thread, $xid, @msgs) = @_;
    return $json->encode({ service => 'opensrf.math', thread => $thread,
                           ($xid ? (log_xid => $xid) : ()), osrf_msg => \@msgs });
}

sub slurp { open my $fh, '<:raw', $logfile or return ''; local $/; <$fh> // '' }

sub bye { my ($c) = @_; $c->ws->send_close(1000); $c->ws->read_close(5); $c->ws->close }

# --- two clients on the one child ------------------------------------------------
my $a = OSRFWS::OsrfClient->new(port => $port, local_addr => '127.0.0.2');
$a->ws->send_text(frame('t35-busy', 'xa-busy', map { request($_, 'add', [$_, 1]) } 1 .. 3));
is $a->collect('t35-busy')->{status}, 503, 'three requests over an in-flight cap of 2: 503';
$a->ws->send_text(frame('t35-bad', 'xa-400', request(1, 'add', [7, 7]),
    { __c => 'osrfMessage', __p => { type => 'RESULT', threadTrace => '2' } }));
is $a->collect('t35-bad')->{status}, 400, 'a request with a RESULT after it: 400';
bye($a);

my $b = OSRFWS::OsrfClient->new(port => $port, local_addr => '127.0.0.3');
$b->ws->send_text(frame('t35-ok', 'xb-ok', request(1, 'add', [40, 2])));
is_deeply $b->collect('t35-ok')->{results}, [42], 'the next client on the same child is served';
bye($b);

ok wait_until(sub { slurp() =~ /xb-ok\] OSRFWS02010/ }, 5), 'its request is logged';
my @act = grep { /\[ACT:/ } split /\n/, slurp();
my %pid = map { /\[ACT:(\d+):/ ? ($1 => 1) : () } @act;
is scalar(keys %pid), 1, 'both clients were served by the one child';
my @a = grep { /\[127\.0\.0\.2\]/ } @act;
is scalar(@a), 4, 'each of the first client\'s 4 requests logged once';
is scalar(grep { /:xa-busy\] OSRFWS02018: refused, STATUS 503: \[127\.0\.0\.2\] \[\] opensrf\.math add \[\d,1\]$/ } @a), 3,
    'the 3 over the cap: with their own xid, said refused with 503';
is scalar(grep { /:xa-400\] OSRFWS02018: refused, STATUS 400: \[127\.0\.0\.2\] \[\] opensrf\.math add \[7,7\]$/ } @a), 1,
    'the one of the 400 frame: with its own xid, said refused with 400';
my @b = grep { /:xb-ok\]/ } @act;
is_deeply [ map { /\] (OSRFWS\d+: .*)$/ } @b ],
    [ 'OSRFWS02010: [127.0.0.3] [] opensrf.math add [40,2]' ],
    'the second client\'s xid has its own request only, relayed';

# --- no forged lines -----------------------------------------------------------------
my $c = OSRFWS::OsrfClient->new(port => $port, local_addr => '127.0.0.1',
    headers => { 'X-Forwarded-For' => '198.51.100.7' });
my $forge = "x\x{85}[ACT:1:forged.c:1:0] NEL\x{2028}LS\x{2029}PS\x{9b}31mCSI";
$c->ws->send_text(frame('t35-forge', 'xc-forge', request(1, 'opensrf.system.echo', [$forge])));
is_deeply $c->collect('t35-forge')->{results}, [$forge], 'params with NEL, U+2028, U+2029, CSI echoed';
$c->ws->send_text(frame('t35-xid', "xc\x{2028}[ACT:1:f.c:1:0] forged", request(1, 'add', [1, 1])));
is $c->collect('t35-xid')->{status}, 400, 'a log_xid holding U+2028: 400';
$c->ws->send_text(frame('t35-method', 'xc-method', request(1, "add\x{85}forged", [1, 1])));
$c->collect('t35-method');
bye($c);
my $long = '9' x 4000;
my $d = OSRFWS::OsrfClient->new(port => $port, local_addr => '127.0.0.1',
    headers => { 'X-Forwarded-For' => "203.0.113.9, $long" });
$d->ws->send_text(frame('t35-long', 'xd-long', request(1, 'add', [2, 2])));
is_deeply $d->collect('t35-long')->{results}, [4], 'a call behind a 4,000-character hop';
bye($d);

ok wait_until(sub { slurp() =~ /xd-long\] OSRFWS02010/ }, 5), 'all logged';
my $log = slurp();
unlike $log, qr/\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]/, 'no raw C1 control, U+2028 or U+2029 in the file';
unlike $log, qr/[\x00-\x09\x0b-\x1f\x7f]/, 'no raw C0 control either';
my @forged = grep { /forged/ && !/^gateway \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[(?:ACT|INFO):\d+:osrf_ws_bridge\.c:\d+:/ } split /\n/, $log;
is_deeply \@forged, [], 'every line with the forged text is a real line of the gateway';
like $log, qr/:xc-forge\] OSRFWS02010: \[198\.51\.100\.7\] \[\] opensrf\.math opensrf\.system\.echo \["x\\u\{0085\}\[ACT:1:forged\.c:1:0\] NEL\\u\{2028\}LS\\u\{2029\}PS\\u\{009b\}31mCSI"\]$/m,
    'the params, escaped as \\u{XXXX}, under the forwarded client';
like $log, qr/:xc-method\] OSRFWS02010: \[198\.51\.100\.7\] \[\] opensrf\.math \(unreadable method\) \[1,1\]$/m,
    'a method holding NEL is not written';
like $log, qr/:xd-long\] OSRFWS02010: \[127\.0\.0\.1\] \[\] opensrf\.math add \[2,2\]$/m,
    'a hop that is no address: the proxy is named, not the hop';
unlike $log, qr/9{100}/, 'the 4,000-character hop is nowhere in the log';
is_deeply [ grep { !/AH00161/ } $gw->httpd->log_problems ], [],
    'no errors in Apache\'s error log (but the one child being busy)';
done_testing;
