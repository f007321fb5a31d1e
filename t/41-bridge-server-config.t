# SPDX-License-Identifier: GPL-2.0-or-later
# The bridge's configuration as a server configuration: a virtual host's
# OSRFWebSocket* directives win over the server-wide ones (and it inherits
# the others), each connection taking its own server's; an environment
# value that is not a number in its range refuses the start (and
# apachectl -t) with OSRFWS02019; a threaded MPM refuses it with OSRFWS02020,
# whether the bridge is an Apache module or only a plugin of a host that
# loads it as mod_websocket does.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use OSRFWS::Gateway;
use OSRFWS::OsrfClient;
use OSRFWS::Util qw(free_port tempdir builddir srcdir);

my $vport = free_port();
# An empty variable is as good as none (envvars files leave some so).
my $gw = OSRFWS::Gateway->new(env => { OSRF_WEBSOCKET_MAX_REQUEST_WAIT_TIME => '' }, apache => {
    max_clients => 1, start_servers => 1, min_spare => 1, max_spare => 1,
    conf => "OSRFWebSocketMaxSessions 2\n"
          . "OSRFWebSocketIngress main-ingress\n"
          . "OSRFWebSocketMaxInFlight 2\n"
          . "Listen 127.0.0.1:$vport\n"
          . "<VirtualHost 127.0.0.1:$vport>\n"
          . "    OSRFWebSocketMaxSessions 1\n"
          . "    OSRFWebSocketIngress vhost-ingress\n"
          . "</VirtualHost>\n" });
my $port = $gw->httpd->port;
ok $gw, 'an empty OSRF_WEBSOCKET_MAX_REQUEST_WAIT_TIME: its default, the start goes on';

# CONNECTs until one is refused: how many stateful sessions were allowed.
sub sessions_allowed {
    my ($c) = @_;
    for my $n (1 .. 4) {
        my $t = OSRFWS::OsrfClient::new_thread();
        $c->send_msg('opensrf.test', $t, OSRFWS::OsrfClient::message('CONNECT', 0));
        my $status = $c->collect($t)->{status} // 'none';
        return $n - 1 if $status eq '503';
        return "STATUS $status" if $status ne '200';
    }
    return 'more than 3';
}

# A frame of three requests: refused whole past OSRFWebSocketMaxInFlight 2.
sub three_at_once {
    my ($c) = @_;
    my $t = OSRFWS::OsrfClient::new_thread();
    $c->send_msg('opensrf.math', $t, map {
        OSRFWS::OsrfClient::message('REQUEST', $_,
            { __c => 'osrfMethod', __p => { method => 'add', params => [$_, 1] } })
    } 1 .. 3);
    return $c->collect($t)->{status};
}

# One child serves them all, one after another: each connection takes its
# own server's settings, not the previous connection's.
for my $case ([ 'server-wide', $port, 2, 'main-ingress' ],
              [ 'virtual host', $vport, 1, 'vhost-ingress' ],
              [ 'server-wide again', $port, 2, 'main-ingress' ]) {
    my ($name, $p, $sessions, $ingress) = @$case;
    my $c = OSRFWS::OsrfClient->new(port => $p);
    is sessions_allowed($c), $sessions, "$name: OSRFWebSocketMaxSessions $sessions";
    is $c->call('opensrf.test', 'ingress', [])->{results}[0], $ingress,
        "$name: OSRFWebSocketIngress $ingress";
    is three_at_once($c), 503, "$name: OSRFWebSocketMaxInFlight 2 (the virtual host inherits it)";
    $c->ws->send_close(1000);
    $c->ws->read_close(5);
}
is_deeply [ $gw->httpd->log_problems ], [], 'no errors in the error log';

# The instance's own settings are refused inside a <VirtualHost>.
my $in_vhost = eval { OSRFWS::Apache->new(bridge => 1,
    conf => "<VirtualHost 127.0.0.1:$vport>\nOSRFWebSocketIdleCheckInterval 2\n</VirtualHost>\n",
    env => { OSRF_WEBSOCKET_CONFIG_FILE => $gw->{core_xml} }) };
ok !$in_vhost, 'OSRFWebSocketIdleCheckInterval in a <VirtualHost>: no start';
like $@, qr/OSRFWebSocketIdleCheckInterval cannot occur within <VirtualHost> section/,
    'the message names the directive';
undef $in_vhost;

# --- environment values --------------------------------------------------------
# atoi read "12O" as 12 and "0" or "x" as the default: each is refused now.
for my $var (qw(OSRF_WEBSOCKET_IDLE_TIMEOUT OSRF_WEBSOCKET_IDLE_CHECK_INTERVAL
                OSRF_WEBSOCKET_MAX_REQUEST_WAIT_TIME)) {
    for my $typo ('12O', '0', '-5', '5 ', '1000001') {
        my $httpd = eval { OSRFWS::Apache->new(bridge => 1, env => {
            OSRF_WEBSOCKET_CONFIG_FILE => $gw->{core_xml}, $var => $typo }) };
        ok !$httpd, "$var='$typo': Apache does not start";
        like $@, qr/OSRFWS02019: the environment variable \Q$var\E is \Q$typo\E, not a number from 1 to 1000000/,
            "$var='$typo': the message names the variable and the range";
        undef $httpd;
    }
}

my $t = OSRFWS::Apache->new(bridge => 1, configure_only => 1, env => {
    OSRF_WEBSOCKET_CONFIG_FILE => $gw->{core_xml}, OSRF_WEBSOCKET_IDLE_TIMEOUT => '2m' });
my ($ok, $out) = $t->config_test;
ok !$ok, 'apachectl -t fails on OSRF_WEBSOCKET_IDLE_TIMEOUT=2m';
like $out, qr/OSRFWS02019: the environment variable OSRF_WEBSOCKET_IDLE_TIMEOUT is 2m/,
    'and says why';

# --- a threaded MPM ------------------------------------------------------------
# A main configuration like $from with another MPM: prefork's directives
# dropped, and $extra after the modules.
sub with_mpm {
    my ($from, $mpm, $extra) = @_;
    open my $in, '<', $from or die "$from: $!";
    my $conf = do { local $/; <$in> };
    $conf =~ s{^LoadModule mpm_prefork_module .*$}
              {LoadModule mpm_${mpm}_module \${OSRF_WS_HTTPD_MODULES}/mod_mpm_$mpm.so}m
        or die "no prefork line in $from";
    $conf =~ s/^(?:MinSpareServers|MaxSpareServers)\b.*$//mg;
    $conf =~ s/^(Listen .*)$/$extra\n$1/m if $extra;
    my $file = tempdir() . "/httpd-$mpm.conf";
    open my $out, '>', $file or die $!;
    print $out $conf;
    close $out;
    return $file;
}

sub refused_under {
    my ($name, %opt) = @_;
    my $httpd = eval { OSRFWS::Apache->new(%opt) };
    ok !$httpd, "$name: Apache does not start";
    like $@, qr/OSRFWS02020: the OpenSRF bridge serves one connection per process, and the \w+ MPM loaded is threaded: load the prefork MPM instead/,
        "$name: the message tells to use prefork";
}

my $host = builddir() . '/t/hosts/.libs/mw_host.so';
my %host_env = (OSRFWS_MW_HOST => $host,
                OSRFWS_TEST_PLUGINS => builddir() . '/t/plugins/.libs',
                OSRF_WEBSOCKET_CONFIG_FILE => $gw->{core_xml});
my $mw_conf = srcdir() . '/t/hosts/mw_host.conf';
for my $mpm (qw(event worker)) {
    refused_under("the mod_websocket-style host, bridge a plugin only, mpm_$mpm",
                  httpd_conf => with_mpm($mw_conf, $mpm), env => \%host_env);
}
refused_under('the mod_websocket-style host, bridge loaded as a module, mpm_event',
              httpd_conf => with_mpm($mw_conf, 'event',
                  'LoadModule osrf_ws_bridge_module ${OSRF_WS_MODULES}/osrf_ws_bridge.so'),
              env => \%host_env);

# Under our module the module may refuse first: either way, no start.
my $ours = eval { OSRFWS::Apache->new(bridge => 1,
    httpd_conf => with_mpm(srcdir() . '/conf/httpd.conf', 'event'),
    env => { OSRF_WEBSOCKET_CONFIG_FILE => $gw->{core_xml} }) };
ok !$ours, 'mod_osrf_websocket with the bridge, mpm_event: Apache does not start';
like $@, qr/OSRFWS0\d{4}: .*prefork/, 'the message tells to use prefork';
done_testing;
