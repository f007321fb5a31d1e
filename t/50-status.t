# SPDX-License-Identifier: GPL-2.0-or-later
# The status handler: every figure moves when it should under load
# (connections, calls, requests in flight, stateful sessions, client
# protocol errors, OpenSRF and gateway STATUS errors, a bus outage), both
# formats parse, other addresses get 403, counts survive a graceful restart.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use JSON::XS;
use Time::HiRes qw(time);
use OSRFWS::Gateway;
use OSRFWS::OsrfClient;
use OSRFWS::Util qw(wait_until);

my $t_start = time;
my $gw = OSRFWS::Gateway->new(
    env => { OSRF_WEBSOCKET_IDLE_CHECK_INTERVAL => 1 },
    apache => { max_spare => 12, conf => <<'CONF' });
<Location /osrf-ws-status>
    Require all granted
    SetHandler osrf-websocket-status
</Location>
<Location /osrf-ws-status-lan>
    Require all granted
    SetHandler osrf-websocket-status
    WebSocketStatusAllow 127.0.0.0/24 ::1
</Location>
CONF
my $port = $gw->httpd->port;

# GET over plain HTTP/1.0: (status, {headers}, body).
sub http_get { my ($path, %o) = @_; return OSRFWS::Util::http_get($port, $path, %o) }

sub status {
    my ($code, $h, $body) = http_get('/osrf-ws-status');
    die "status: $code" unless $code == 200;
    return decode_json($body);
}

# Waits until $check->(status) holds; returns the last status seen.
sub status_until {
    my ($check, $timeout) = @_;
    my $s;
    wait_until(sub { $s = status(); $check->($s) }, $timeout // 10, 0.1);
    return $s;
}

my $s0 = status();
is $s0->{version}, 1, 'JSON status, version 1';
is $s0->{connections_open}, 0, 'no connection open at first';
cmp_ok $s0->{children}{total}, '>=', 1, 'children counted';
my $sum = 0;
$sum += $s0->{children}{$_} for qw(starting idle websocket other stopping);
is $sum, $s0->{children}{total}, 'children by state add up to the total';

# Load: five connections, calls on each.
my @c = map { OSRFWS::OsrfClient->new(port => $port) } 1 .. 5;
my $s = status_until(sub { $_[0]{connections_open} == 5 });
is $s->{connections_open}, 5, 'five connections open';
cmp_ok $s->{children}{websocket}, '>=', 5, 'five children hold a WebSocket';
is $s->{connections_total} - $s0->{connections_total}, 5, 'connections_total +5';
my $ok = 1;
for my $i (0 .. $#c) {
    $ok &&= ($c[$i]->call('opensrf.math', 'add', [$i, 1])->{results}[0] // -1) == $i + 1;
}
ok $ok, 'a call on each connection';
my $s1 = status();
is $s1->{requests_total} - $s0->{requests_total}, 5, 'requests_total +5';
cmp_ok $s1->{messages_received_total} - $s0->{messages_received_total}, '>=', 5,
    'messages received counted';
cmp_ok $s1->{messages_sent_total} - $s0->{messages_sent_total}, '>=', 5, 'messages sent counted';
cmp_ok $s1->{bytes_received_total}, '>', $s0->{bytes_received_total}, 'bytes in move';
cmp_ok $s1->{bytes_sent_total}, '>', $s0->{bytes_sent_total}, 'bytes out move';
is $s1->{requests_in_flight}, 0, 'nothing in flight once answered';

# A request in flight.
my $t = OSRFWS::OsrfClient::new_thread();
$c[0]->send_request('opensrf.test', $t, 'sleep', [2]);
$s = status_until(sub { $_[0]{requests_in_flight} == 1 }, 3);
is $s->{requests_in_flight}, 1, 'a slow request is in flight';
is_deeply $c[0]->collect($t, 10)->{results}, ['slept'], 'and is answered';
is status()->{requests_in_flight}, 0, 'then no longer in flight';

# A stateful session cached, then gone.
$t = OSRFWS::OsrfClient::new_thread();
$c[1]->send_msg('opensrf.test', $t, OSRFWS::OsrfClient::message('CONNECT', 0));
is $c[1]->collect($t)->{status}, 200, 'CONNECT accepted';
is status()->{sessions_cached}, 1, 'one stateful session cached';
$c[1]->send_msg('opensrf.test', $t, OSRFWS::OsrfClient::message('DISCONNECT', 0));
is status_until(sub { $_[0]{sessions_cached} == 0 }, 3)->{sessions_cached}, 0,
    'none after its DISCONNECT';

# Errors: OpenSRF's 404, the gateway's 400, client protocol errors.
is $c[2]->call('opensrf.nosuch', 'x', [])->{status}, 404, 'unknown service: 404';
$c[2]->ws->send_text('{"thread":"t-bad","service":"opensrf.math","osrf_msg":[{"__c":"osrfMessage","__p":{"type":"RESULT","threadTrace":"1"}}]}');
is $c[2]->collect('t-bad')->{status}, 400, 'a RESULT from a client: 400';
$c[3]->ws->send_text('not json');
is $c[3]->ws->read_close, 1007, 'not JSON: close 1007';
$c[4]->ws->send_frame(opcode => 1, payload => 'x', mask => 0);
is $c[4]->ws->read_close, 1002, 'an unmasked frame: close 1002';
my $s2 = status_until(sub { $_[0]{connections_open} == 3 });
is $s2->{opensrf_status_total}{404} - $s1->{opensrf_status_total}{404}, 1,
    'opensrf_status_total{404} +1';
is $s2->{gateway_status_total}{400} - $s1->{gateway_status_total}{400}, 1,
    'gateway_status_total{400} +1';
is $s2->{closes_total}{1007} - $s1->{closes_total}{1007}, 1, 'closes_total{1007} +1';
is $s2->{closes_total}{1002} - $s1->{closes_total}{1002}, 1, 'closes_total{1002} +1';
is $s2->{connections_open}, 3, 'the two closed connections are no longer open';

# The bus down: a call is answered 503 by the gateway; bus errors counted;
# once Redis is back, the bridge logs in again (a reconnect).
$gw->redis->stop;
is $c[0]->call('opensrf.math', 'add', [1, 1], timeout => 10)->{status}, 503,
    'bus down: STATUS 503 on the thread';
my $s3 = status();
is $s3->{gateway_status_total}{503} - $s2->{gateway_status_total}{503}, 1,
    'gateway_status_total{503} +1';
cmp_ok $s3->{bus_errors_total}, '>', $s2->{bus_errors_total}, 'bus_errors_total moves';
$gw->redis->start;
$gw->osrf->stop;
$gw->{osrf} = OSRFWS::OpenSRF->new(redis => $gw->redis);
ok wait_until(sub { ($c[0]->call('opensrf.math', 'add', [2, 2], timeout => 3)->{results}[0] // 0) == 4 }, 25),
    'calls work again once Redis is back';
my $s4 = status();
cmp_ok $s4->{bus_reconnects_total}, '>', $s2->{bus_reconnects_total}, 'bus_reconnects_total moves';

# Prometheus text format, by query and by Accept; the same figures.
my ($code, $h, $prom) = http_get('/osrf-ws-status?prometheus');
is $code, 200, '?prometheus answered';
like $h->{'content-type'}, qr{^text/plain; version=0\.0\.4}, 'its content type';
my ($code2, $h2, $prom2) = http_get('/osrf-ws-status',
    headers => { Accept => 'text/plain; version=0.0.4' });
like $h2->{'content-type'}, qr{^text/plain; version=0\.0\.4}, 'Accept: text/plain; version=0.0.4 chooses it too';
my (%sample, @bad, %typed);
for my $line (split /\n/, $prom) {
    if ($line =~ /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/) {
        $typed{$2} = $3 if $1 eq 'TYPE';
        push @bad, $line if $1 eq 'TYPE' && $3 !~ /^(counter|gauge)$/;
    } elsif ($line =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*")*\})? (-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)$/) {
        $sample{ $1 . ($2 // '') } = $3;
        push @bad, "untyped $line" unless $typed{$1};
    } else {
        push @bad, $line;
    }
}
is_deeply \@bad, [], 'every line is exposition format (HELP, TYPE before samples, samples)';
my $j = status();
is $sample{osrf_ws_requests_total}, $j->{requests_total}, 'requests_total the same as in JSON';
is $sample{'osrf_ws_closes_total{code="1007"}'}, $j->{closes_total}{1007}, 'a labelled figure the same';
is $sample{'osrf_ws_connections_open'}, 3, 'connections_open in Prometheus';
ok exists $sample{'osrf_ws_children{state="websocket"}'}, 'children by state';
my (undef, undef, $jbody) = http_get('/osrf-ws-status?json',
    headers => { Accept => 'text/plain; version=0.0.4' });
ok eval { decode_json($jbody) }, '?json wins over Accept';

# Allowed addresses: default 127.0.0.1 and ::1 only.
($code) = http_get('/osrf-ws-status', from => '127.0.0.2');
is $code, 403, 'default allow list: 127.0.0.2 refused';
($code) = http_get('/osrf-ws-status-lan', from => '127.0.0.2');
is $code, 200, 'WebSocketStatusAllow 127.0.0.0/24: 127.0.0.2 answered';
($code) = http_get('/osrf-ws-status-none');
is $code, 404, 'no status handler where none is configured';

# The counts survive a graceful restart; the generation moves on.
$_->ws->send_close(1000) for @c[0 .. 2];
my $before = status_until(sub { $_[0]{connections_open} == 0 });
is $before->{connections_open}, 0, 'all connections closed: none open';
$gw->httpd->graceful;
my $after = status_until(sub { $_[0]{generation} > $before->{generation} }, 10);
cmp_ok $after->{generation}, '>', $before->{generation}, 'a graceful restart: a new generation';
cmp_ok $after->{requests_total}, '>=', $before->{requests_total}, 'requests_total kept';
cmp_ok $after->{connections_total}, '>=', $before->{connections_total}, 'connections_total kept';

is_deeply [ grep { !/OSRFWS0200[1236]/ } $gw->httpd->log_problems ], [],
    'no errors in the log but the bus outage';
note sprintf 'wall time %.1f s', time - $t_start;
done_testing;
