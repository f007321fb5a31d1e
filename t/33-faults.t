# SPDX-License-Identifier: GPL-2.0-or-later
# Fault injection: Redis restarted and frozen under 50 connections with
# requests in flight, the router and a service killed, Apache restarted
# and stopped gracefully under load, clients that vanish while replies
# stream.  Each time: what the clients see, no child died, nothing left
# behind in Redis.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use POSIX ();
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes qw(time sleep);
use OSRFWS::Apache;
use OSRFWS::Gateway;
use OSRFWS::OsrfClient;
use OSRFWS::Util qw(wait_until pid_alive read_pidfile);

# OSRFWebSocketMaxRequestWaitTime: 30 s until the graceful restart, which
# brings in $WAIT for the router and service tests
my $WAIT = 4;
my $gw = OSRFWS::Gateway->new(
    osrf => { workers => 8 },
    env => { OSRF_WEBSOCKET_IDLE_TIMEOUT => 120, OSRF_WEBSOCKET_IDLE_CHECK_INTERVAL => 1 },
    apache => { max_clients => 64, start_servers => 56, max_spare => 64,
                conf => "OSRFWebSocketMaxRequestWaitTime 30\nTimeout 5\n" });
my $port = $gw->httpd->port;
my $parent = $gw->httpd->pid;

sub gateway_keys { grep { /^opensrf:client:gateway:/ } $gw->redis->keys_matching }

sub restart_osrf {
    $gw->osrf->stop;
    $gw->{osrf} = OSRFWS::OpenSRF->new(redis => $gw->redis, workers => 8);
}

# Crashes in the log, or the parent gone.
sub no_child_died {
    my ($httpd, $what) = @_;
    my @bad = grep { /Segmentation|exit signal|AH00052|AddressSanitizer|runtime error/ }
              split /\n/, $httpd->error_log;
    ok !@bad, "$what: no child died" or diag join "\n", @bad[0 .. ($#bad < 5 ? $#bad : 5)];
}

sub children_of {
    my ($ppid) = @_;
    my @kids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my ($pid, $pp) = (<$fh> // '') =~ /^(\d+) \(.*\) \S+ (\d+)/ or next;
        push @kids, $pid if $pp == $ppid;
    }
    return @kids;
}

# How many of the threads the test service has logged as $what (started:
# a worker serves the request; answered: its last reply is on the bus).
sub served {
    my ($what, @threads) = @_;
    my %seen = map { $_ => 1 } $gw->osrf->log('svc-opensrf.test') =~ /on thread (\S+) $what$/mg;
    return scalar grep { $seen{$_} } @threads;
}

# Waits until $n of the threads are served ($what), or 20 s.
sub wait_served {
    my ($what, $n, @threads) = @_;
    return wait_until(sub { served($what, @threads) >= $n }, 20);
}

# Sends one request on each connection; returns the threads.
sub send_all {
    my ($conns, $service, $method, $params) = @_;
    my @t = map { OSRFWS::OsrfClient::new_thread() } @$conns;
    $conns->[$_]->send_request($service, $t[$_], $method, $params->($_)) for 0 .. $#$conns;
    return @t;
}

# Collects each thread's answer before one deadline: (answers, seconds).
sub collect_all {
    my ($conns, $threads, $timeout) = @_;
    my $t0 = time;
    my @r = map { $conns->[$_]->collect($threads->[$_], $t0 + $timeout - time) } 0 .. $#$conns;
    return (\@r, time - $t0);
}

# 1 when every connection answers a fresh call (the bus back), within $timeout.
sub all_work {
    my ($conns, $timeout) = @_;
    my $deadline = time + $timeout;
    for my $i (0 .. $#$conns) {
        my $ok = wait_until(sub {
            my $r = $conns->[$i]->call('opensrf.math', 'add', [$i, 1], timeout => 3);
            return !$r->{closed} && ($r->{results}[0] // -1) == $i + 1;
        }, $deadline - time) or return 0;
    }
    return 1;
}

my @conns = map { OSRFWS::OsrfClient->new(port => $port) } 1 .. 50;
my $extra = OSRFWS::OsrfClient->new(port => $port);

{
    # Redis restarted: the lists are lost with it, so each request gets its
    # answer if it came before, else STATUS 503, and no close frame
    my @t = send_all(\@conns, 'opensrf.test', 'sleep', sub { [1] });
    # every worker busy: requests in flight, and more waiting in the queue
    ok wait_served('started', 8, @t), 'requests in flight';
    $gw->redis->restart;
    my ($r, $took) = collect_all(\@conns, \@t, 20);
    my @bad = grep { !(($r->[$_]{status} eq 503)
                       || ($r->[$_]{status} eq 205 && ($r->[$_]{results}[0] // '') eq 'slept')) } 0 .. 49;
    is_deeply \@bad, [], 'Redis restarted under 50 requests: each gets its result or STATUS 503'
        or diag join ', ', map { "conn $_: $r->[$_]{status}" } @bad;
    cmp_ok $took, '<', 15, sprintf 'all 50 within %.1f s', $took;
    ok !grep({ $_->{closed} } @$r), 'no connection closed';
    restart_osrf();
    ok all_work(\@conns, 30), 'after Redis is back, all 50 connections work again';
}
{
    # Redis frozen for 10 s: the listener's read times out, so each request
    # hears STATUS 503 (or its result) while Redis is still frozen; a new
    # request is refused with 503 rather than held
    my @t = send_all(\@conns, 'opensrf.math', 'add', sub { [$_[0], 2] });
    my ($r0) = collect_all([$conns[0]], [$t[0]], 5);
    my $frozen = time;
    my @t2 = send_all(\@conns, 'opensrf.test', 'sleep', sub { [1] });
    ok wait_served('started', 8, @t2), 'requests in flight';
    $gw->redis->freeze;
    my $new = $extra->call('opensrf.math', 'add', [1, 1], timeout => 9);
    my ($r, $took) = collect_all(\@conns, \@t2, 9.5);
    # the fault lasts 10 s (its length, not a wait for an event)
    my $thaw_in = 10 - (time - $frozen);
    sleep $thaw_in if $thaw_in > 0;
    $gw->redis->thaw;
    is $new->{status}, 503, 'a request sent while Redis is frozen: STATUS 503';
    my @bad = grep { !(($r->[$_]{status} eq 503)
                       || ($r->[$_]{status} eq 205 && ($r->[$_]{results}[0] // '') eq 'slept')) } 0 .. 49;
    is_deeply \@bad, [], 'Redis frozen under 50 requests: each hears back before the thaw'
        or diag join(', ', map { "conn $_: $r->[$_]{status}" } @bad[0 .. 4]), "\n",
                join("\n", (grep { /OSRFWS020/ } split /\n/, $gw->httpd->error_log)[-10 .. -1]);
    ok !grep({ $_->{closed} } @$r), 'no connection closed';
    ok all_work(\@conns, 30), 'after the thaw, all 50 connections work again';
    # the requests answered 503 are still served after the thaw: their
    # late replies are on the bus before the connections end, so the
    # check below cannot pass at an empty moment before they came
    ok wait_served('answered', 50, @t2), 'the service answers all 50 late';
}
{
    $_->ws->send_close(1000) for @conns;
    $_->ws->read_close(5) for @conns;
    @conns = ();
    ok wait_until(sub { !gateway_keys() }, 20), 'the 50 connections closed: no gateway key left'
        or diag join ' ', gateway_keys();
}

# Graceful restart under load: every reply in flight arrives, then 1001;
# the old children exit once done; new connections are served
{
    my @c = map { OSRFWS::OsrfClient->new(port => $port) } 1 .. 20;
    my @busy = $gw->httpd->children;
    my @t = send_all(\@c, 'opensrf.test', 'sleep', sub { [2] });
    my @s = send_all(\@c, 'opensrf.test', 'stream', sub { [300] });
    ok wait_served('started', 8, @t, @s), 'requests in flight';
    $gw->httpd->set_conf("OSRFWebSocketMaxRequestWaitTime $WAIT\nTimeout 5\n");
    $gw->httpd->graceful;
    my $t0 = time;
    my @r = map { $c[$_]->collect_many([ $t[$_], $s[$_] ], $t0 + 20 - time) } 0 .. $#c;
    my @lost = grep { ($r[$_]{ $t[$_] }{results}[0] // '') ne 'slept'
                      || scalar(@{ $r[$_]{ $s[$_] }{results} }) != 300 } 0 .. $#c;
    is_deeply \@lost, [], 'graceful restart: no reply lost on 20 busy connections'
        or diag join ', ', map { "conn $_: $r[$_]{ $t[$_] }{status}/$r[$_]{ $s[$_] }{status} "
                                 . scalar(@{ $r[$_]{ $s[$_] }{results} }) } @lost[0 .. 2];
    my @codes = map { $_->ws->read_close(10) // 'none' } @c;
    is_deeply [ grep { $_ ne 1001 } @codes ], [], 'then each is closed with 1001';
    $_->ws->send_close(1001) for @c;
    ok wait_until(sub { !grep { pid_alive($_) } @busy }, 20), 'the old children exit';
    my $n = OSRFWS::OsrfClient->new(port => $port);
    is_deeply $n->call('opensrf.math', 'add', [3, 4])->{results}, [7],
        'a new connection is served by a new child';
    no_child_died($gw->httpd, 'graceful restart');
    ok pid_alive($parent), 'the parent is the same';
}

# The router killed: a request waits for the max request wait, then its
# thread gets STATUS 408; the connection stays open and works once
# OpenSRF is back
{
    my $c = OSRFWS::OsrfClient->new(port => $port);
    my ($router) = grep { $_->{name} eq 'router-public' } @{ $gw->osrf->{daemons} };
    kill 'KILL', read_pidfile($router->{pidfile});
    waitpid($router->{pid}, 0);
    my $t0 = time;
    my $t = OSRFWS::OsrfClient::new_thread();
    $c->send_request('opensrf.math', $t, 'add', [1, 2]);
    my $r = $c->collect($t, $WAIT + 6);
    my $took = time - $t0;
    is $r->{status}, 408, 'router killed: STATUS 408 on the thread';
    like $gw->httpd->error_log, qr/OSRFWS02017: thread \Q$t\E: STATUS 408/, 'and a log line says why';
    cmp_ok $took, '>=', $WAIT - 0.5, 'not before the max request wait';
    cmp_ok $took, '<', $WAIT + 4, sprintf 'soon after it (%.1f s)', $took;
    restart_osrf();
    my $late = $c->collect($t, 10);
    ok $late->{status} eq 205 || $late->{status} eq 404,
        "the new router takes the request that waited: a late answer ($late->{status}) still arrives";
    ok wait_until(sub { ($c->call('opensrf.math', 'add', [2, 2], timeout => 3)->{results}[0] // 0) == 4 }, 15),
        'the same connection works once OpenSRF is back';
}

# A service killed with a request in flight and a stateful session open:
# both threads get STATUS 408 after the wait, and the session's worker is
# forgotten, so the thread goes through the router again afterwards
{
    my $c = OSRFWS::OsrfClient->new(port => $port);
    my $s = OSRFWS::OsrfClient::new_thread();
    $c->send_msg('opensrf.test', $s, OSRFWS::OsrfClient::message('CONNECT', 0));
    is $c->collect($s)->{status}, 200, 'a stateful session is open';
    my $t = OSRFWS::OsrfClient::new_thread();
    $c->send_request('opensrf.test', $t, 'sleep', [2]);
    ok wait_served('started', 1, $t), 'a request in flight';
    my ($svc) = grep { $_->{name} eq 'svc-opensrf.test' } @{ $gw->osrf->{daemons} };
    my $svc_pid = read_pidfile($svc->{pidfile});
    my @workers = children_of($svc_pid);
    kill 'KILL', $svc_pid, @workers;
    waitpid($svc->{pid}, 0);
    $c->send_request('opensrf.test', $s, 'session.get', ['k']);
    my $t0 = time;
    my $r = $c->collect($t, $WAIT + 6);
    is $r->{status}, 408, "service killed (@{[ scalar @workers ]} workers): the request in flight gets STATUS 408";
    cmp_ok time - $t0, '<', $WAIT + 4, 'within the max request wait';
    is $c->collect($s, 6)->{status}, 408, 'and so does the request on the stateful session';
    restart_osrf();
    my $w = $c->call('opensrf.test', 'whoami', [], thread => $s, timeout => 5);
    is $w->{status}, 205, 'once OpenSRF is back, that thread is served again (through the router)';
    $c->ws->send_close(1000);
    $c->ws->read_close(5);
}
no_child_died($gw->httpd, 'Redis, router and service faults');
ok pid_alive($parent), 'the Apache parent is still there';
ok wait_until(sub { !gateway_keys() }, 20), 'no gateway key left after the faults'
    or diag join ' ', gateway_keys();

# Clients that vanish with replies streaming, on an instance with one
# child: TCP reset (SO_LINGER 0), and half-open (the client stops reading
# and never answers again).  The child is reclaimed, its addresses
# deleted, and the next connection, on the same child, works.
{
    my $one = OSRFWS::Apache->new(bridge => 1, max_clients => 1, start_servers => 1,
        min_spare => 1, max_spare => 1, ping_interval => 2,
        conf => "Timeout 3\n",
        env => { OSRF_WEBSOCKET_CONFIG_FILE => $gw->{core_xml},
                 OSRF_WEBSOCKET_IDLE_CHECK_INTERVAL => 1 });
    my $child;
    wait_until(sub { ($child) = $one->children });
    my $p1 = $one->port;
    my $mine = sub { grep { /:$child:/ } gateway_keys() };
    for my $how ('reset', 'half-open') {
        my $c = OSRFWS::OsrfClient->new(port => $p1);
        my $st = OSRFWS::OsrfClient::new_thread();
        $c->send_request('opensrf.test', $st, 'stream', [3000]);
        ok wait_served('started', 1, $st), "$how: a stream in flight";
        my $t0 = time;
        if ($how eq 'reset') {
            setsockopt($c->ws->{sock}, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
            close $c->ws->{sock};
        }
        # half-open: the socket stays open here, unread, silent
        my $n;
        my $served = wait_until(sub {
            $n = eval { OSRFWS::OsrfClient->new(port => $p1) } or return;
            my $r = $n->call('opensrf.math', 'add', [5, 5], timeout => 2);
            return ($r->{results}[0] // 0) == 10;
        }, 30);
        ok $served, sprintf "$how with a stream: the child is reclaimed and the next connection works (%.1f s)",
            time - $t0;
        is_deeply [ $one->children ], [ $child ], "$how: on the same child, still alive";
        undef $c;
        $n->ws->send_close(1000) if $n;
        $n->ws->read_close(5) if $n;
        ok wait_until(sub { !$mine->() }, 20), "$how: the child's addresses are deleted"
            or diag join ' ', $mine->();
    }
    no_child_died($one, 'vanishing clients');
}

# Graceful stop under load (SIGWINCH): replies in flight arrive, the
# connections are closed with 1001, the children and then the parent exit
{
    my @c = map { OSRFWS::OsrfClient->new(port => $port) } 1 .. 8;
    my @t = send_all(\@c, 'opensrf.test', 'sleep', sub { [1] });
    ok wait_served('started', 8, @t), 'requests in flight';
    my @kids = $gw->httpd->children;
    $gw->httpd->graceful_stop;
    my ($r) = collect_all(\@c, \@t, 20);
    is scalar(grep { ($_->{results}[0] // '') eq 'slept' } @$r), 8,
        'graceful stop: all 8 replies in flight arrive';
    my @codes = map { $_->ws->read_close(10) // 'none' } @c;
    is_deeply [ grep { $_ ne 1001 } @codes ], [], 'then each connection is closed with 1001';
    $_->ws->send_close(1001) for @c;
    ok wait_until(sub { !pid_alive($parent) && !grep { pid_alive($_) } @kids }, 20),
        'the children and the parent exit';
    ok !IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 2),
        'the port is closed';
    no_child_died($gw->httpd, 'graceful stop');
    ok wait_until(sub { !gateway_keys() }, 10), 'no gateway key left after the stop'
        or diag join ' ', gateway_keys();
    $gw->httpd->{started} = 0;
}

# Nothing of the test left running: Redis, the test OpenSRF, Apache and
# its children, stopped by their pids.
my @pids = $gw->pids;
undef $gw;
ok wait_until(sub { !grep { pid_alive($_) } @pids }, 20), 'no stray process left';
done_testing;
