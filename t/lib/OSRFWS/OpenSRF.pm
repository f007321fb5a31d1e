# SPDX-License-Identifier: GPL-2.0-or-later
package OSRFWS::OpenSRF;
# The test OpenSRF on an OSRFWS::Redis: a router for the public domain
# ("localhost") and one for the private domain ("127.0.0.1": *.localhost
# names do not resolve here), opensrf.math and opensrf.test on the public
# router, opensrf.private on the private one only.
use strict;
use warnings;
use FindBin;
use OSRFWS::Util qw(tempdir stop_by_pidfile wait_until srcdir);
use OSRFWS::BusClient;

our $PUBLIC = 'localhost';
our $PRIVATE = '127.0.0.1';

sub new {
    my ($class, %o) = @_;
    my $self = bless { redis => $o{redis}, dir => tempdir(), daemons => [],
                       opt => \%o }, $class;
    OSRFWS::Util::stop_object_at_exit($self);
    my $port = $o{redis}->port;
    my $bin = srcdir() . '/t/osrf';
    # started together (a service's registration waits in its router's
    # list until the router runs), then waited for together
    $self->_daemon('router-public', "$bin/osrf-router", '--port', $port,
                   '--domain', $PUBLIC);
    $self->_daemon('router-private', "$bin/osrf-router", '--port', $port,
                   '--domain', $PRIVATE);
    my @svc = ('--port', $port, '--keepalive', $o{keepalive} // 6,
               ($o{string_status_codes} ? '--string-status-codes' : ()));
    $self->_daemon("svc-$_", "$bin/osrf-service", @svc, '--service', $_,
                   '--domain', $PUBLIC, '--workers', $o{workers} // 3)
        for qw(opensrf.math opensrf.test);
    $self->_daemon('svc-private', "$bin/osrf-service", @svc,
                   '--service', 'opensrf.private', '--domain', $PRIVATE);
    for my $d (@{ $self->{daemons} }) {
        wait_until(sub { -s $d->{pidfile} }, 10) or die "$d->{name} did not start";
    }
    # up once each service answers through its router
    my %client = map { $_ => OSRFWS::BusClient->new(redis => $o{redis}, domain => $_) }
                 $PUBLIC, $PRIVATE;
    for my $svc ([$PUBLIC, 'opensrf.math'], [$PUBLIC, 'opensrf.test'], [$PRIVATE, 'opensrf.private']) {
        my ($domain, $service) = @$svc;
        wait_until(sub {
            my $r = eval { $client{$domain}->request($service, 'opensrf.system.echo', [2], timeout => 2) };
            return $r && ($r->{results}[0] // 0) == 2;
        }, 20) or die "test OpenSRF did not come up: $service does not answer";
    }
    return $self;
}

sub _daemon {
    my ($self, $name, @cmd) = @_;
    my $pidfile = "$self->{dir}/$name.pid";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        exec $^X, @cmd, '--pidfile', $pidfile, '--logfile', "$self->{dir}/$name.log"
            or POSIX::_exit(127);
    }
    push @{ $self->{daemons} }, { name => $name, pidfile => $pidfile, pid => $pid };
}

sub log { my ($self, $name) = @_; local $/; open my $f, '<', "$self->{dir}/$name.log" or return ''; <$f> }

# How many requests for $method the service $service (opensrf.math or
# opensrf.test) has started, on $thread only when given: a worker logs
# each before it runs the method.
sub requests_started {
    my ($self, $service, $method, $thread) = @_;
    my $on = defined $thread ? quotemeta $thread : '\S+';
    return scalar(() = $self->log("svc-$service")
                       =~ /request \Q$method\E on thread $on started$/mg);
}

# Waits until the service has started count (1) such requests: a request
# sent is then in a worker's hands, not on its way.  True if it has, false
# after timeout (10) seconds.
sub wait_started {
    my ($self, $service, $method, %o) = @_;
    return wait_until(sub {
        $self->requests_started($service, $method, $o{thread}) >= ($o{count} // 1)
    }, $o{timeout} // 10);
}

# Every daemon is told at once: each takes up to a second to notice (the
# timeout of the BLPOP it is in), so one after another would add up.
sub stop {
    my ($self) = @_;
    my @daemons = reverse @{ $self->{daemons} };
    kill 'TERM', map { $_->{pid} } @daemons;
    for my $d (@daemons) {
        stop_by_pidfile($d->{pidfile}, 10, undef, $d->{pid});
        waitpid($d->{pid}, 0);
    }
    $self->{daemons} = [];
}

sub DESTROY { local $?; $_[0]->stop }

1;
