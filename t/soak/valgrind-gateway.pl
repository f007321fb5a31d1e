#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0-or-later
# make valgrind-gateway: the gateway as one Apache process (apache2 -X)
# under valgrind's memcheck, with the bridge, the real Redis and the test
# OpenSRF; a few calls of each kind go through it, then Apache stops and
# memcheck's summary is checked: no invalid access anywhere, no leak whose
# stack passes through our code (the module, the bridge, the codec, the
# OpenSRF core).  Not part of make check: it takes a minute or two.
# Usage: valgrind-gateway.pl [--log FILE]
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Getopt::Long;
use POSIX ();
use Time::HiRes qw(time);
use OSRFWS::Apache;
use OSRFWS::Gateway;
use OSRFWS::OsrfClient;
use OSRFWS::Util qw(tempdir free_port wait_for_port wait_until pid_alive srcdir);

my %o = (log => 'valgrind-gateway.log');
GetOptions(\%o, 'log=s') or die "bad options\n";
$| = 1;

# Redis, the test OpenSRF and opensrf_core.xml from the usual stack; its
# own Apache is stopped and replaced by the one under valgrind.
my $gw = OSRFWS::Gateway->new(env => { OSRF_WEBSOCKET_IDLE_CHECK_INTERVAL => 1 });
$gw->httpd->stop;
my $httpd = bless { opt => { bridge => 1, log_level => 'info',
                             env => { OSRF_WEBSOCKET_CONFIG_FILE => $gw->{core_xml},
                                      OSRF_WEBSOCKET_IDLE_CHECK_INTERVAL => 1,
                                      OSRF_WEBSOCKET_IDLE_TIMEOUT => 3 } },
                    dir => tempdir(), port => free_port() }, 'OSRFWS::Apache';
mkdir "$httpd->{dir}/$_" for qw(logs conf.d);
chmod 0755, "$httpd->{dir}/logs";
$httpd->set_conf('');
my $pid = fork // die "fork: $!";
if (!$pid) {
    %ENV = (%ENV, $httpd->env);
    exec 'valgrind', '--tool=memcheck', '--leak-check=full', '--show-leak-kinds=definite,indirect',
         '--track-origins=yes', '--num-callers=30', "--log-file=$o{log}",
         $ENV{OSRFWS_HTTPD} || '/usr/sbin/apache2', '-X', '-f', srcdir() . '/conf/httpd.conf',
         '-D', 'OSRF_BRIDGE' or POSIX::_exit(127);
}
wait_for_port($httpd->port, 120) or die "apache under valgrind does not answer\n";
print "apache -X under valgrind (pid $pid) on port ", $httpd->port, "\n";

my %tally;
sub check { my ($what, $ok) = @_; $tally{$ok ? 'ok' : 'failed'}++; print(($ok ? 'ok' : 'FAILED'), " - $what\n") }
for my $round (1 .. 3) {
    my $c = OSRFWS::OsrfClient->new(port => $httpd->port);
    check("add ($round)", ($c->call('opensrf.math', 'add', [2, 3], timeout => 30)->{results}[0] // 0) == 5);
    check("stream ($round)", @{ $c->call('opensrf.test', 'stream', [50], timeout => 30)->{results} } == 50);
    check("large ($round)", length($c->call('opensrf.test', 'large', [300_000], timeout => 60)->{results}[0] // '') == 300_000);
    my $t = OSRFWS::OsrfClient::new_thread();
    $c->send_msg('opensrf.test', $t, OSRFWS::OsrfClient::message('CONNECT', 0));
    check("stateful CONNECT ($round)", ($c->collect($t, 30)->{status} // 0) eq 200);
    $c->call('opensrf.test', 'session.set', ['k', "v$round"], thread => $t, timeout => 30);
    check("stateful get ($round)", ($c->call('opensrf.test', 'session.get', ['k'], thread => $t, timeout => 30)->{results}[0] // '') eq "v$round");
    $c->send_msg('opensrf.test', $t, OSRFWS::OsrfClient::message('DISCONNECT', 0));
    check("unknown service 404 ($round)", ($c->call('opensrf.nosuch', 'x', [], timeout => 30)->{status} // 0) eq 404);
    $t = OSRFWS::OsrfClient::new_thread();
    $c->ws->send_text(qq({"thread":"$t","service":"opensrf:bad","osrf_msg":[]}));
    check("bad service 400 ($round)", ($c->collect($t, 30)->{status} // 0) eq 400);
    if ($round == 1) {
        $c->ws->send_text('not json');
        check('not JSON: close 1007', ($c->ws->read_close(30) // 0) == 1007);
    } elsif ($round == 2) {
        check('idle close', defined $c->ws->read_close(90));
    } else {
        $c->send_request('opensrf.test', OSRFWS::OsrfClient::new_thread(), 'stream', [500]);
        close $c->ws->{sock};      # vanishes with replies streaming
        # apache -X serves one connection at a time: a request answered
        # means the vanished one has been ended and cleaned up
        check('the vanished connection ended', (OSRFWS::Util::http_get($httpd->port, '/', timeout => 60))[0] > 0);
    }
}
kill 'TERM', $pid;
waitpid($pid, 0);
open my $fh, '<', $o{log} or die "$o{log}: $!";
my $log = do { local $/; <$fh> };
my ($errors) = $log =~ /ERROR SUMMARY: (\d+) errors/;
my ($definite) = $log =~ /definitely lost: ([\d,]+) bytes/;
my ($indirect) = $log =~ /indirectly lost: ([\d,]+) bytes/;
my @blocks = split /\n(?===\d+== \n)/, $log;
my @ours = grep { /(?:lost|Invalid|uninitialised|Conditional jump)/
                  && /mod_osrf_websocket|osrf_ws_bridge|osrf_(?:translate|json|config)\.c|ws_[a-z]+\.c/ } @blocks;
my @invalid = grep { /Invalid (?:read|write|free)|uninitialised|Conditional jump/ } @blocks;
print "\ncalls: ", $tally{ok} // 0, " ok, ", $tally{failed} // 0, " failed\n";
print "memcheck: ERROR SUMMARY $errors errors; definitely lost ", $definite // 0,
      " bytes, indirectly lost ", $indirect // 0, " bytes\n";
print "reports involving our code: ", scalar(@ours), "; invalid accesses or uninitialised use: ",
      scalar(@invalid), "\n";
print "$_\n" for @ours[0 .. ($#ours < 4 ? $#ours : 4)];
print "full log: $o{log}\n";
exit((!$tally{failed} && !@ours && !@invalid) ? 0 : 1);
