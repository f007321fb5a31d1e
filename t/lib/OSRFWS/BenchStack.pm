# SPDX-License-Identifier: GPL-2.0-or-later
package OSRFWS::BenchStack;
# The benchmarks' stack: Redis with OpenSRF's ACL accounts (OSRFWS::Redis),
# the C bench router and service (bench/osrf-bench) on it, an
# opensrf_core.xml for the gateway, and secondary Apaches with the bridge
# (OSRFWS::Apache) made on demand, each with its own sizing.  Used by
# bench/run and t/60-bench-smoke.t; everything is stopped by pid file.
use strict;
use warnings;
use POSIX ();
use OSRFWS::Util qw(tempdir wait_until builddir read_pidfile);
use OSRFWS::Redis;
use OSRFWS::Apache;

sub new {
    my ($class, %o) = @_;
    my $self = OSRFWS::Util::stop_object_at_exit(
        bless { dir => tempdir(), daemons => [], workers => $o{workers} // 2 }, $class);
    $self->{redis} = OSRFWS::Redis->new(maxclients => $o{maxclients} // 10000);
    my $port = $self->{redis}->port;
    $self->_daemon('router', 'router', '--port', $port, '--domain', 'localhost');
    $self->_daemon('service', 'service', '--port', $port, '--domain', 'localhost',
                   '--workers', $self->{workers});
    $self->{core_xml} = "$self->{dir}/opensrf_core.xml";
    open my $fh, '>', $self->{core_xml} or die $!;
    print $fh <<"XML";
<?xml version="1.0"?>
<config>
  <gateway>
    <domain>localhost</domain>
    <port>$port</port>
    <username>gateway</username>
    <passwd>$OSRFWS::Redis::PASSWORDS{gateway}</passwd>
    <router_name>router</router_name>
  </gateway>
  <shared><log_protect><match_string>open-ils.auth</match_string></log_protect></shared>
</config>
XML
    close $fh;
    chmod 0644, $self->{core_xml};
    # the service is up once a call through the router is answered
    wait_until(sub { $self->loadgen_ok('run', '--bus', '--port', $port, '--requests', 1) }, 20)
        or die "bench OpenSRF did not come up";
    return $self;
}

sub bin { builddir() . "/bench/$_[1]" }
sub redis { $_[0]{redis} }
sub pid { read_pidfile("$_[0]{dir}/$_[1].pid") }

sub _daemon {
    my ($self, $name, @args) = @_;
    my $pidfile = "$self->{dir}/$name.pid";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', "$self->{dir}/$name.log";
        open STDERR, '>&', \*STDOUT;
        exec $self->bin('osrf-bench'), @args, '--pidfile', $pidfile or POSIX::_exit(127);
    }
    wait_until(sub { -s $pidfile }, 10) or die "$name did not start";
    push @{ $self->{daemons} }, { pidfile => $pidfile, pid => $pid };
}

sub loadgen_ok {
    my ($self, @args) = @_;
    my $out = `@{[ $self->bin('loadgen') ]} @args 2>/dev/null`;
    return $? == 0 && $out =~ /"completed":[1-9]/;
}

# A secondary Apache with the bridge, for this stack.  %o: OSRFWS::Apache's
# options (max_clients, start_servers, min_spare, max_spare, tls, conf).
sub apache {
    my ($self, %o) = @_;
    return OSRFWS::Apache->new(
        bridge => 1, log_level => 'warn', %o,
        env => { OSRF_WEBSOCKET_CONFIG_FILE => $self->{core_xml},
                 OSRF_WEBSOCKET_IDLE_TIMEOUT => 3600, %{ $o{env} // {} } });
}

sub stop {
    my ($self) = @_;
    # by the pids forked here: at exit the pid files' directory may be
    # gone already
    for my $d (reverse @{ $self->{daemons} }) {
        kill 'TERM', $d->{pid};
        wait_until(sub { waitpid($d->{pid}, POSIX::WNOHANG()) != 0 }, 10)
            or kill('KILL', $d->{pid}) && waitpid($d->{pid}, 0);
    }
    $self->{daemons} = [];
    delete $self->{redis};
}

sub DESTROY { local $?; $_[0]->stop }

1;
