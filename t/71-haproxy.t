# SPDX-License-Identifier: GPL-2.0-or-later
# Scale-out: two gateway instances (two ports, as if two hosts) on one
# Redis bus behind Debian's HAProxy.  Connections spread over both; each
# stateful session stays on its own connection (no sticky sessions); the
# client's address reaches the activity log through X-Forwarded-For; a
# graceful stop of one instance lets its call in flight finish, closes its
# sockets with 1001, and new connections go to the other without a failure.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(time);
use OSRFWS::Gateway;
use OSRFWS::Apache;
use OSRFWS::HAProxy;
use OSRFWS::OsrfClient;
use OSRFWS::Util qw(wait_until pid_alive);

# The client comes from 127.0.0.2, HAProxy from 127.0.0.1: the gateway must
# log the first, which only the forwarded header tells it.
my $CLIENT_IP = '127.0.0.2';
my $trusted = { conf => "OSRFWebSocketTrustedProxies 127.0.0.1\n$OSRFWS::HAProxy::STATUS_CONF" };
# Eight sessions held for the whole test: a worker serves one session at
# a time, and keeps an idle one 30 s.
my $gw = OSRFWS::Gateway->new(apache => $trusted, osrf => { keepalive => 30, workers => 8 });
my %gw = (gw1 => $gw->httpd,
          gw2 => OSRFWS::Apache->new(bridge => 1, %$trusted,
                     env => { OSRF_WEBSOCKET_CONFIG_FILE => $gw->core_xml }));
my $hap = OSRFWS::HAProxy->new(servers => [ map { $_ => $gw{$_}->port } sort keys %gw ]);
ok wait_until(sub { my $s = $hap->states; ($s->{gw1} // '') eq 'UP' && ($s->{gw2} // '') eq 'UP' }, 10),
    'HAProxy health checks: both gateways UP' or diag explain $hap->states;

sub client {
    my (%o) = @_;
    my $c = OSRFWS::OsrfClient->new(port => $hap->port, local_addr => $CLIENT_IP, %o);
    return ($c, $c->ws->header('X-Gateway') // '?');
}

# Eight browsers at once, each with a stateful session.
my (@conns, %count);
for my $i (0 .. 7) {
    # the first one claims another address: a client cannot choose what is logged
    my ($c, $where) = client($i ? () : (headers => { 'X-Forwarded-For' => '198.51.100.9' }));
    push @conns, { c => $c, gw => $where, i => $i };
    $count{$where}++;
}
ok $count{gw1} && $count{gw2} && abs($count{gw1} - $count{gw2}) <= 1,
    "connections spread over both gateways (gw1 $count{gw1}, gw2 $count{gw2})"
    or diag explain \%count;

my $sessions_ok = 1;
for my $k (@conns) {
    my $c = $k->{c};
    my $t = OSRFWS::OsrfClient::new_thread();
    $c->send_msg('opensrf.test', $t, OSRFWS::OsrfClient::message('CONNECT', 0));
    $sessions_ok &&= ($c->collect($t)->{status} // 0) == 200;
    $c->call('opensrf.test', 'session.set', ['conn', $k->{i}], thread => $t);
    my %w = map { ($c->call('opensrf.test', 'whoami', [], thread => $t)->{results}[0] // '?') => 1 } 1 .. 3;
    $sessions_ok &&= keys(%w) == 1 && !$w{'?'};
    ($k->{worker}) = keys %w;
    $sessions_ok &&= ($c->call('opensrf.test', 'session.get', ['conn'], thread => $t)->{results}[0] // -1)
                     == $k->{i};
    $k->{thread} = $t;
    my $r = $c->call('opensrf.math', 'opensrf.system.echo', ["conn-$k->{i}"]);
    $sessions_ok &&= ($r->{results}[0] // '') eq "conn-$k->{i}";
}
ok $sessions_ok, 'on every connection: CONNECT, then whoami x3 from one worker, and its own session state';

# Each connection's calls are in the log of the gateway HAProxy named, with
# the client's address, and not in the other's.
my %log = map { $_ => $gw{$_}->error_log } keys %gw;
my $placed = 1;
for my $k (@conns) {
    my ($here) = $k->{gw};
    my ($there) = grep { $_ ne $here } keys %gw;
    my $line = qr/OSRFWS02010: \[\Q$CLIENT_IP\E\] \[\] opensrf\.math opensrf\.system\.echo \["conn-$k->{i}"\]/;
    $placed &&= $log{$here} =~ $line && $log{$there} !~ /"conn-$k->{i}"/;
}
ok $placed, "each connection's calls logged by its own gateway, with the client address $CLIENT_IP";
unlike join('', values %log), qr/198\.51\.100\.9/, 'an address the client put in X-Forwarded-For is not logged';

# Graceful stop of gw1 with a call in flight on one of its connections.
my ($busy, @idle1) = grep { $_->{gw} eq 'gw1' } @conns;
my @on2 = grep { $_->{gw} eq 'gw2' } @conns;
my $slow;
# (inside its stateful session: its worker is free for it).  Quick calls
# first: a session's worker may answer before the gateway's push returns,
# and such an answer must not leave a request counted in flight (the stop
# would then wait the max request wait).
$slow = $busy->{thread};
$busy->{c}->call('opensrf.test', 'whoami', [], thread => $slow) for 1 .. 20;
$busy->{c}->send_request('opensrf.test', $slow, 'sleep', [2]);
ok $gw->osrf->wait_started('opensrf.test', 'sleep', thread => $slow),
    'a call in flight on gw1 (its worker has started it)';
# the stop itself is timed by a watcher, apart from the checks below
# (HAProxy's health checks, new connections) that run meanwhile
my $parent1 = $gw{gw1}->pid;
my $watcher = fork // die "fork: $!";
if (!$watcher) {
    my $t0 = time;
    wait_until(sub { !pid_alive($parent1) }, 30, 0.05);
    POSIX::_exit(time - $t0 < 15 ? 0 : 1);
}
$gw{gw1}->graceful_stop;

# New connections while it stops (a gw1 child may still take one), then
# once gw1 no longer listens (before HAProxy's checks notice: redispatch),
# then once it is DOWN: every one answered; after the stop, all by gw2.
sub add_calls {
    my ($n, $where) = @_;
    my $ok = 1;
    for my $i (1 .. $n) {
        my ($c, $gw) = eval { client() };
        my $r = $c && $c->call('opensrf.math', 'add', [$i, 1]);
        my $good = $r && ($r->{results}[0] // 0) == $i + 1;
        diag "new connection $i: " . ($c ? "via $gw: " . explain($r) : $@) unless $good;
        $ok &&= $good;
        $where->{$gw // 'failed'}++;
        $c->ws->send_close(1000) if $c;
    }
    return $ok;
}
my (%during, %after, %down);
ok add_calls(3, \%during), 'new connections during the graceful stop: all answered'
    or diag explain \%during;
ok wait_until(sub { !IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $gw{gw1}->port,
                                           Proto => 'tcp', Timeout => 1) }, 5),
    'gw1 stopped listening';
my $noticed = ($hap->states->{gw1} // '') =~ /DOWN/;
ok add_calls(4, \%after), 'new connections after it: all answered';
is_deeply \%after, { gw2 => 4 }, 'all by gw2' . ($noticed ? '' : ' (before the checks marked gw1 down)');
ok wait_until(sub { ($hap->states->{gw1} // '') =~ /DOWN/ }, 5), 'HAProxy marks gw1 DOWN';
ok add_calls(2, \%down) && $down{gw2} == 2, 'and with gw1 DOWN, gw2 answers';

my $r = $busy->{c}->collect($slow, 10);
is_deeply [ $r->{results}, $r->{status} ], [ ['slept'], 205 ],
    'the call in flight on the stopping gateway is answered';
is $busy->{c}->ws->read_close(10), 1001, 'then its socket closes with 1001 (browsers reconnect)'
    or diag $gw{gw1}->error_log;
my @codes = map { $_->{c}->ws->read_close(10) // 'none' } @idle1;
is_deeply \@codes, [ (1001) x @idle1 ], 'its idle sockets close with 1001'
    or diag $gw{gw1}->error_log;

# The connections on gw2 never noticed.
my $on2_ok = 1;
for my $k (@on2) {
    my $c = $k->{c};
    my $w = $c->call('opensrf.test', 'session.get', ['conn'], thread => $k->{thread});
    $on2_ok &&= ($w->{results}[0] // -1) == $k->{i}
        && ($c->call('opensrf.test', 'whoami', [], thread => $k->{thread})->{results}[0] // '')
           eq $k->{worker}
        or diag "conn $k->{i}: ", explain($w);
}
ok $on2_ok, 'sessions on gw2 go on: same worker, state intact';
waitpid($watcher, 0);
is $? >> 8, 0, 'graceful stop done (its parent gone) within 15 s';

is_deeply [ map { $gw{$_}->log_problems } sort keys %gw ], [], 'no errors in either error log';
$_->{c}->ws->send_close(1000) for @on2;
done_testing;
