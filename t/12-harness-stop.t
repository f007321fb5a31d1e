# SPDX-License-Identifier: GPL-2.0-or-later
# The tests' Apache stops on every path, children included: when its parent
# does not stop in time (killed, its children would serve on, reparented to
# init) and when the test holding it dies; so does a process a test
# started itself and gave to stop_at_exit.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use POSIX ();
use OSRFWS::Util qw(wait_until pid_alive tempdir read_pidfile stop_at_exit);
use OSRFWS::Apache;

my $httpd = OSRFWS::Apache->new(start_servers => 3, min_spare => 3, stop_timeout => 2);
my $parent = $httpd->pid;
my $kids = wait_until(sub { my @k = $httpd->children; @k >= 3 && \@k }, 10);
ok $kids, 'three children' or BAIL_OUT('no children');
kill 'STOP', $parent;       # a parent that cannot stop them
$httpd->stop;
ok !pid_alive($parent), 'the parent is killed after its stop timeout';
ok wait_until(sub { !grep { pid_alive($_) } @$kids }, 5), 'and its children too (no orphan left)'
    or diag `ps -o pid,ppid,stat,args -p @{[ join ',', @$kids ]}`;

# A test (a child here) that starts something, then dies: returns the pid
# of what it started, which its exit must have stopped.
my $dir = tempdir();
sub dies_after {
    my ($start) = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $started = $start->();
        open my $fh, '>', "$dir/started" or POSIX::_exit(1);
        print $fh $started;
        close $fh;
        open STDERR, '>', '/dev/null';      # the death is the point, not news
        die "a failed check\n";
    }
    waitpid $pid, 0;
    return read_pidfile("$dir/started");
}

my $h;    # held until the test dies, not dropped when the sub returns
my $dead_parent = dies_after(sub { $h = OSRFWS::Apache->new(start_servers => 2); $h->pid });
ok $dead_parent, 'a test started Apache, then died';
ok !pid_alive($dead_parent), 'its Apache stopped as it exited';

my $sleeper = dies_after(sub {
    my $p = fork // die "fork: $!";
    if (!$p) { exec 'sleep', '600' or POSIX::_exit(127) }
    return stop_at_exit($p);
});
ok $sleeper, 'a test started a process of its own, then died';
ok !pid_alive($sleeper), 'the process was stopped as it exited';
kill 'KILL', $sleeper if pid_alive($sleeper);
done_testing;
