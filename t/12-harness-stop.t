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

# A test that dies holding an Apache: it is stopped at exit.
my $dir = tempdir();
my $pid = fork // die "fork: $!";
if (!$pid) {
    my $h = OSRFWS::Apache->new(start_servers => 2);
    open my $fh, '>', "$dir/pid" or POSIX::_exit(1);
    print $fh $h->pid;
    close $fh;
    die "a failed check\n";
}
waitpid $pid, 0;
my $dead_parent = read_pidfile("$dir/pid");
ok $dead_parent, 'a test started Apache, then died';
ok !pid_alive($dead_parent), 'its Apache stopped as it exited';

$pid = fork // die "fork: $!";
if (!$pid) {
    my $sleeper = fork // die "fork: $!";
    if (!$sleeper) { exec 'sleep', '600' or POSIX::_exit(127) }
    stop_at_exit($sleeper);
    open my $fh, '>', "$dir/sleeper" or POSIX::_exit(1);
    print $fh $sleeper;
    close $fh;
    die "a failed check\n";
}
waitpid $pid, 0;
my $sleeper = read_pidfile("$dir/sleeper");
ok $sleeper, 'a test started a process of its own, then died';
ok !pid_alive($sleeper), 'the process was stopped as it exited';
kill 'KILL', $sleeper if pid_alive($sleeper);
done_testing;
