# SPDX-License-Identifier: GPL-2.0-or-later
# The ingress stamped on every message that reaches the bus: Evergreen keys
# its login and verify activity types on it (ws-translator-v1 and -v2), so
# the gateway stamps ws-translator-v2, as OpenSRF's own gateway does,
# unless OSRFWebSocketIngress says otherwise.  The test service answers
# with the ingress of the request it took off the bus.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use OSRFWS::Gateway;
use OSRFWS::OsrfClient;

# The ingress the service saw on a stateless call, and on a call in a
# stateful session (sent to the worker's own address, not the router).
sub ingress_seen {
    my ($port) = @_;
    my $c = OSRFWS::OsrfClient->new(port => $port);
    my $stateless = $c->call('opensrf.test', 'ingress', [])->{results}[0];
    my $t = OSRFWS::OsrfClient::new_thread();
    $c->send_msg('opensrf.test', $t, OSRFWS::OsrfClient::message('CONNECT', 0));
    $c->collect($t)->{status} == 200 or return ($stateless, 'no session');
    my $stateful = $c->call('opensrf.test', 'ingress', [], thread => $t)->{results}[0];
    $c->send_msg('opensrf.test', $t, OSRFWS::OsrfClient::message('DISCONNECT', 0));
    return ($stateless, $stateful);
}

my $gw = OSRFWS::Gateway->new;
is_deeply [ ingress_seen($gw->httpd->port) ], [ ('ws-translator-v2') x 2 ],
    'by default every message reaches the bus stamped ws-translator-v2';

my $c = OSRFWS::OsrfClient->new(port => $gw->httpd->port);
$c->ws->send_text('{"service":"opensrf.test","thread":"forged-1","osrf_msg":[{"__c":'
                . '"osrfMessage","__p":{"threadTrace":"1","type":"REQUEST","ingress":'
                . '"staff-client","payload":{"__c":"osrfMethod","__p":{"method":"ingress",'
                . '"params":[]}}}}]}');
is_deeply $c->collect('forged-1')->{results}, ['ws-translator-v2'],
    "a client's own ingress is replaced by the gateway's";
is_deeply [ $gw->httpd->log_problems ], [], 'no errors in the error log';
undef $gw;

$gw = OSRFWS::Gateway->new(apache => { conf => "OSRFWebSocketIngress ws-translator-v1\n" });
is_deeply [ ingress_seen($gw->httpd->port) ], [ ('ws-translator-v1') x 2 ],
    'OSRFWebSocketIngress ws-translator-v1: every message stamped so';
is_deeply [ $gw->httpd->log_problems ], [], 'no errors in the error log';
undef $gw;

# A value that could not go into the JSON as it is stops Apache's start.
# a failed start dies with what httpd said
my $bad = eval { OSRFWS::Apache->new(bridge => 1, conf => "OSRFWebSocketIngress ws\"v2\n") };
ok !$bad, 'Apache does not start with an ingress holding a quote';
like $@, qr/OSRFWebSocketIngress: ws"v2 is not 1 to 64 letters, digits or -_\.:\//,
    'the message names the directive and what it takes';
done_testing;
