#!/usr/bin/perl
# The demo's processes: Redis with OpenSRF's ACL accounts, the test OpenSRF
# router and services, the secondary Apache with the gateway (ws and wss),
# on free loopback ports (OSRF_WS_DEMO_PORT and OSRF_WS_DEMO_TLS_PORT to
# choose the gateway's).  Ctrl-C or SIGTERM stops them, by pid file.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use OSRFWS::Gateway;

$ENV{OSRFWS_SRCDIR} //= abs_path(dirname(__FILE__) . '/..');
$ENV{OSRFWS_BUILDDIR} //= "$ENV{OSRFWS_SRCDIR}/build/release";
$| = 1;

my $stop = 0;
$SIG{INT} = $SIG{TERM} = $SIG{HUP} = sub { $stop = 1 };

my $gw = OSRFWS::Gateway->new(apache => {
    tls => 1, log_level => 'info', docroot => "$ENV{OSRFWS_SRCDIR}/demo",
    (port => $ENV{OSRF_WS_DEMO_PORT}) x !!$ENV{OSRF_WS_DEMO_PORT},
    (tls_port => $ENV{OSRF_WS_DEMO_TLS_PORT}) x !!$ENV{OSRF_WS_DEMO_TLS_PORT} });
my $httpd = $gw->httpd;

print "redis: 127.0.0.1:", $gw->redis->port, "\n";
print "osrf endpoint: ", $httpd->url('/osrf-websocket-translator'), "\n";
print "osrf endpoint (wss): ", $httpd->tls_url('/osrf-websocket-translator'), "\n";
print "echo endpoint: ", $httpd->url('/echo'), "\n";
print "echo endpoint (wss): ", $httpd->tls_url('/echo'), "\n";
print "demo page: ", $httpd->http_url('/index.html'), "\n";
print "demo page (https): https://127.0.0.1:", $httpd->tls_port, "/index.html\n";
print "error log: ", $httpd->error_log_file, "\n";
print "Ctrl-C stops everything.\n";

sleep 1 until $stop;
print "stopping\n";
undef $httpd;
undef $gw;
