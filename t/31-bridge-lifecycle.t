# SPDX-License-Identifier: GPL-2.0-or-later
# The bridge through a connection's life: idle timeout, graceful restart
# with a request in flight, Redis restarted mid-session, a client that
# vanishes while replies still stream.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use OSRFWS::Gateway;
use OSRFWS::OsrfClient;
use OSRFWS::Util qw(wait_until pid_alive http_get);

# A short idle timeout for the first blocks; the bus outages below get a
# gateway of their own with the default one, since a Redis restart on a
# loaded machine can take longer than 3 s and the idle connection would
# (rightly) be closed meanwhile.
my $gw = OSRFWS::Gateway->new(env => { OSRF_WEBSOCKET_IDLE_TIMEOUT => 3,
                                       OSRF_WEBSOCKET_IDLE_CHECK_INTERVAL => 1 });
my $port = $gw->httpd->port;
my @problems;

# Whether the test service has logged "request M on thread T $what"
# (started: a worker serves it; answered: its last reply is on the bus).
sub served {
    my ($t, $what) = @_;
    return $gw->osrf->log('svc-opensrf.test') =~ /on thread \Q$t\E $what$/m;
}

{
    my $c = OSRFWS::OsrfClient->new(port => $port);
    is_deeply $c->call('opensrf.math', 'add', [1, 2])->{results}, [3], 'a call';
    my $t0 = time;
    my $code = $c->ws->read_close(10);
    ok defined $code, 'an idle connection is closed by the gateway';
    cmp_ok time - $t0, '>=', 2.5, 'not before the idle timeout';
    cmp_ok time - $t0, '<', 7, 'soon after it';
}
{
    # a slow request keeps the connection open past the idle timeout
    my $c = OSRFWS::OsrfClient->new(port => $port);
    my $r = $c->call('opensrf.test', 'sleep', [5], timeout => 10);
    is_deeply $r->{results}, ['slept'], 'a request in flight outlives the idle timeout';
}
{
    # graceful restart: the reply of a request in flight still arrives,
    # then the connection is closed with 1001
    my $c = OSRFWS::OsrfClient->new(port => $port);
    my $t = OSRFWS::OsrfClient::new_thread();
    $c->send_request('opensrf.test', $t, 'sleep', [2]);
    ok wait_until(sub { served($t, 'started') }, 10), 'a request in flight';
    $gw->httpd->graceful;
    my $r = $c->collect($t, 10);
    is_deeply $r->{results}, ['slept'], 'graceful restart: the reply in flight arrives';
    is $c->ws->read_close(10), 1001, 'then close 1001';
    $c->ws->send_close(1001);
    my $ok = wait_until(sub {
        my $n = eval { OSRFWS::OsrfClient->new(port => $port) } or return;
        my $x = $n->call('opensrf.math', 'add', [2, 2], timeout => 3);
        return ($x->{results}[0] // 0) == 4;
    }, 15);
    ok $ok, 'new connections are served after the restart';
}
push @problems, $gw->httpd->log_problems;
undef $gw;
$gw = OSRFWS::Gateway->new(env => { OSRF_WEBSOCKET_IDLE_CHECK_INTERVAL => 1 },
                           apache => { conf => <<'CONF' });
<Location /osrf-ws-status>
    Require all granted
    SetHandler osrf-websocket-status
</Location>
CONF
$port = $gw->httpd->port;

# Whether the gateway has no WebSocket open (every on_disconnect returned).
sub none_open {
    my $json = (http_get($port, '/osrf-ws-status'))[2] // '';
    return $json =~ /"connections_open":0[,}]/;
}
{
    # Redis restarted mid-session: the lost request gets an error or its
    # answer in bounded time; the connection recovers
    my $c = OSRFWS::OsrfClient->new(port => $port);
    is_deeply $c->call('opensrf.math', 'add', [1, 1])->{results}, [2], 'before the restart';
    $gw->redis->restart;
    # the test OpenSRF re-registers only when restarted: restart it too
    $gw->osrf->stop;
    $gw->{osrf} = OSRFWS::OpenSRF->new(redis => $gw->redis);
    my $r;
    my $ok = wait_until(sub {
        $r = $c->call('opensrf.math', 'add', [2, 3], timeout => 3);
        return $r->{closed} || ($r->{results}[0] // 0) == 5;
    }, 30);
    ok $ok && !$r->{closed}, 'after Redis restarts, the same connection works again';
}
{
    # the bus lost with a request in flight: its reply is gone with the
    # lists, so the thread gets a STATUS error in bounded time, not silence
    my $c = OSRFWS::OsrfClient->new(port => $port);
    my $t = OSRFWS::OsrfClient::new_thread();
    $c->send_request('opensrf.test', $t, 'sleep', [3]);
    ok wait_until(sub { served($t, 'started') }, 10), 'a request in flight';
    $gw->redis->restart;
    my $t0 = time;
    my $r = $c->collect($t, 15);
    is $r->{status}, 503, 'Redis restarted with a request in flight: STATUS 503 on its thread';
    cmp_ok time - $t0, '<', 10, 'in bounded time';
    $gw->osrf->stop;
    $gw->{osrf} = OSRFWS::OpenSRF->new(redis => $gw->redis);
    ok wait_until(sub { ($c->call('opensrf.math', 'add', [1, 1], timeout => 3)->{results}[0] // 0) == 2 }, 20),
        'and the connection works again';

    $t = OSRFWS::OsrfClient::new_thread();
    $c->send_request('opensrf.test', $t, 'sleep', [1]);
    $gw->redis->freeze;
    $t0 = time;
    $r = $c->collect($t, 20);
    $gw->redis->thaw;
    ok defined $r->{status} && $r->{status} ne 'timeout',
        "Redis frozen with a request in flight: the thread hears back (status $r->{status})";
    cmp_ok time - $t0, '<', 15, 'within the bus timeout';
    ok wait_until(sub { ($c->call('opensrf.math', 'add', [2, 2], timeout => 3)->{results}[0] // 0) == 4 }, 30),
        'after Redis resumes, calls work again on the same connection';

    # the request answered with 503 is still answered by the service once
    # Redis resumes, after its connection ended; that late reply must not
    # leave the closed connection's address behind in Redis
    $t = OSRFWS::OsrfClient::new_thread();
    $c->send_request('opensrf.test', $t, 'sleep', [2]);
    ok wait_until(sub { served($t, 'started') }, 10), 'a second request in flight';
    $gw->redis->freeze;
    $r = $c->collect($t, 20);
    is $r->{status}, 503, 'a second request stuck behind a frozen Redis gets its 503';
    close $c->ws->{sock};
    my $ended = wait_until(\&none_open, 30);
    $gw->redis->thaw;
    ok $ended, 'the connection ends while Redis is still frozen';
    # the late reply is on the bus before the check, which so cannot pass
    # at an empty moment before it came
    ok wait_until(sub { served($t, 'answered') }, 20), 'the service answers it late';
    ok wait_until(sub { !grep { /^opensrf:client:gateway:/ } $gw->redis->keys_matching }, 10),
        'its late reply does not leave the closed connection\'s address in Redis'
        or diag join ' ', $gw->redis->keys_matching;
}
{
    # a client that vanishes with replies streaming: no key left, child reused
    my $c = OSRFWS::OsrfClient->new(port => $port);
    my $t = OSRFWS::OsrfClient::new_thread();
    $c->send_request('opensrf.test', $t, 'stream', [2000]);
    ok wait_until(sub { served($t, 'started') }, 10), 'a stream in flight';
    close $c->ws->{sock};
    ok wait_until(sub { served($t, 'answered') }, 20), 'its last reply is on the bus';
    ok wait_until(sub { !grep { /^opensrf:client:gateway:/ } $gw->redis->keys_matching }, 20),
        'no gateway key left after a client vanished mid-stream'
        or diag join "\n", map { "$_: " . join(' | ', map { substr($_, 0, 150) } $gw->redis->admin->lrange($_, 0, 3)) } $gw->redis->keys_matching;
    my $n = OSRFWS::OsrfClient->new(port => $port);
    is_deeply $n->call('opensrf.math', 'add', [5, 5])->{results}, [10], 'the next connection works';
}
push @problems, $gw->httpd->log_problems;
is_deeply [ grep { !/OSRFWS0200[1236]/ } @problems ], [],
    'no errors in the log but the bus outage itself';
done_testing;
