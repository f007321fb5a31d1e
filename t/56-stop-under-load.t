# SPDX-License-Identifier: GPL-2.0-or-later
# Apache stopped while the bus listener is still sending replies: each
# child is killed by SIGTERM (prefork destroys its pools from the signal
# handler, the connection's memory with them) while its listener is in
# the middle of a send.  No child may crash, hang or outlive the parent.
# Then the same load through a graceful restart (the child ends its
# connection and exits by itself) and a graceful stop whose timeout runs
# out (SIGTERM again).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Select;
use Time::HiRes qw(time);
use OSRFWS::Gateway;
use OSRFWS::OsrfClient;
use OSRFWS::Util qw(wait_until pid_alive);

# A client streaming a large result that reads none of it, so the
# listener keeps delivering replies into its outbox, and another with a
# request in flight, its listener blocked on the bus.  Returns them once
# the first reply has come out.
sub load {
    my ($gw) = @_;
    my $httpd = $gw->httpd;
    my $reader_less = OSRFWS::OsrfClient->new(port => $httpd->port);
    $reader_less->send_request('opensrf.test', OSRFWS::OsrfClient::new_thread(),
                               'stream', [20000]);
    my $waiting = OSRFWS::OsrfClient->new(port => $httpd->port);
    my $t = OSRFWS::OsrfClient::new_thread();
    $waiting->send_request('opensrf.test', $t, 'sleep', [5]);
    my $ws = $reader_less->ws;
    ok length($ws->{buf}) || IO::Select->new($ws->{sock})->can_read(15),
       'the stream has started';
    ok $gw->osrf->wait_started('opensrf.test', 'sleep', thread => $t),
       'the other request is in flight';
    return ($reader_less, $waiting);
}

# The parent's children now, at least one per client.
sub children_of {
    my ($httpd) = @_;
    my @children = $httpd->children;
    cmp_ok scalar(@children), '>=', 2, 'a child for each client';
    return @children;
}

sub none_left {
    my ($what, @pids) = @_;
    ok wait_until(sub { !grep { pid_alive($_) } @pids }, 30), "$what: no child is left"
        or diag "left: @{[ grep { pid_alive($_) } @pids ]}";
}

sub clean_log {
    my ($what, $httpd) = @_;
    my @log = split /\n/, $httpd->error_log;
    is_deeply [ grep { /Segmentation fault|exit signal|AH00052/ } @log ], [],
              "$what: no child crashed";
    is_deeply [ grep { /still did not exit|AH0004[5-7]/ } @log ], [],
              "$what: no child had to be signalled again";
    is_deeply [ $httpd->log_problems ], [], "$what: no errors in the log";
}

{
    my $gw = OSRFWS::Gateway->new;
    my $httpd = $gw->httpd;
    my @clients = load($gw);
    my $parent = $httpd->pid;
    my @children = children_of($httpd);
    my $t0 = time;
    $httpd->stop;
    my $took = time - $t0;
    note sprintf "stopped in %.2f s", $took;
    ok !pid_alive($parent), 'stop: the parent has exited';
    # prefork's parent SIGKILLs a child still there after 9 s
    cmp_ok $took, '<', 8, 'stop: in bounded time (no child waited out)';
    none_left('stop', @children);
    clean_log('stop', $httpd);
}
{
    # the send timeout ends the connections of the graceful restart; the
    # graceful stop's timeout runs out first
    my $gw = OSRFWS::Gateway->new(apache => {
        conf => "GracefulShutdownTimeout 1\nWebSocketSendTimeout 3" });
    my $httpd = $gw->httpd;

    my @clients = load($gw);
    my @old = children_of($httpd);
    ok $httpd->graceful_and_wait(15), 'graceful restart';
    none_left('graceful restart', @old);
    @clients = ();

    @clients = load($gw);
    my $parent = $httpd->pid;
    my @children = children_of($httpd);
    my $t0 = time;
    $httpd->graceful_stop;
    ok wait_until(sub { !pid_alive($parent) }, 8), 'graceful stop: the parent has exited';
    note sprintf "graceful stop in %.2f s", time - $t0;
    none_left('graceful stop', @children);
    clean_log('graceful restart and stop', $httpd);
}

done_testing;
