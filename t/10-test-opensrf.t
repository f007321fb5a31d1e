# SPDX-License-Identifier: GPL-2.0-or-later
# The test OpenSRF itself, straight on the bus: the router and services
# the gateway's tests rely on behave as docs/PROTOCOL.md (and OpenSRF) say.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use OSRFWS::Redis;
use OSRFWS::OpenSRF;
use OSRFWS::BusClient;

my $redis = OSRFWS::Redis->new;
my $osrf = OSRFWS::OpenSRF->new(redis => $redis, keepalive => 2);
my $c = OSRFWS::BusClient->new(redis => $redis);

is_deeply $c->request('opensrf.math', 'add', [2, 3])->{results}, [5], 'add';
is_deeply $c->request('opensrf.math', 'sub', [2, 3])->{results}, [-1], 'sub';
is_deeply $c->request('opensrf.math', 'mult', [2, 3])->{results}, [6], 'mult';
is_deeply $c->request('opensrf.math', 'div', [6, 3])->{results}, [2], 'div';
my $r = $c->request('opensrf.math', 'div', [1, 0]);
is $r->{status}, 500, 'div by zero: method exception 500';
is $r->{messages}[0]{__p}{payload}{__c}, 'osrfMethodException', 'as an osrfMethodException';
is_deeply $c->request('opensrf.math', 'opensrf.system.echo', ['a', 'b'])->{results},
    ['a', 'b'], 'echo: each param its own RESULT';
ok $c->request('opensrf.test', 'opensrf.system.time', [])->{results}[0] > 1e9, 'time';
is $c->request('opensrf.math', 'nosuch', [])->{status}, 404, 'unknown method: 404';

$r = $c->request('opensrf.nosuch', 'x', [], trace => 7);
is $r->{status}, 404, 'unknown service: 404';
my $p = $r->{messages}[0]{__p};
is $p->{payload}{__c}, 'osrfServiceException', 'as an osrfServiceException';
is $p->{threadTrace}, '1', 'threadTrace 1 whatever the request had';

is_deeply $c->request('opensrf.test', 'stream', [5])->{results}, [1 .. 5],
    'streaming: 5 results in order, then 205';
is length($c->request('opensrf.test', 'large', [1_200_000])->{results}[0]), 1_200_000,
    'large result over 1 MB';

my $t = 'session-' . rand();
is $c->connect_session('opensrf.test', $t)->{status}, 200, 'CONNECT answered 200';
my $w1 = $c->request('opensrf.test', 'whoami', [], thread => $t)->{results}[0];
$c->request('opensrf.test', 'session.set', ['k', 'v'], thread => $t);
is_deeply $c->request('opensrf.test', 'session.get', ['k'], thread => $t)->{results}, ['v'],
    'per-session state kept';
is $c->request('opensrf.test', 'whoami', [], thread => $t)->{results}[0], $w1,
    'stateful requests land on the same worker';
$c->disconnect_session('opensrf.test', $t);

my $t2 = 'session-' . rand();
$c->connect_session('opensrf.test', $t2);
my $r408 = $c->collect($t2, 6);
is $r408->{status}, 408, 'keepalive runs out: STATUS 408';

is $c->request('opensrf.private', 'opensrf.system.time', [])->{status}, 404,
    'private service unreachable through the public router';

my $g = $redis->connect_as('gateway');
eval { $g->rpush('opensrf:service:opensrf:localhost:opensrf.math', 'x') };
like $@, qr/NOPERM/, 'ACL: gateway cannot push to service queues';
eval { $g->keys('*') };
like $@, qr/NOPERM/, 'ACL: gateway cannot run other commands';

undef $c;
$osrf->stop;
is_deeply [ $redis->keys_matching('opensrf:client:*') ], [], 'no client keys left behind';
done_testing;
