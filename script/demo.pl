#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0-or-later
# The demo's processes: Redis with OpenSRF's ACL accounts, the test OpenSRF
# router and services, the secondary Apache with the gateway (ws and wss),
# on free loopback ports (OSRF_WS_DEMO_PORT and OSRF_WS_DEMO_TLS_PORT to
# choose the gateway's).  Each endpoint's line is printed once a round trip
# on it has answered.  Ctrl-C or SIGTERM stops them, by pid file; the error
# log is kept in build/demo/error.log.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Copy qw(copy);
use File::Path qw(make_path);
use HTTP::Tiny;
use OSRFWS::Gateway;
use OSRFWS::OsrfClient;
use OSRFWS::WSClient;

$ENV{OSRFWS_SRCDIR} //= abs_path(dirname(__FILE__) . '/..');
$ENV{OSRFWS_BUILDDIR} //= "$ENV{OSRFWS_SRCDIR}/build/release";
my $kept_log = "$ENV{OSRFWS_SRCDIR}/build/demo/error.log";
$| = 1;

my $stop = 0;
$SIG{INT} = $SIG{TERM} = $SIG{HUP} = sub { $stop = 1 };

my $gw = OSRFWS::Gateway->new(apache => {
    tls => 1, log_level => 'info', docroot => "$ENV{OSRFWS_SRCDIR}/demo",
    (port => $ENV{OSRF_WS_DEMO_PORT}) x !!$ENV{OSRF_WS_DEMO_PORT},
    (tls_port => $ENV{OSRF_WS_DEMO_TLS_PORT}) x !!$ENV{OSRF_WS_DEMO_TLS_PORT} });
my $httpd = $gw->httpd;
my $error_log = $httpd->error_log_file;

# The stack stops before the temporary directories go (this END block runs
# before File::Temp's), and its error log is kept for after.
END {
    local $?;
    undef $httpd;
    undef $gw;
    if ($error_log && -e $error_log) {
        make_path(dirname($kept_log));
        copy($error_log, $kept_log) and print "error log kept in $kept_log\n";
    }
}

# Round trips, each returning an error message or '' when it answered.
sub osrf_call {
    my ($tls) = @_;
    my $port = $tls ? $httpd->tls_port : $httpd->port;
    my $r = eval { OSRFWS::OsrfClient->new(port => $port, tls => $tls)
                       ->call('opensrf.math', 'add', [20, 22], timeout => 10) };
    return "handshake failed ($@)" unless $r;
    return '' if ($r->{results}[0] // '') eq '42';
    return "opensrf.math add 20 22 answered status $r->{status}, not 42";
}

sub echo {
    my ($tls) = @_;
    my $ws = eval { OSRFWS::WSClient->connect(port => $tls ? $httpd->tls_port : $httpd->port,
                                              tls => $tls, path => '/echo') };
    return "cannot connect ($@)" unless $ws;
    return 'handshake answered HTTP ' . $ws->status unless $ws->status == 101;
    $ws->send_text('demo');
    my $m = $ws->read_message(10) // {};
    $ws->send_close(1000);
    return ($m->{payload} // '') eq 'demo' ? '' : 'no echo';
}

# The page, and the client module it imports.
sub page {
    my ($url) = @_;
    my $http = HTTP::Tiny->new(timeout => 10, verify_SSL => 0);
    my $r = $http->get($url);
    return "GET $url answered $r->{status} $r->{reason}" unless $r->{success};
    (my $js = $url) =~ s{/index\.html$}{/js/opensrf-client.js};
    $r = $http->get($js);
    return "GET $js answered $r->{status} $r->{reason}" unless $r->{success};
    return ($r->{headers}{'content-type'} // '') =~ /javascript/ ? ''
         : "$js is not served as JavaScript";
}

my $https = 'https://127.0.0.1:' . $httpd->tls_port . '/index.html';
my @endpoints = (
    [ 'osrf endpoint',       $httpd->url('/osrf-websocket-translator'),     sub { osrf_call(0) } ],
    [ 'osrf endpoint (wss)', $httpd->tls_url('/osrf-websocket-translator'), sub { osrf_call(1) } ],
    [ 'echo endpoint',       $httpd->url('/echo'),                          sub { echo(0) } ],
    [ 'echo endpoint (wss)', $httpd->tls_url('/echo'),                      sub { echo(1) } ],
    [ 'demo page',           $httpd->http_url('/index.html'),               sub { page($_[0]) } ],
    [ 'demo page (https)',   $https,                                        sub { page($_[0]) } ],
);

print "redis: 127.0.0.1:", $gw->redis->port, "\n";
print "error log: $error_log (kept in $kept_log after the demo stops)\n";
for my $e (@endpoints) {
    my ($name, $url, $check) = @$e;
    if (my $err = $check->($url)) {
        my @log = split /\n/, $httpd->error_log;
        splice @log, 0, -20 if @log > 20;
        print STDERR "demo: $name $url does not answer: $err\n",
                     "demo: the end of the error log:\n", map { "  $_\n" } @log;
        exit 1;
    }
    print "$name: $url\n";
}
print "Ctrl-C stops everything.\n";

sleep 1 until $stop;
print "stopping\n";
