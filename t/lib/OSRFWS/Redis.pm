# SPDX-License-Identifier: GPL-2.0-or-later
package OSRFWS::Redis;
# A throwaway redis-server on a free loopback port, with OpenSRF's ACL
# accounts: the tests fail if the gateway uses a command or key it may not.
use strict;
use warnings;
use Redis;
use OSRFWS::Util qw(free_port wait_until tempdir stop_by_pidfile read_pidfile);

# The accounts OpenSRF's Redis bus uses.  The gateway may only pop from and
# push to router and client addresses, and delete its own.
our %PASSWORDS = (router => 'router-pw', opensrf => 'opensrf-pw',
                  gateway => 'gateway-pw');
our $ADMIN = 'osrfws-test-admin';     # the tests' own, to inspect keys

sub new {
    my ($class, %opt) = @_;
    my $self = bless { dir => tempdir(), port => $opt{port} // free_port(),
                       maxclients => $opt{maxclients} // 10000 }, $class;
    OSRFWS::Util::stop_object_at_exit($self);
    $self->_write_conf;
    $self->start;
    return $self;
}

sub port { $_[0]{port} }
sub host { '127.0.0.1' }
sub pidfile { "$_[0]{dir}/redis.pid" }
sub pid { read_pidfile($_[0]->pidfile) }

sub _write_conf {
    my ($self) = @_;
    my $d = $self->{dir};
    open my $fh, '>', "$d/redis.conf" or die $!;
    print $fh <<"CONF";
bind 127.0.0.1
port $self->{port}
daemonize yes
pidfile $d/redis.pid
logfile $d/redis.log
dir $d
save ""
appendonly no
maxclients $self->{maxclients}
user default off
user router on >$PASSWORDS{router} ~opensrf:router:* ~opensrf:service:* ~opensrf:client:* -\@all +lpop +blpop +rpush +del
user opensrf on >$PASSWORDS{opensrf} ~opensrf:* -\@all +lpop +blpop +rpush +del
user gateway on >$PASSWORDS{gateway} ~opensrf:router:* ~opensrf:client:* -\@all +lpop +blpop +rpush +del
user $ADMIN on >admin-pw ~* &* +\@all
CONF
    close $fh;
}

sub start {
    my ($self) = @_;
    system('redis-server', "$self->{dir}/redis.conf") == 0 or die "redis-server failed";
    wait_until(sub { eval { $self->admin->ping } }, 10)
        or die "redis does not answer on $self->{port}";
    $self->{known_pid} = $self->pid;
    $self->{started} = 1;
}

# A connection logged in as $user (an OpenSRF account or the admin).
sub connect_as {
    my ($self, $user, $password) = @_;
    my $r = Redis->new(server => "127.0.0.1:$self->{port}", reconnect => 0,
                       cnx_timeout => 2, read_timeout => 60);
    $r->auth($user, $password // $PASSWORDS{$user});
    return $r;
}

sub admin { $_[0]->connect_as($ADMIN, 'admin-pw') }

# Keys matching $pattern (default: every OpenSRF key).
sub keys_matching {
    my ($self, $pattern) = @_;
    return sort $self->admin->keys($pattern // 'opensrf:*');
}

sub stop {
    my ($self) = @_;
    return unless $self->{started};
    $self->thaw;
    $self->{started} = 0;
    stop_by_pidfile($self->pidfile, 10, undef, $self->{known_pid});
}

# Stop and start again on the same port: every list is lost, as in a real
# restart without persistence.
sub restart { my ($self) = @_; $self->stop; $self->start }

sub freeze { my $p = $_[0]->pid; kill 'STOP', $p if $p }
sub thaw   { my $p = $_[0]->pid; kill 'CONT', $p if $p }

sub DESTROY { local $?; $_[0]->stop }

1;
