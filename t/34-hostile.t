# SPDX-License-Identifier: GPL-2.0-or-later
# Hostile clients: slow handshakes and half-sent frames, a flood beyond
# MaxRequestWorkers, JSON bombs, names crafted to reach other Redis keys
# or forge log lines, another connection's thread, a client that sends
# faster than it reads.  Each gets a clear answer with bounded memory,
# while a healthy client keeps calling; and Redis MONITOR shows the
# gateway pushing only to the router and to workers the bus named.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Select;
use IO::Socket::INET;
use JSON::XS;
use POSIX ();
use Time::HiRes qw(time sleep);
use OSRFWS::Gateway;
use OSRFWS::HealthyClient;
use OSRFWS::OsrfClient;
use OSRFWS::WSClient;
use OSRFWS::Util qw(wait_until pid_alive tempdir rss_kb stop_at_exit);

my $IN_FLIGHT = 16;
# growth allowed while replies pile up unread; ASan's quarantine keeps
# freed memory (up to 256 MB) and inflates RSS on the sanitizer build
my $GROWTH_KB = ($ENV{OSRFWS_SANITIZERS} // '') eq 'yes' ? 150_000 : 30_000;
my $gw = OSRFWS::Gateway->new(
    osrf => { workers => 4 },
    env => { OSRF_WEBSOCKET_IDLE_TIMEOUT => 120, OSRF_WEBSOCKET_IDLE_CHECK_INTERVAL => 1 },
    apache => { max_clients => 6, start_servers => 6, min_spare => 1, max_spare => 6,
                max_message => '9M',
                # the reserve is t/36's: here trickled handshakes and
                # lingering closes keep children busy on a 6-child instance,
                # and the reserve would turn the next upgrade away
                conf => "RequestReadTimeout header=2-3,MinRate=500\n"
                      . "WebSocketReserve 0\n"
                      . "WebSocketFrameTimeout 2\n"
                      . "OSRFWebSocketMaxInFlight $IN_FLIGHT\n" });
my $port = $gw->httpd->port;
my $parent = $gw->httpd->pid;
my $dir = tempdir();
my $json = JSON::XS->new->utf8->canonical;

# Every command Redis runs, for the check at the end.
my $monitor = fork // die "fork: $!";
if (!$monitor) {
    open STDOUT, '>', "$dir/monitor.log" or POSIX::_exit(1);
    exec 'redis-cli', '-p', $gw->redis->port, '--user', $OSRFWS::Redis::ADMIN,
         '--pass', 'admin-pw', '--no-auth-warning', 'monitor' or POSIX::_exit(127);
}
stop_at_exit($monitor);

# The client ports of the gateway's Redis connections (each child keeps
# two logged in), gathered after each part to attribute MONITOR's lines.
my %gateway_port;
sub note_gateway_ports {
    for my $line (split /\n/, $gw->redis->admin->client('list')) {
        $gateway_port{$1} = 1 if $line =~ /addr=127\.0\.0\.1:(\d+) .*\buser=gateway\b/;
    }
}

# Runs $body with a healthy client calling all along; checks its tally.
sub with_healthy {
    my ($what, $body) = @_;
    my $h = OSRFWS::HealthyClient->start(port => $port, dir => $dir);
    $body->();
    note_gateway_ports();
    my $t = $h->stop;
    ok $t->{calls} > 0 && !$t->{failed}, sprintf "$what: a healthy connection kept working"
        . " (%d calls, %s failed, slowest %.2f s)", $t->{calls} // 0, $t->{failed} // '?',
        $t->{slowest} // 0;
}

# The child serving $c: the one that logged its call with a unique marker.
sub child_of {
    my ($c) = @_;
    my $mark = int(rand 1e9) + 1e9;
    $c->call('opensrf.math', 'add', [$mark, 0]);
    my ($pid) = $gw->httpd->error_log =~ /\[pid (\d+):tid \d+\][^\n]*opensrf\.math add \[$mark,0\]/;
    return $pid;
}

sub frame_text {
    my ($service, $thread, $method, $params) = @_;
    return $json->encode({ service => $service, thread => $thread, osrf_msg => [
        OSRFWS::OsrfClient::message('REQUEST', 1,
            { __c => 'osrfMethod', __p => { method => $method, params => $params } }) ] });
}

with_healthy('slow handshakes and half-sent frames', sub {
    # mod_reqtimeout: headers trickled or never sent are cut off
    my $t0 = time;
    my $slow = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port) or die $!;
    # more silent connections than children: the kernel holds them
    # (Apache's accept filter, TCP_DEFER_ACCEPT), so they take no child
    my @silent = map { IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port) } 1 .. 10;
    my $eof;
    for my $byte (split //, "GET /osrf-websocket-translator HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " . 'x' x 40) {
        last unless syswrite($slow, $byte);
        if (IO::Select->new($slow)->can_read(0.4)) { $eof = 1; last }
    }
    my $took = time - $t0;
    ok $eof, sprintf 'a handshake trickled a byte at a time is cut off (%.1f s)', $took;
    cmp_ok $took, '<', 6, 'by RequestReadTimeout header=2-3';
    my $n = eval { OSRFWS::OsrfClient->new(port => $port) };
    is_deeply $n && $n->call('opensrf.math', 'add', [3, 3], timeout => 5)->{results}, [6],
        '10 connections that send nothing hold no child: a new one is served';
    close $_ for grep { $_ } @silent;

    # WebSocketFrameTimeout: a frame started but never finished, kept
    # alive by a trickle of its own bytes
    my $c = OSRFWS::OsrfClient->new(port => $port);
    my $f = OSRFWS::WSClient::frame(opcode => 1, payload => frame_text('opensrf.math', 't', 'add', [1, 2]));
    $t0 = time;
    $c->ws->send_raw(substr($f, 0, 10));
    my $code;
    for my $i (10 .. length($f) - 2) {
        $c->ws->send_raw(substr($f, $i, 1));
        last if defined($code = $c->ws->read_close(0.3));
    }
    is $code, 1008, 'a frame trickled slower than WebSocketFrameTimeout 2: close 1008';
    cmp_ok time - $t0, '<', 4, 'in about 2 s';

    # a fragmented message whose last fragment never comes, kept alive by pings
    $c = OSRFWS::OsrfClient->new(port => $port);
    $c->ws->send_frame(opcode => 1, fin => 0, payload => '{"thread":');
    $code = undef;
    for (1 .. 20) {
        $c->ws->send_ping('still here');
        last if defined($code = $c->ws->read_close(0.3));
    }
    is $code, 1008, 'a message whose last fragment never comes: close 1008';
    like $gw->httpd->error_log, qr/OSRFWS01015: a frame not completed within 2 s/, 'logged as OSRFWS01015';

    # an idle WebSocket outlives the header timeout (body=0: only the
    # handshake is timed by mod_reqtimeout)
    $c = OSRFWS::OsrfClient->new(port => $port);
    sleep 3.5;      # the test itself: silent past header=2-3's longest (3 s)
    is_deeply $c->call('opensrf.math', 'add', [2, 2])->{results}, [4],
        'an idle WebSocket is not cut by RequestReadTimeout';
});

with_healthy('a flood beyond MaxRequestWorkers', sub {
    # 5 children left for 40 connections: the rest wait in the backlog
    # and are served as children come free
    my @flood = map { IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port) } 1 .. 40;
    my $hs = "GET /osrf-websocket-translator HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
           . "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           . "Sec-WebSocket-Version: 13\r\n\r\n";
    syswrite($_, $hs) for grep { $_ } @flood;
    ok wait_until(sub { $gw->httpd->error_log =~ /AH00161: server reached MaxRequestWorkers/ }, 15),
        'Apache logs that it reached MaxRequestWorkers';
    close $_ for grep { $_ } @flood;
    ok wait_until(sub {
        my $n = eval { OSRFWS::OsrfClient->new(port => $port) } or return;
        ($n->call('opensrf.math', 'add', [1, 1], timeout => 2)->{results}[0] // 0) == 2;
    }, 15), 'once the flood is gone, new connections are served';
});

with_healthy('JSON bombs', sub {
    my $c = OSRFWS::OsrfClient->new(port => $port);
    my $child = child_of($c);
    my $before = rss_kb($child);
    $c->ws->send_text('{"thread":"t","service":"opensrf.math","osrf_msg":' . ('[' x 100000) . (']' x 100000) . '}');
    is $c->ws->read_close, 1007, 'nesting 100000 deep: close 1007';

    $c = OSRFWS::OsrfClient->new(port => $port);
    $child = child_of($c);
    $before = rss_kb($child);
    my $peak = 0;
    my $bomb = frame_text('opensrf.math', 't', 'add', [ (0) x 4_000_000 ]);
    my $writer = fork // die;
    if (!$writer) { $c->ws->send_text($bomb); POSIX::_exit(0) }
    my $code;
    for (1 .. 100) {
        my $r = rss_kb($child);
        $peak = $r if $r > $peak;
        last if defined($code = $c->ws->read_close(0.05));
    }
    waitpid($writer, 0);
    is $code, 1009, 'an array of 4 million values (8 MB): close 1009, not parsed';
    cmp_ok $peak - $before, '<', 40_000, "the child grew by @{[ $peak - $before ]} kB (the message itself, no tree)";

    $c = OSRFWS::OsrfClient->new(port => $port);
    my $t = OSRFWS::OsrfClient::new_thread();
    $c->ws->send_text(frame_text('opensrf.math', $t, 'nosuch', ['x' x 4_000_000]));
    is $c->collect($t, 20)->{status}, 404, 'a 4 MB string passes through to the service (404 for its method)';
    $child = child_of($c);
    cmp_ok rss_kb($child), '<', 80_000, 'and the child is back under 80 MB';

    # many threads at once: OSRFWebSocketMaxInFlight bounds them
    my @t = map { OSRFWS::OsrfClient::new_thread() } 1 .. $IN_FLIGHT + 8;
    $c->ws->send_raw(join '', map { OSRFWS::WSClient::frame(opcode => 1,
        payload => frame_text('opensrf.test', $_, 'sleep', [1])) } @t);
    my $got = $c->collect_many(\@t, 20);
    my %st = map { $_ => $got->{$_}{status} } @t;
    is scalar(grep { $_ eq 205 } values %st), $IN_FLIGHT, "$IN_FLIGHT threads in flight are served";
    is scalar(grep { $_ eq 503 } values %st), 8, 'the 8 beyond get STATUS 503 at once';
});

with_healthy('crafted names, another connection\'s thread', sub {
    my $c = OSRFWS::OsrfClient->new(port => $port);
    for my $svc ("opensrf.math\nFORGED", 'opensrf:service:opensrf:localhost:opensrf.math',
                 'opensrf.*', "opensrf.math\x01", 'opensrf.private:x', '../router', 'x' x 129) {
        my $t = OSRFWS::OsrfClient::new_thread();
        $c->send_request($svc, $t, 'add', [1, 1]);
        (my $shown = $svc) =~ s/([^ -~])/sprintf '\\x%02x', ord $1/ge;
        is $c->collect($t, 5)->{status}, 400, "service '" . substr($shown, 0, 50) . "': STATUS 400";
    }
    for my $thread ('0.1:opensrf:router:router:localhost', '*', 'opensrf:client:*:x') {
        is_deeply $c->call('opensrf.math', 'add', [1, 2], thread => $thread)->{results}, [3],
            "thread '$thread' is only a thread: answered on it";
    }
    my $t = OSRFWS::OsrfClient::new_thread();
    $c->ws->send_text($json->encode({ service => 'opensrf.math', thread => $t, log_xid => "x\ny",
                                      osrf_msg => [] }));
    is $c->collect($t, 5)->{status}, 400, 'log_xid with a newline: STATUS 400';
    $c->send_request('opensrf.math', OSRFWS::OsrfClient::new_thread(), "add\nFORGED-LINE OSRFWS02010: x", ["a\r\nFORGED-PARAM"]);
    $c->ws->send_text($json->encode({ service => 'opensrf.math', thread => "a\nFORGED-THREAD", osrf_msg => [] }));
    is $c->ws->read_close(5), 1008, 'a thread with a newline: close 1008';
    my @forged = grep { /^FORGED|^\s*FORGED/ } split /\n/, $gw->httpd->error_log;
    is_deeply \@forged, [], 'no forged line in the error log (control characters escaped)';

    # B names A's stateful thread: its requests go through the router, A's
    # session and replies stay A's
    my $a = OSRFWS::OsrfClient->new(port => $port);
    my $b = OSRFWS::OsrfClient->new(port => $port);
    my $s = OSRFWS::OsrfClient::new_thread();
    $a->send_msg('opensrf.test', $s, OSRFWS::OsrfClient::message('CONNECT', 0));
    is $a->collect($s)->{status}, 200, 'A opens a stateful session';
    $a->call('opensrf.test', 'session.set', ['k', 'A-secret'], thread => $s);
    my %seen;
    for (1 .. 8) {
        my $r = $b->call('opensrf.test', 'session.get', ['k'], thread => $s);
        $seen{ $r->{results}[0] // 'undef' }++;
        $b->send_msg('opensrf.test', $s, OSRFWS::OsrfClient::message('DISCONNECT', 0));
    }
    ok !$seen{'A-secret'}, "B on A's thread never reaches A's worker session (got: @{[ join ',', keys %seen ]})";
    is_deeply $a->call('opensrf.test', 'session.get', ['k'], thread => $s)->{results}, ['A-secret'],
        "A's session is intact";
    ok !$a->ws->read_message(0.5), 'A received nothing meant for B';
});

with_healthy('a client sending faster than it reads', sub {
    my $c = OSRFWS::OsrfClient->new(port => $port);
    my $child = child_of($c);
    my $before = rss_kb($child);
    # 300 requests for 200 KB results, none read for 3 s
    my @t = map { OSRFWS::OsrfClient::new_thread() } 1 .. 300;
    my $writer = fork // die;
    if (!$writer) {
        $c->ws->send_text(frame_text('opensrf.test', $_, 'large', [200_000])) for @t;
        POSIX::_exit(0);
    }
    my $peak = 0;
    for (1 .. 30) {
        my $r = rss_kb($child);
        $peak = $r if $r > $peak;
        sleep 0.1;      # the pace of the samples over the 3 s the client reads nothing
    }
    cmp_ok $peak - $before, '<', $GROWTH_KB, "unread replies: the child grew by @{[ $peak - $before ]} kB only (back-pressure)";
    my $got = $c->collect_many(\@t, 60);
    my %st = map { $_ => $got->{$_}{status} } @t;
    waitpid($writer, 0);
    my @lost = grep { $st{$_} ne 205 && $st{$_} ne 503 } @t;
    is scalar(@lost), 0, 'every request hears back once the client reads: its result or STATUS 503';
    cmp_ok scalar(grep { $_ eq 205 } values %st), '>=', $IN_FLIGHT, 'at least the in-flight window is served';
    cmp_ok rss_kb($child) - $before, '<', $GROWTH_KB, 'and the child stays bounded after';
});

# What the gateway pushed: every RPUSH from its Redis connections went to
# the router, to a worker address, or (its wake-up token) to its own
note_gateway_ports();
kill 'TERM', $monitor;
waitpid($monitor, 0);
{
    open my $fh, '<', "$dir/monitor.log" or die $!;
    my (%keys, $n);
    while (my $line = <$fh>) {
        next unless $line =~ /\[\d+ 127\.0\.0\.1:(\d+)\] "RPUSH" "([^"]*)" "(.{0,300})/i;
        my ($port, $key, $value) = ($1, $2, $3);
        next unless $gateway_port{$port};
        $n++;
        my $kind = $key eq 'opensrf:router:router:localhost' ? 'router'
                 : $key =~ /^opensrf:client:opensrf:localhost:[^:*]+:\d+:[0-9a-f]+$/ ? 'worker'
                 : $key =~ /^opensrf:client:gateway:localhost:[^:*]+:\d+:[0-9a-f]+$/ && $value =~ /^osrf-ws-bridge-wake/ ? 'own wake-up'
                 : "other: $key";
        $keys{$kind}++;
    }
    cmp_ok $n, '>', 100, "MONITOR saw the gateway's $n RPUSHes";
    is_deeply [ grep { /^other/ } keys %keys ], [],
        'the gateway pushed only to the router, to workers, and its own wake-up: '
        . join(', ', map { "$_ $keys{$_}" } sort keys %keys);
    my $acl = join ' ', map { ref $_ ? join(' ', @$_) : $_ } @{ $gw->redis->admin->acl('log') // [] };
    unlike $acl, qr/gateway/, 'the ACL log has no refusal for the gateway';
}
ok pid_alive($parent), 'the Apache parent is still there';
my @crash = grep { /Segmentation|exit signal|AH00052|AddressSanitizer|runtime error/ } split /\n/, $gw->httpd->error_log;
is_deeply \@crash, [], 'no child died';
ok wait_until(sub { !grep { /^opensrf:client:gateway:/ } $gw->redis->keys_matching }, 20),
    'no gateway key left' or diag join ' ', $gw->redis->keys_matching;

# Nothing of the test left running: Redis, the test OpenSRF, Apache and
# its children, stopped by their pids.
my @pids = $gw->pids;
undef $gw;
ok wait_until(sub { !grep { pid_alive($_) } @pids }, 20), 'no stray process left';
done_testing;
