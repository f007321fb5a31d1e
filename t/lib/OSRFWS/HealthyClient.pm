# SPDX-License-Identifier: GPL-2.0-or-later
package OSRFWS::HealthyClient;
# A well-behaved client beside hostile ones: its own process and
# connection, one add every 0.1 s until stopped, then its tally (calls,
# failed, slowest in seconds).  start returns once its first call is
# answered (or it has given up), so what follows runs beside it.
use strict;
use warnings;
use JSON::XS;
use POSIX ();
use Time::HiRes qw(time sleep);
use OSRFWS::OsrfClient;
use OSRFWS::Util qw(stop_at_exit wait_until);

sub start {
    my ($class, %a) = @_;
    my $self = bless { dir => $a{dir} }, $class;
    my $started = "$a{dir}/healthy.started";
    unlink "$a{dir}/stop", "$a{dir}/healthy.json", $started;
    my $pid = fork // die "fork: $!";
    if ($pid) {
        $self->{pid} = stop_at_exit($pid);
        wait_until(sub { -e $started || waitpid($pid, POSIX::WNOHANG()) != 0 }, 30);
        return $self;
    }
    my %t = (calls => 0, failed => 0, slowest => 0);
    my $c = eval { OSRFWS::OsrfClient->new(port => $a{port}) };
    while ($c && !-e "$a{dir}/stop") {
        my $t0 = time;
        my $r = $c->call('opensrf.math', 'add', [$t{calls}, 1], timeout => 10);
        my $took = time - $t0;
        $t{calls}++;
        $t{failed}++ unless ($r->{results}[0] // -1) == $t{calls};
        $t{slowest} = $took if $took > $t{slowest};
        if ($t{calls} == 1 && open my $fh, '>', $started) { close $fh }
        last if $r->{closed};
        sleep 0.1;      # the pace of the calls, not a wait for anything
    }
    $t{failed}++ unless $c;
    open my $fh, '>', "$a{dir}/healthy.json" or POSIX::_exit(1);
    print $fh encode_json(\%t);
    close $fh;
    POSIX::_exit(0);
}

sub stop {
    my ($self) = @_;
    open my $fh, '>', "$self->{dir}/stop" or die $!;
    close $fh;
    waitpid($self->{pid}, 0);
    unlink "$self->{dir}/stop";
    open $fh, '<', "$self->{dir}/healthy.json" or return { failed => 'no tally' };
    local $/;
    return decode_json(<$fh>);
}

1;
