# SPDX-License-Identifier: GPL-2.0-or-later
# Graceful restarts leave the Apache parent whole: its descriptors 0-2 are
# what they were (the bridge once closed descriptor 0 at every
# configuration load; after a restart that was the new pipe of death, so
# every idle-child kill failed with AH00053 and idle children were never
# reaped again), no descriptor leaks per restart (the bridge's log files),
# and after 30 connections opened and closed the parent reaps its children
# back down to MaxSpareServers.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use OSRFWS::Gateway;
use OSRFWS::OsrfClient;
use OSRFWS::Util qw(wait_until tempdir);

my $MAX_SPARE = 2;
my $CONNECTIONS = 30;
# prefork kills one idle child a second: the surplus, with room to spare
my $REAP_WITHIN = 60;

# The gateway as most sites run it: its lines in Apache's error log.
my $gw = OSRFWS::Gateway->new(
    apache => { start_servers => $MAX_SPARE, min_spare => 1, max_spare => $MAX_SPARE,
                max_clients => $CONNECTIONS + 4 });
my $httpd = $gw->httpd;
my $parent;

sub std_fds { [ map { readlink("/proc/$parent/fd/$_") // 'closed' } 0 .. 2 ] }
sub fd_count { scalar(() = glob "/proc/$parent/fd/*") }

# Two graceful restarts: the parent's descriptors before and after each.
sub restarts_keep_descriptors {
    my ($httpd, $what) = @_;
    $parent = $httpd->pid;
    my $before = std_fds();
    my $count = fd_count();
    is $before->[0], '/dev/null', "$what: the started parent has /dev/null as descriptor 0";
    for my $n (1, 2) {
        ok $httpd->graceful_and_wait(20), "$what: graceful restart $n, configuration read again";
        is_deeply std_fds(), $before, "$what: after it, descriptors 0-2 are what they were";
        is fd_count(), $count, "$what: and the parent holds as many descriptors ($count)"
            or diag join " ", map { readlink($_) } glob "/proc/$parent/fd/*";
    }
    return $before;
}

my $before = restarts_keep_descriptors($httpd, 'log in the error log');
my @clients = map { OSRFWS::OsrfClient->new(port => $httpd->port) } 1 .. $CONNECTIONS;
my $answered = grep { ($clients[$_]->call('opensrf.math', 'add', [$_, 1])->{results}[0] // -1)
                      == $_ + 1 } 0 .. $#clients;
is $answered, $CONNECTIONS, "$CONNECTIONS connections at once, each answered";
my $peak = () = $httpd->children;
for my $c (@clients) {
    $c->ws->send_close(1000);
    $c->ws->read_close(5);
    $c->ws->wait_eof(5);
}
undef @clients;

my $t0 = time;
my $reaped = wait_until(sub { $httpd->children <= $MAX_SPARE }, $REAP_WITHIN, 0.5);
my $left = () = $httpd->children;
ok $reaped, sprintf('the idle children are reaped from %d to %d (MaxSpareServers %d) in %.0f s',
                    $peak, $left, $MAX_SPARE, time - $t0);
is_deeply std_fds(), $before, 'descriptors 0-2 of the parent still what they were';
is_deeply [ grep { /AH00053/ } split /\n/, $httpd->error_log ], [],
    'no failed write to the pipe of death (AH00053)';
is_deeply [ $httpd->log_problems ], [], 'no errors in the error log';
undef $gw;

# Log files of its own (opensrf_core.xml's logfile and actlog), opened by
# the parent at each configuration load: closed again at the next, and
# the new generation of children writes to them.
my $logdir = tempdir();
$gw = OSRFWS::Gateway->new(gateway_xml => "<logfile>$logdir/gateway.log</logfile>"
                                        . "<actlog>$logdir/activity.log</actlog>");
restarts_keep_descriptors($gw->httpd, 'log files');
my $c = OSRFWS::OsrfClient->new(port => $gw->httpd->port);
is_deeply $c->call('opensrf.math', 'add', [20, 22])->{results}, [42], 'a call after the restarts';
ok wait_until(sub {
    open my $fh, '<', "$logdir/activity.log" or return;
    local $/;
    return (<$fh> // '') =~ /opensrf\.math add \[20,22\]/;
}, 5), 'its activity line is in the activity log';
is_deeply [ $gw->httpd->log_problems ], [], 'no errors in the error log';
done_testing;
