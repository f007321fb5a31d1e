# SPDX-License-Identifier: GPL-2.0-or-later
# Reload without dropping: a graceful restart (SIGUSR1) with clients
# connected closes an idle connection with 1001 at once, lets a busy one
# get its reply first, then closes it with 1001; the reconnect reaches a
# child of the new generation, which has the configuration changed before
# the restart (WebSocketMaxMessageSize, OSRFWebSocketIdleTimeout).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use OSRFWS::Gateway;
use OSRFWS::OsrfClient;
use OSRFWS::Util qw(wait_until);

my $gw = OSRFWS::Gateway->new(
    env => { OSRF_WEBSOCKET_IDLE_CHECK_INTERVAL => 1 },
    apache => { max_message => '64K', conf => "OSRFWebSocketIdleTimeout 60\n" });
my $httpd = $gw->httpd;
my $port = $httpd->port;
my $big = 'x' x 20_000;

# The pid of the child that logged the activity line with this marker.
sub child_of {
    my ($marker) = @_;
    my ($pid) = $httpd->error_log =~ /\[pid (\d+)[^\]]*\][^\n]*OSRFWS02010: [^\n]*\Q$marker\E/;
    return $pid;
}

my $idle = OSRFWS::OsrfClient->new(port => $port);
my $busy = OSRFWS::OsrfClient->new(port => $port);
is_deeply $idle->call('opensrf.math', 'add', [1, 1])->{results}, [2], 'idle client: a first call';
is length($busy->call('opensrf.math', 'opensrf.system.echo', [$big])->{results}[0] // ''),
    20_000, 'a 20 KB message passes under WebSocketMaxMessageSize 64K';
my %old = map { $_ => 1 } $httpd->children;

my $t = OSRFWS::OsrfClient::new_thread();
$busy->send_request('opensrf.test', $t, 'sleep', [3]);
ok $gw->osrf->wait_started('opensrf.test', 'sleep', thread => $t),
    'a slow call is in flight (its worker has started it)';
$httpd->set_conf("OSRFWebSocketIdleTimeout 2\nWebSocketMaxMessageSize 16K\n");
my $restarts = $httpd->restarts;
my $t0 = time;
$httpd->graceful;

is $idle->ws->read_close(10), 1001, 'the idle connection is closed with 1001';
my $idle_after = time - $t0;
cmp_ok $idle_after, '<', 2, sprintf('promptly (%.2f s)', $idle_after);
$idle->ws->send_close(1001);

my $r = $busy->collect($t, 10);
my $reply_at = time - $t0;
is_deeply $r->{results}, ['slept'], 'the busy connection gets the reply of its call in flight';
cmp_ok $reply_at, '>', 1.5, sprintf('which came after the restart (%.2f s)', $reply_at);
is $busy->ws->read_close(5), 1001, 'then it is closed with 1001';
my $busy_after = time - $t0 - $reply_at;
cmp_ok $busy_after, '<', 1, sprintf('right after the reply (%.2f s)', $busy_after);
$busy->ws->send_close(1001);

# Reconnect, as opensrf.js does: a new-generation child, the new settings.
ok wait_until(sub { $httpd->restarts > $restarts }, 10),
    'the parent has read its configuration again';
my $n = OSRFWS::OsrfClient->new(port => $port);
is_deeply $n->call('opensrf.math', 'add', [40, 2, 'reload-marker'])->{results}, [42],
    'a reconnect is served';
my $pid = child_of('reload-marker');
ok $pid && !$old{$pid}, "by a child of the new generation (pid @{[ $pid // '?' ]})";
my $t1 = time;
is $n->ws->read_close(10), 1000, 'OSRFWebSocketIdleTimeout 2 applies to it: closed when idle';
cmp_ok time - $t1, '<', 5, 'after about 2 s, not 60';
my $m = OSRFWS::OsrfClient->new(port => $port);
$m->send_request('opensrf.math', OSRFWS::OsrfClient::new_thread(), 'opensrf.system.echo', [$big]);
is $m->ws->read_close(5), 1009, 'WebSocketMaxMessageSize 16K applies: the 20 KB message is refused (1009)';

is_deeply [ $httpd->log_problems ], [], 'no errors in the error log';
done_testing;
