# SPDX-License-Identifier: GPL-2.0-or-later
# The reconnect storm, CI-sized: 200 OpenSRF connections open, each
# answered; a graceful restart closes every one with 1001; every client
# comes back at a random moment within 2 s of its close (bench/loadgen's
# storm), makes one call and is answered, and none needs more than one
# retry (a reconnection that reached a child of the old generation in
# the moment before the parent took the restart is closed with 1001
# again).  The instance is sized as README.websockets "Sizing" says
# (osrf-websocket-setup --clients 200): StartServers above the
# connections, so that each old child that exits is replaced at once;
# ServerLimit a quarter above them, so that the old children still
# finishing leave room for the new ones (with none, WebSocketReserve
# answers 503); a listen backlog that holds the clients arriving faster
# than the children do.
# bench/connections runs the same at 10,000.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IPC::Open2;
use JSON::XS;
use OSRFWS::BenchStack;
use OSRFWS::Util qw(wait_until tempdir);

my $N = 200;
# A stall, not speed: on an unloaded 2-core machine the storm takes a few
# seconds, on one loaded by a whole test run (load 50) 250 clients took
# 29 s (each fresh child's first connection waits for CPU, as do Redis
# and the client).  bench/connections measures the speed at 10,000.
my $STALL = 90;

# two bus connections per child
my ($spare, $max) = (64, $N + $N / 4 + 64);
my $stack = OSRFWS::BenchStack->new(maxclients => 2 * $max + 1000);
my $httpd = $stack->apache(max_clients => $max, start_servers => $N + $spare, min_spare => $spare,
                           max_spare => $N + $spare, conf => 'ListenBacklog 511');
ok wait_until(sub { $httpd->children >= $N + $spare }, 90), ($N + $spare) . ' children started';

my $log = tempdir() . '/loadgen.err';
my $pid = open2(my $from, my $to, $stack->bin('loadgen') . " hold --port " . $httpd->port
                . " --conns $N --storm-s 2 --quiet-errors 2>>$log");
# whatever happens, the load generator goes (by its pid)
END { if ($pid) { local $?; kill 'TERM', $pid; waitpid($pid, 0) } }
local $SIG{ALRM} = sub { die "timed out\n" };
alarm 300;      # loadgen bounds each phase itself; this only guards the test

sub line {
    my $l = <$from>;
    return $l ? decode_json($l) : { phase => 'none', errors => -1 };
}
sub slurp { open my $fh, '<', $_[0] or return ''; local $/; <$fh> // '' }

my $ready = line();
is $ready->{open}, $N, "$N connections open, each answered once" or diag slurp($log);
print $to "go\n";
$to->flush;
my $all = line();
is_deeply [ @$all{qw(completed errors)} ], [$N, 0], 'each calls again: all answered';

print $to "storm\n";
$to->flush;
is line()->{phase}, 'storming', 'the clients wait for their close';
ok $httpd->graceful_and_wait(30), 'graceful restart: configuration read again';
my $s = line();
diag explain $s if $ENV{OSRFWS_VERBOSE};
is $s->{closed_1001}, $N, "every client got 1001" or diag explain $s;
is $s->{closed_other} + $s->{closed_no_frame}, 0, 'none another close or a dropped socket';
is $s->{answered}, $N, "all $N reconnected and were answered" or diag slurp($log);
cmp_ok $s->{max_retries}, '<=', 1, 'none refused beyond one retry'
    or diag "$s->{clients_retried} clients retried, $s->{retries} retries";
cmp_ok $s->{all_answered_s}, '<', $STALL, "all answered within $STALL s of the first 1001"
    and note sprintf 'storm of %d: all answered %.2f s after the first 1001 (p99 %.0f ms,'
    . ' %d retries)', $N, $s->{all_answered_s}, $s->{p99_us} / 1000, $s->{retries};
close $to;
waitpid($pid, 0);
$pid = undef;
alarm 0;

is_deeply [ $httpd->log_problems ], [], 'no errors in the gateway log';
done_testing;
