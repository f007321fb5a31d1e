# SPDX-License-Identifier: GPL-2.0-or-later
# The readiness check behind HAProxy: two gateways, each on its own Redis,
# checked on the status handler's ?ready (200 only while the child
# answering reaches its bus).  Redis of gw2 stopped: gw2 leaves the
# rotation, new connections all go to gw1; Redis back: gw2 returns.
# Redis of gw2 frozen (SIGSTOP): the check times out, gw2 leaves; thawed:
# it returns.  Every wait is a bounded poll of HAProxy's stats.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use OSRFWS::Gateway;
use OSRFWS::Apache;
use OSRFWS::Redis;
use OSRFWS::HAProxy;
use OSRFWS::OsrfClient;
use OSRFWS::Util qw(wait_until http_get tempdir);

my $conf = { conf => $OSRFWS::HAProxy::STATUS_CONF };
my $gw = OSRFWS::Gateway->new(apache => $conf);
my $redis2 = OSRFWS::Redis->new;
my $core2 = tempdir() . '/opensrf_core.xml';
OSRFWS::Gateway::write_core_file($core2, $redis2);
my %gw = (gw1 => $gw->httpd,
          gw2 => OSRFWS::Apache->new(bridge => 1, %$conf,
                                     env => { OSRF_WEBSOCKET_CONFIG_FILE => $core2 }));
my $hap = OSRFWS::HAProxy->new(servers => [ map { $_ => $gw{$_}->port } sort keys %gw ]);

sub state_of { $hap->states->{ $_[0] } // '?' }
sub both_up { state_of('gw1') eq 'UP' && state_of('gw2') eq 'UP' }

my ($code, undef, $body) = http_get($gw{gw2}->port, $OSRFWS::HAProxy::CHECK);
is "$code $body", "200 ready\n", '?ready: 200 "ready" while the bus answers';
ok wait_until(\&both_up, 10), 'HAProxy: both gateways UP' or diag explain $hap->states;

# New connections through HAProxy: where each one lands, and whether its
# call (an echo through the router of gw1's bus) is answered.
sub spread {
    my ($n) = @_;
    my %where;
    for my $i (1 .. $n) {
        my $c = eval { OSRFWS::OsrfClient->new(port => $hap->port) };
        my $at = $c ? $c->ws->header('X-Gateway') // '?' : 'failed';
        $where{$at}++;
        $c->ws->send_close(1000) if $c;
    }
    return \%where;
}

$redis2->stop;
($code, undef, $body) = http_get($gw{gw2}->port, $OSRFWS::HAProxy::CHECK);
is $code, 503, '?ready: 503 once its Redis is stopped';
like $body, qr/^not ready: OSRFWS02001: cannot reach the bus at \S+: /, '... saying why';
ok wait_until(sub { state_of('gw2') =~ /DOWN/ }, 10), 'HAProxy takes gw2 out of the rotation'
    or diag explain $hap->states;
is state_of('gw1'), 'UP', 'gw1 stays UP';
is_deeply spread(6), { gw1 => 6 }, 'new connections all go to gw1';
my $c = OSRFWS::OsrfClient->new(port => $hap->port);
is(($c->call('opensrf.math', 'add', [2, 3])->{results}[0] // 'none'), 5, 'and are served');
$c->ws->send_close(1000);

$redis2->start;
ok wait_until(\&both_up, 10), 'Redis back: gw2 returns to the rotation'
    or diag explain $hap->states;
my $where = spread(6);
ok $where->{gw2}, "new connections reach gw2 again (gw1 $where->{gw1}, gw2 $where->{gw2})"
    or diag explain $where;

my $pid = $redis2->pid;
kill 'STOP', $pid;
ok wait_until(sub { state_of('gw2') =~ /DOWN/ }, 15), 'Redis of gw2 frozen: gw2 leaves the rotation'
    or diag explain $hap->states;
is state_of('gw1'), 'UP', 'gw1 stays UP';
kill 'CONT', $pid;
ok wait_until(\&both_up, 15), 'thawed: gw2 returns' or diag explain $hap->states;

# (a child that served the connections above loses its bus with Redis)
is_deeply [ grep { !/OSRFWS0200[1236]/ } map { $gw{$_}->log_problems } sort keys %gw ], [],
    'no errors in either error log but the bus outage';
done_testing;
END { kill 'CONT', $pid if $pid }
