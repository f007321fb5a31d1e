# SPDX-License-Identifier: GPL-2.0-or-later
package OSRFWS::HAProxy;
# Debian's haproxy in front of gateway instances, as a consortium runs it:
# started by the test on a free loopback port with its own configuration,
# pid file and stats socket (never the system service), stopped by its pid
# file.  Each answer names the server it came from (X-Gateway), so a test
# can tell where a connection went.
use strict;
use warnings;
use IO::Socket::UNIX;
use OSRFWS::Util qw(free_port wait_for_port wait_until tempdir stop_by_pidfile
                    read_pidfile pid_alive);

# The health check: the gateway's readiness (200 only while the child
# answering reaches the bus), on the status location every gateway of a
# test has (STATUS_CONF).
our $CHECK = '/osrf-ws-status?ready';
our $STATUS_CONF = <<'CONF';
<Location /osrf-ws-status>
    Require all granted
    SetHandler osrf-websocket-status
</Location>
CONF

# servers => [ name => port, ... ]
sub new {
    my ($class, %o) = @_;
    my $self = OSRFWS::Util::stop_object_at_exit(
        bless { dir => tempdir(), port => free_port(), servers => $o{servers} }, $class);
    $self->_write_conf;
    system('haproxy', '-q', '-f', "$self->{dir}/haproxy.cfg") == 0 or die "haproxy did not start";
    wait_for_port($self->{port}, 10) or die "haproxy does not answer on $self->{port}";
    # kept: at exit the temporary directory (and the pid file) may be
    # removed before this object is destroyed
    $self->{pid} = read_pidfile($self->pidfile) or die "haproxy wrote no pid file";
    $self->{started} = 1;
    return $self;
}

sub port    { $_[0]{port} }
sub pidfile { "$_[0]{dir}/haproxy.pid" }

sub _write_conf {
    my ($self) = @_;
    my @s = @{ $self->{servers} };
    my $servers = '';
    while (my ($name, $port) = splice @s, 0, 2) {
        $servers .= "    server $name 127.0.0.1:$port check\n";
    }
    open my $fh, '>', "$self->{dir}/haproxy.cfg" or die $!;
    print $fh <<"CFG";
global
    daemon
    pidfile $self->{dir}/haproxy.pid
    stats socket $self->{dir}/haproxy.sock mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout http-request 10s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    # A gateway that stops: a handshake it refused, or dropped unanswered
    # (its backlog when the listener closed), goes to another; a handshake
    # changes nothing on a gateway that did not answer it.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response
    # the client's address, for OSRFWebSocketTrustedProxies
    option forwardfor

frontend gateway
    bind 127.0.0.1:$self->{port}
    default_backend gateways

backend gateways
    # WebSockets live long: count them, not requests
    balance leastconn
    option httpchk GET $CHECK
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
    http-response set-header X-Gateway %s
$servers
CFG
    close $fh;
}

# One command on the stats socket; its answer.
sub command {
    my ($self, $cmd) = @_;
    my $s = IO::Socket::UNIX->new(Peer => "$self->{dir}/haproxy.sock") or return '';
    print $s "$cmd\n";
    local $/;
    my $answer = <$s> // '';
    close $s;
    return $answer;
}

# { server name => UP / DOWN / ... } as the health checks see them.
sub states {
    my ($self) = @_;
    my (%st, @cols);
    for my $line (split /\n/, $self->command('show stat')) {
        if ($line =~ s/^# //) { @cols = split /,/, $line; next }
        my %f;
        @f{@cols} = split /,/, $line, -1;
        $st{ $f{svname} } = $f{status} if ($f{pxname} // '') eq 'gateways'
                                          && $f{svname} !~ /^(?:FRONTEND|BACKEND)$/;
    }
    return \%st;
}

sub stop {
    my ($self) = @_;
    return unless $self->{started};
    $self->{started} = 0;
    return stop_by_pidfile($self->pidfile, 10) if -e $self->pidfile;
    kill 'TERM', $self->{pid};
    wait_until(sub { !pid_alive($self->{pid}) }, 10) or kill 'KILL', $self->{pid};
}

sub DESTROY { local $?; $_[0]->stop }

1;
