# SPDX-License-Identifier: GPL-2.0-or-later
# A full instance answers: with every child but the reserve holding a
# WebSocket, a new upgrade gets 503 with Retry-After at once, the status
# handler and a plain page still answer, the refusals are logged at most
# once a second per child, and a client gets in again once one leaves;
# the per-client limit counts the client behind a trusted proxy as the
# activity log names it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(time);
use OSRFWS::Gateway;
use OSRFWS::WSClient;
use OSRFWS::Util qw(wait_until http_get);

my $LIMIT = 8;
my $gw = OSRFWS::Gateway->new(apache => {
    max_clients => $LIMIT, start_servers => $LIMIT, min_spare => 2, max_spare => $LIMIT,
    conf => <<'CONF' });
WebSocketReserve 2
WebSocketMaxConnectionsPerClient 2
OSRFWebSocketTrustedProxies 127.0.0.1
<Location /osrf-ws-status>
    Require all granted
    SetHandler osrf-websocket-status
</Location>
CONF
my $httpd = $gw->httpd;
my $port = $httpd->port;

# A refused client hangs up at once, as browsers do: Apache's lingering
# close would otherwise hold the child answering it for up to 2 s.
sub ws {
    my $c = OSRFWS::WSClient->connect(port => $port, timeout => 5, @_);
    $c->close unless $c->status == 101;
    return $c;
}

sub echoes {
    my ($c) = @_;
    $c->send_text('ping?');
    my $m = $c->read_message(5);
    return $m && $m->{payload} eq 'ping?';
}

sub bye { my ($c) = @_; $c->send_close(1000); $c->read_close(5); $c->close }

sub get {
    my ($path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 3)
        or return 0;
    print $s "GET $path HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    my $line = <$s> // '';
    close $s;
    return $line =~ m{^HTTP/1\.1 (\d+)} ? $1 : 0;
}

# The status handler's JSON.
sub status_json { (http_get($port, '/osrf-ws-status'))[2] }

# Waits until no child is busy with anything but a WebSocket (the one
# answering this page aside): the reserve counts every busy child, and a
# refused client's child may still be hanging up.
sub quiet {
    wait_until(sub { status_json() =~ /"other":1,/ }, 30)
        or die 'a child stayed busy with something else for 30 s: '
            . "the reserve would refuse what this test expects in\n";
}

# Waits until the instance has all its children (the decision counts
# busy slots, not children, but a fork must not be what a client waits for).
wait_until(sub { $httpd->children >= $LIMIT }, 30)
    or die "the instance did not reach its $LIMIT children in 30 s\n";

# --- per client --------------------------------------------------------------------
my @same = map { ws(local_addr => '127.0.0.5') } 1 .. 2;
is_deeply [ map { $_->status } @same ], [ 101, 101 ], 'a client opens 2 WebSockets';
my $third = ws(local_addr => '127.0.0.5');
is $third->status, 503, 'a third from the same address: 503';
ok defined $third->header('retry-after'), 'with Retry-After';
quiet();
my $other = ws(local_addr => '127.0.0.6');
is $other->status, 101, 'another address still gets in';
my @proxied = map { quiet(); ws(local_addr => '127.0.0.1',
                       headers => { 'X-Forwarded-For' => '198.51.100.1' }) } 1 .. 3;
is_deeply [ map { $_->status } @proxied ], [ 101, 101, 503 ],
    'behind the trusted proxy, the forwarded client is counted: its third is refused';
# Five WebSockets are open: a sixth would leave exactly the reserve free,
# and a child still finishing the status page's request would tip it into
# a 503 (seen in CI).  One client leaves first, so only the per-client
# count can refuse what follows.
bye($other);
ok wait_until(sub { status_json() =~ /"connections_open":4\b/ }, 10), 'one client left';
quiet();
my $proxied_other = ws(local_addr => '127.0.0.1',
                       headers => { 'X-Forwarded-For' => '198.51.100.2' });
is $proxied_other->status, 101, 'while another client behind the same proxy gets in';
bye($_) for grep { $_->status == 101 } @same, @proxied, $proxied_other;
ok wait_until(sub { get('/osrf-ws-status') == 200
                    && status_json() =~ /"connections_open":0/ }, 10),
    'all closed';

# --- the reserve ---------------------------------------------------------------------
quiet();
my @held = map { ws(local_addr => "127.0.0.1$_") } 1 .. $LIMIT - 2;
is scalar(grep { $_->status == 101 } @held), $LIMIT - 2,
    'WebSockets up to the limit less the reserve: ' . ($LIMIT - 2);
my $t0 = time;
my $late = ws(local_addr => '127.0.0.30');
my $took = time - $t0;
is $late->status, 503, 'one more: 503';
ok $took < 1, sprintf 'answered at once (%.2f s)', $took;
is $late->header('retry-after'), '5', 'Retry-After: 5';
my @more = map { ws(local_addr => '127.0.0.30')->status } 1 .. 10;
is_deeply \@more, [ (503) x 10 ], '10 more in a row: each 503';
is get('/osrf-ws-status'), 200, 'the status handler answers';
is get('/echo.html'), 200, 'a health check (a plain page) answers';
ok echoes($held[0]), 'the connections held keep working';

ok wait_until(sub { $httpd->error_log =~ /OSRFWS01016/ }, 5), 'the refusals are logged';
my %at;
for (split /\n/, $httpd->error_log) {
    my ($sec, $pid) = /^\[\w+ \w+ +\d+ \d\d:\d\d:(\d\d\.\d+) \d+\] .*\[pid (\d+).*OSRFWS01016/ or next;
    push @{ $at{$pid} }, $sec;
}
my $lines = 0;
my @close;
for my $pid (keys %at) {
    my @t = @{ $at{$pid} };
    $lines += @t;
    push @close, grep { my $d = $t[$_] - $t[$_ - 1]; $d >= 0 && $d < 1 } 1 .. $#t;
}
ok $lines < 11, "11 refusals, $lines log lines";
is scalar(@close), 0, 'no child logged twice within a second';

bye(shift @held);
my $back;
ok wait_until(sub {
    my $c = ws(local_addr => '127.0.0.31');
    return ($back = $c) if $c->status == 101;
    return;
}, 10), 'once one client leaves, a new one gets in';
ok $back && echoes($back), 'and is served';
bye($_) for @held, $back;
is_deeply [ grep { !/AH00161/ } $httpd->log_problems ], [],
    'no errors in Apache\'s error log (but prefork saying it has no more children to start)';
done_testing;
