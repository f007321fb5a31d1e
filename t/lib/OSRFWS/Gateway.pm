# SPDX-License-Identifier: GPL-2.0-or-later
package OSRFWS::Gateway;
# The whole gateway stack for end-to-end tests: Redis with OpenSRF's ACL
# accounts, the test OpenSRF, and the secondary Apache with the bridge,
# configured through opensrf_core.xml and OSRF_WEBSOCKET_* as sites do.
use strict;
use warnings;
use OSRFWS::Util qw(tempdir);
use OSRFWS::Redis;
use OSRFWS::OpenSRF;
use OSRFWS::Apache;

sub new {
    my ($class, %o) = @_;
    my $self = bless {}, $class;
    $self->{redis} = OSRFWS::Redis->new;
    $self->{osrf} = OSRFWS::OpenSRF->new(redis => $self->{redis}, %{ $o{osrf} // {} });
    my $dir = tempdir();
    $self->{core_xml} = "$dir/opensrf_core.xml";
    $self->{dir} = $dir;
    $self->write_core_xml($o{gateway_xml});
    $self->{httpd} = OSRFWS::Apache->new(
        bridge => 1, %{ $o{apache} // {} },
        env => { OSRF_WEBSOCKET_CONFIG_FILE => $self->{core_xml},
                 %{ $o{env} // {} } });
    return $self;
}

sub dir { $_[0]{dir} }

# (Re)writes opensrf_core.xml; $extra goes into <gateway> (logging, say).
sub write_core_xml {
    my ($self, $extra) = @_;
    write_core_file($self->{core_xml}, $self->{redis}, $extra);
}

# Writes an opensrf_core.xml for the gateway on $redis to $file (readable
# by www-data).
sub write_core_file {
    my ($file, $redis, $extra) = @_;
    open my $fh, '>', $file or die $!;
    print $fh <<"XML";
<?xml version="1.0"?>
<config>
  <gateway>
    <domain>$OSRFWS::OpenSRF::PUBLIC</domain>
    <port>@{[ $redis->port ]}</port>
    <username>gateway</username>
    <passwd>$OSRFWS::Redis::PASSWORDS{gateway}</passwd>
    <router_name>router</router_name>
@{[ $extra // '' ]}
  </gateway>
  <shared><log_protect><match_string>open-ils.auth</match_string></log_protect></shared>
</config>
XML
    close $fh;
    chmod 0644, $file;
    return $file;
}

sub redis { $_[0]{redis} }
sub core_xml { $_[0]{core_xml} }
sub osrf  { $_[0]{osrf} }
sub httpd { $_[0]{httpd} }
sub url   { $_[0]{httpd}->url('/osrf-websocket-translator') }

# Every process of the stack now: Redis, the test OpenSRF, Apache and its
# children (to check that none is left once the stack is gone).
sub pids {
    my ($self) = @_;
    return grep { $_ } ($self->redis->pid, $self->httpd->pid, $self->httpd->children,
                        map { $_->{pid} } @{ $self->osrf->{daemons} });
}

sub DESTROY {
    my ($self) = @_;
    local $?;
    delete $self->{httpd};
    delete $self->{osrf};
    delete $self->{redis};
}

1;
