# SPDX-License-Identifier: GPL-2.0-or-later
# A new connection's first reply comes at once, on a child reused from the
# connection before: 200 connections one after another on a small instance
# (one or two children serve them all), each makes one call, and its first
# reply must arrive within 1 s.  The listener's BLPOP times out after
# OSRF_WEBSOCKET_IDLE_CHECK_INTERVAL (5 s by default, kept here): a reply
# that waits on a key the listener does not watch shows as about 5 s.  (On
# an idle machine a first reply takes a few ms; 1 s leaves room for a
# loaded one, where 100 ms was seen missed by 29 ms, and is far from 5 s.)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use OSRFWS::Gateway;
use OSRFWS::OsrfClient;

my $CONNECTIONS = 200;
my $BOUND = 1.0;
my $GIVE_UP = 3;        # slow ones before stopping: each costs about 5 s

my $gw = OSRFWS::Gateway->new(
    apache => { start_servers => 1, min_spare => 1, max_spare => 1 });
my $port = $gw->httpd->port;

my ($max, $done, @slow) = (0, 0);
for my $i (1 .. $CONNECTIONS) {
    my $c = OSRFWS::OsrfClient->new(port => $port);
    my $t = OSRFWS::OsrfClient::new_thread();
    my $t0 = time;
    $c->send_request('opensrf.math', $t, 'add', [$i, 1]);
    my $m = $c->ws->read_message(10);
    my $took = time - $t0;
    my $r = $c->collect($t, 10);
    $r->{status} == 205 && $m && $m->{payload} =~ /"content":\Q@{[ $i + 1 ]}\E\b/
        or BAIL_OUT("connection $i: no answer to its call");
    $max = $took if $took > $max;
    push @slow, sprintf('#%d %.0f ms', $i, $took * 1000) if $took >= $BOUND;
    $c->ws->send_close(1000);
    $c->ws->read_close(5);
    $c->ws->wait_eof(5);
    $done++;
    last if @slow >= $GIVE_UP;
}
is $done, $CONNECTIONS, "$CONNECTIONS connections, one after another, each answered";
is_deeply \@slow, [], sprintf('every first reply within %d ms (max %.1f ms)',
                              $BOUND * 1000, $max * 1000);
diag sprintf 'slowest first reply of %d connections: %.1f ms', $done, $max * 1000;
is_deeply [ $gw->httpd->log_problems ], [], 'no errors in the error log';
done_testing;
