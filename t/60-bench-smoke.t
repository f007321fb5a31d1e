# SPDX-License-Identifier: GPL-2.0-or-later
# The benchmark tools, briefly: the load generator counts and checks every
# reply through the gateway (ws, wss, permessage-deflate) and on the bus
# floor, through the C bench router and service; the delay proxy adds its
# round trip.  bench/run itself takes minutes and is not run here.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::XS;
use POSIX ();
use OSRFWS::BenchStack;
use OSRFWS::Util qw(free_port wait_until stop_by_pidfile tempdir stop_at_exit);

my $stack = OSRFWS::BenchStack->new;
# A low in-flight cap: a request the bridge forgot to count off (its reply
# overtaking the push's bookkeeping) soon shows as a 503.
my $httpd = $stack->apache(max_clients => 16, start_servers => 8, tls => 1,
                           conf => 'OSRFWebSocketMaxInFlight 8');
my $lg = $stack->bin('loadgen');
my ($ws, $wss, $bus) = ($httpd->port, $httpd->tls_port, $stack->redis->port);

sub lg {
    my ($args) = @_;
    my $out = `$lg $args 2>&1`;
    my ($line) = grep { /^\{/ } split /\n/, $out;
    my $r = $line ? eval { decode_json($line) } : undef;
    diag "loadgen $args:\n$out" unless $r && $? == 0;
    return $r // { completed => -1, errors => -1 };
}

# Each connection's first call is a warm-up, not counted.
my $r = lg("run --port $ws --conns 3 --depth 4 --requests 50");
is $r->{completed}, 150, 'gateway: every reply of 3 x 50 requests (4 in flight) counted';
is $r->{errors}, 0, 'gateway: every answer right (add results checked)';
$r = lg("run --bus --port $bus --conns 3 --depth 4 --requests 50");
is $r->{completed}, 150, 'floor: the same calls straight on the bus, all counted';
is $r->{errors}, 0, 'floor: every answer right';
$r = lg("run --port $ws --requests 1000 --quiet-errors");
is_deeply [ @$r{qw(completed errors)} ], [1000, 0],
    '1000 sequential calls to a fast service: every one counted off in flight';
$r = lg("run --tls --port $wss --requests 20");
is_deeply [ @$r{qw(completed errors)} ], [20, 0], 'wss: 20 calls';
$r = lg("run --port $ws --conns 2 --depth 2 --seconds 2 --cpu gateway=" . $httpd->pid);
cmp_ok $r->{rps}, '>', 0, 'a timed run reports its rate';
cmp_ok $r->{gateway_cpu_us_per_req}, '>', 0, 'and the gateway CPU per request';
cmp_ok $r->{client_cpu_ms_per_1000}, '>', 0, 'and its own CPU';
$r = lg("new --port $ws --count 20");
is_deeply [ @$r{qw(completed errors)} ], [20, 0], '20 new connections, one call each';

my $plain = lg("run --port $ws --records --requests 3");
my $z = lg("run --port $ws --records --deflate --requests 3");
is_deeply [ @$z{qw(completed errors)} ], [3, 0], 'the 500-record result, compressed, checked';
cmp_ok $z->{rx_bytes_per_req} * 3, '<', $plain->{rx_bytes_per_req},
    'permessage-deflate: under a third of the bytes on the wire';

# The delay proxy: 20 ms more per round trip.
my $dir = tempdir();
my $port = free_port();
my $pid = fork // die;
if (!$pid) {
    exec $stack->bin('delayproxy'), '--listen', $port, '--to', "127.0.0.1:$ws",
        '--rtt-ms', 20, '--pidfile', "$dir/proxy.pid" or POSIX::_exit(127);
}
stop_at_exit($pid);
wait_until(sub { -s "$dir/proxy.pid" }, 5);
my $slow = lg("run --port $port --requests 5");
cmp_ok $slow->{p50_us}, '>=', 20000, 'through the proxy a call takes at least 20 ms';
cmp_ok $slow->{p50_us}, '<', 200000, '... and not much more';
my $fresh = lg("new --port $port --count 3");
cmp_ok $fresh->{p50_us}, '>=', 60000, 'a new connection per call: TCP, upgrade and call, 3 round trips';
stop_by_pidfile("$dir/proxy.pid", 5);
waitpid($pid, 0);

is_deeply [ $httpd->log_problems ], [], 'no errors in the gateway log';
done_testing;
