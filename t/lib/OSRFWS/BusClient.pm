# SPDX-License-Identifier: GPL-2.0-or-later
package OSRFWS::BusClient;
# An OpenSRF client straight on the Redis bus, without a gateway: what the
# gateway does for a browser, done by hand.  Tests use it to check the
# test OpenSRF, and as the latency floor.
use strict;
use warnings;
use JSON::XS;
use Time::HiRes qw(time);
use OSRFWS::Bus;

my $json = JSON::XS->new->utf8->allow_nonref;

sub new {
    my ($class, %o) = @_;
    my $user = $o{user} // 'gateway';
    my $bus = OSRFWS::Bus->connect(host => $o{redis}->host, port => $o{redis}->port,
                                   user => $user,
                                   password => $OSRFWS::Redis::PASSWORDS{$user},
                                   domain => $o{domain} // 'localhost');
    my $self = bless { bus => $bus, domain => $o{domain} // 'localhost',
                       router => $o{router} // 'router', workers => {} }, $class;
    $self->{addr} = $bus->new_address;
    return $self;
}

sub address { $_[0]{addr} }

sub _send {
    my ($self, $service, $thread, @msgs) = @_;
    my $worker = $self->{workers}{$thread};
    my $msg = { to => $worker // "opensrf:service:_:_:$service", from => $self->{addr},
                thread => $thread, osrf_xid => 'busclient', body => \@msgs };
    $self->{bus}->push($worker // "opensrf:router:$self->{router}:$self->{domain}",
                       $json->encode($msg));
}

sub osrf_message {
    my ($type, $trace, $payload) = @_;
    return { __c => 'osrfMessage', __p => { threadTrace => "$trace", type => $type,
             locale => 'en-US', ($payload ? (payload => $payload) : ()) } };
}

# Sends a REQUEST and collects replies until STATUS >= 205 or an error.
# Returns { results => [...], status => code, messages => [...] }.
sub request {
    my ($self, $service, $method, $params, %o) = @_;
    my $thread = $o{thread} // ('busclient-' . rand());
    $self->_send($service, $thread, osrf_message('REQUEST', $o{trace} // 1,
        { __c => 'osrfMethod', __p => { method => $method, params => $params } }));
    return $self->collect($thread, $o{timeout} // 10);
}

sub collect {
    my ($self, $thread, $timeout) = @_;
    my $deadline = time + $timeout;
    my %r = (results => [], messages => []);
    while (time < $deadline) {
        my ($k, $raw) = $self->{bus}->pop([$self->{addr}], 1);
        next unless defined $raw;
        my $msg = $json->decode($raw);
        next unless ($msg->{thread} // '') eq $thread;
        my $body = ref $msg->{body} ? $msg->{body} : $json->decode($msg->{body});
        for my $m (@$body) {
            push @{ $r{messages} }, $m;
            my $p = $m->{__p};
            if ($p->{type} eq 'RESULT') {
                push @{ $r{results} }, $p->{payload}{__p}{content};
            } elsif ($p->{type} eq 'STATUS') {
                my $code = $p->{payload}{__p}{statusCode};
                if ($code == 200) {                 # CONNECT answered
                    $self->{workers}{$thread} = $msg->{from};
                    $r{status} = 200;
                    return \%r;
                }
                delete $self->{workers}{$thread} if $code == 408;
                $r{status} = $code + 0;
                return \%r if $code >= 205;
            }
        }
    }
    $r{status} //= 'timeout';
    return \%r;
}

sub connect_session {
    my ($self, $service, $thread) = @_;
    $self->_send($service, $thread, osrf_message('CONNECT', 0));
    return $self->collect($thread, 10);
}

sub disconnect_session {
    my ($self, $service, $thread) = @_;
    $self->_send($service, $thread, osrf_message('DISCONNECT', 0));
    delete $self->{workers}{$thread};
}

sub DESTROY { my $s = shift; eval { $s->{bus}->del($s->{addr}) } }

1;
