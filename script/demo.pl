#!/usr/bin/perl
# The demo's processes, on free loopback ports (OSRF_WS_DEMO_PORT and
# OSRF_WS_DEMO_TLS_PORT to choose), stopped by pid file on Ctrl-C/SIGTERM.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use OSRFWS::Apache;

$ENV{OSRFWS_SRCDIR} //= abs_path(dirname(__FILE__) . '/..');
$ENV{OSRFWS_BUILDDIR} //= "$ENV{OSRFWS_SRCDIR}/build/release";
$| = 1;

my $stop = 0;
$SIG{INT} = $SIG{TERM} = $SIG{HUP} = sub { $stop = 1 };

my $httpd = OSRFWS::Apache->new(
    tls => 1, log_level => 'info', docroot => "$ENV{OSRFWS_SRCDIR}/demo",
    (port => $ENV{OSRF_WS_DEMO_PORT}) x !!$ENV{OSRF_WS_DEMO_PORT},
    (tls_port => $ENV{OSRF_WS_DEMO_TLS_PORT}) x !!$ENV{OSRF_WS_DEMO_TLS_PORT});

print "echo endpoint: ", $httpd->url('/echo'), "\n";
print "echo endpoint (wss): ", $httpd->tls_url('/echo'), "\n";
print "demo page: ", $httpd->http_url('/'), "\n";
print "error log: ", $httpd->error_log_file, "\n";
print "Ctrl-C stops everything.\n";

sleep 1 until $stop;
print "stopping\n";
$httpd->stop;
