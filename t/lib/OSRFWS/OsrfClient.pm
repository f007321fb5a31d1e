# SPDX-License-Identifier: GPL-2.0-or-later
package OSRFWS::OsrfClient;
# An OpenSRF WebSocket client for tests, building frames exactly as
# opensrf.js does (service and thread on every frame, class hints).
use strict;
use warnings;
use JSON::XS;
use Time::HiRes qw(time);
use OSRFWS::WSClient;

my $json = JSON::XS->new->utf8->canonical;

sub new {
    my ($class, %o) = @_;
    my $ws = OSRFWS::WSClient->connect(port => $o{port}, tls => $o{tls},
                                       local_addr => $o{local_addr},
                                       rcvbuf => $o{rcvbuf},
                                       headers => $o{headers},
                                       path => '/osrf-websocket-translator');
    die "handshake: " . $ws->status unless $ws->status == 101;
    return bless { ws => $ws, trace => 0 }, $class;
}

sub ws { $_[0]{ws} }

sub new_thread { sprintf '0.%016d%d', int(rand 1e16), int(time * 1000) }

sub message {
    my ($type, $trace, $payload) = @_;
    return { __c => 'osrfMessage', __p => { threadTrace => "$trace", type => $type,
             locale => 'en-US', tz => 'America/New_York', api_level => 1,
             ($payload ? (payload => $payload) : ()) } };
}

sub send_msg {
    my ($self, $service, $thread, @msgs) = @_;
    $self->{ws}->send_text($json->encode({ service => $service, thread => $thread,
                                           osrf_msg => \@msgs }));
}

sub send_request {
    my ($self, $service, $thread, $method, $params) = @_;
    my $trace = ++$self->{trace};
    $self->send_msg($service, $thread, message('REQUEST', $trace,
        { __c => 'osrfMethod', __p => { method => $method, params => $params } }));
    return $trace;
}

# Reads frames until the thread's request ends (STATUS >= 205 or 200);
# returns { results, status, frames }.
sub collect {
    my ($self, $thread, $timeout) = @_;
    my $deadline = time + ($timeout // 10);
    my %r = (results => [], frames => []);
    while (time < $deadline) {
        my $m = $self->{ws}->read_message($deadline - time) or last;
        return { %r, closed => 1 } if $m->{opcode} == 8;
        push @{ $r{frames} }, $m->{payload};
        my $f = eval { $json->decode($m->{payload}) } or next;
        next unless ($f->{thread} // '') eq $thread;
        for my $msg (@{ $f->{osrf_msg} }) {
            my $p = $msg->{__p};
            if ($p->{type} eq 'RESULT') {
                push @{ $r{results} }, $p->{payload}{__p}{content};
            } elsif ($p->{type} eq 'STATUS') {
                $r{status} = $p->{payload}{__p}{statusCode} + 0;
                $r{class} = $p->{payload}{__c};
                return \%r if $r{status} >= 205 || $r{status} == 200;
            }
        }
    }
    $r{status} //= 'timeout';
    return \%r;
}

# collect for several threads of this connection at once (collect alone
# drops other threads' frames): { thread => { results, status } }.
sub collect_many {
    my ($self, $threads, $timeout) = @_;
    my $deadline = time + ($timeout // 10);
    my %r = map { $_ => { results => [] } } @$threads;
    my $open = @$threads;
    while ($open > 0 && time < $deadline) {
        my $m = $self->{ws}->read_message($deadline - time) or last;
        last if $m->{opcode} == 8;
        my $f = eval { $json->decode($m->{payload}) } or next;
        my $r = $r{ $f->{thread} // '' } or next;
        for my $msg (@{ $f->{osrf_msg} }) {
            my $p = $msg->{__p};
            next if defined $r->{status};
            if ($p->{type} eq 'RESULT') {
                push @{ $r->{results} }, $p->{payload}{__p}{content};
            } elsif ($p->{type} eq 'STATUS') {
                my $code = $p->{payload}{__p}{statusCode} + 0;
                ($r->{status} = $code, $open--) if $code >= 205 || $code == 200;
            }
        }
    }
    $_->{status} //= 'timeout' for values %r;
    return \%r;
}

# Opens $n connections to $port, sends one request on each before reading
# any answer; true if every one gets its own answer.  Returns the clients
# too, still open.
sub all_answer_at_once {
    my ($port, $n) = @_;
    my @c = map { OSRFWS::OsrfClient->new(port => $port) } 1 .. $n;
    my @t = map { new_thread() } @c;
    $c[$_]->send_request('opensrf.math', $t[$_], 'mult', [$_, 2]) for 0 .. $#c;
    my $all = 1;
    $all &&= (($c[$_]->collect($t[$_])->{results}[0] // -1) == $_ * 2) for 0 .. $#c;
    return ($all, @c);
}

sub call {
    my ($self, $service, $method, $params, %o) = @_;
    my $thread = $o{thread} // new_thread();
    $self->send_request($service, $thread, $method, $params);
    return $self->collect($thread, $o{timeout});
}

1;
