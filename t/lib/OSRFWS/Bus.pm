# SPDX-License-Identifier: GPL-2.0-or-later
package OSRFWS::Bus;
# The OpenSRF Redis bus as the test router, services and clients use it:
# log in as an ACL account, push to an address, pop from one or more.
use strict;
use warnings;
use Redis;
use Sys::Hostname ();

sub connect {
    my ($class, %o) = @_;
    my $r = Redis->new(server => "$o{host}:$o{port}", reconnect => 0,
                       cnx_timeout => 2, read_timeout => 0);
    $r->auth($o{user}, $o{password});
    return bless { r => $r, %o }, $class;
}

# opensrf:client:USER:DOMAIN:HOST:PID:RANDOM
sub new_address {
    my ($self, $domain) = @_;
    (my $host = Sys::Hostname::hostname()) =~ s/:/_/g;
    return join ':', 'opensrf:client', $self->{user}, $domain // $self->{domain} // 'localhost',
        $host, $$, sprintf('%08x', int rand 0xffffffff);
}

sub push { my ($self, $to, $raw) = @_; $self->{r}->rpush($to, $raw) }

# BLPOP over @$keys for up to $timeout seconds: (key, value) or ().
sub pop {
    my ($self, $keys, $timeout) = @_;
    my @got = $self->{r}->blpop(@$keys, $timeout);
    return @got ? @got : ();
}

sub del { my ($self, $key) = @_; $self->{r}->del($key) }

# For the daemons: pid file, log file, and a line-buffered log.
sub daemon_setup {
    my ($o) = @_;
    if ($o->{logfile}) {
        open STDOUT, '>>', $o->{logfile} or die $!;
        open STDERR, '>&', \*STDOUT or die $!;
    }
    $| = 1;
    if ($o->{pidfile}) {
        open my $fh, '>', $o->{pidfile} or die $!;
        print $fh "$$\n";
        close $fh;
    }
}

sub log_line { print scalar(localtime), " [$$] @_\n" }

1;
