# SPDX-License-Identifier: GPL-2.0-or-later
# Logging the OpenSRF way: opensrf_core.xml's <gateway> sends the bridge's
# activity and error lines to a file, then (after a graceful restart with
# a changed file) to syslog; OpenSRF's line shape, log_xid on every line
# about a request, loglevel obeyed, no password, no raw control character.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Select;
use IO::Socket::UNIX;
use Socket qw(SOCK_DGRAM);
use JSON::XS;
use Time::HiRes qw(time);
use OSRFWS::Gateway;
use OSRFWS::OsrfClient;
use OSRFWS::Util qw(wait_until tempdir);

my $dir = tempdir();
my $logfile = "$dir/gateway.log";
my $sockpath = "$dir/syslog.sock";
my $syslog = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $sockpath)
    or die "syslog listener: $!";
chmod 0666, $sockpath;      # the children may run as www-data

my $gw = OSRFWS::Gateway->new(
    gateway_xml => "<logfile>$logfile</logfile><loglevel>4</loglevel><logtag>t51</logtag>",
    env => { OSRF_WEBSOCKET_SYSLOG_SOCKET => $sockpath });
my $port = $gw->httpd->port;
my $json = JSON::XS->new->canonical;

sub request_frame {
    my ($service, $thread, $xid, $method, @params) = @_;
    return $json->encode({ service => $service, thread => $thread, log_xid => $xid,
        osrf_msg => [ OSRFWS::OsrfClient::message('REQUEST', 1,
            { __c => 'osrfMethod', __p => { method => $method, params => \@params } }) ] });
}

sub slurp { my ($f) = @_; open my $fh, '<', $f or return ''; local $/; <$fh> // '' }

my $c = OSRFWS::OsrfClient->new(port => $port);
$c->ws->send_text(request_frame('opensrf.math', 't51-a', 't51-xid-1', 'add', 1, 2));
my $r = $c->collect('t51-a');
is_deeply $r->{results}, [3], 'a call with the client\'s log_xid';
like $r->{frames}[0], qr/"log_xid":"t51-xid-1"/, 'the reply carries the same xid back from the bus';
$c->ws->send_text(request_frame('open-ils.auth', 't51-b', 't51-xid-2',
                                'open-ils.auth.authenticate.complete',
                                { username => 'admin', password => 'S3cret-Pa55' }));
$c->collect('t51-b');
$c->ws->send_text('{"thread":"t51-c","service":"opensrf.math","log_xid":"t51-xid-3",'
    . '"osrf_msg":[{"__c":"osrfMessage","__p":{"type":"RESULT","threadTrace":"1"}}]}');
is $c->collect('t51-c')->{status}, 400, 'a RESULT from the client: 400';
$c->ws->send_text(request_frame('opensrf.math', "t51-d", 't51-xid-4', 'opensrf.system.echo',
                                "bell\x07 newline\n escape\e"));
$c->collect('t51-d');

my $head = qr/^gateway\/t51 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[(ACT|INFO|DEBG|ERR |WARN|INT ):(\d+):osrf_ws_bridge\.c:\d+:([^\]]*)\] /;
ok wait_until(sub { slurp($logfile) =~ /t51-xid-4.*02015/ }, 5), 'the log file is written';
my @lines = split /\n/, slurp($logfile);
my @bad = grep { $_ !~ $head } @lines;
is_deeply \@bad, [], 'every line has OpenSRF\'s shape: APPNAME DATE [LABEL:PID:FILE:LINE:XID] MSG';
like slurp($logfile), qr/^gateway\/t51 [^\n]* \[ACT:\d+:osrf_ws_bridge\.c:\d+:t51-xid-1\] OSRFWS02010: \[127\.0\.0\.1\] \[\] opensrf\.math add \[1,2\]$/m,
    'the activity line, with the client\'s xid';
like slurp($logfile), qr/\[DEBG:\d+:[^\]]*:t51-xid-1\] OSRFWS02015: thread t51-a: 1 request\(s\) ended/,
    'the reply that ended it, with the same xid (loglevel 4)';
like slurp($logfile), qr/\[INFO:\d+:[^\]]*:t51-xid-3\] OSRFWS02009: thread t51-c: /,
    'a refused message, with its xid';
like slurp($logfile), qr/\[ACT:[^\]]*:t51-xid-2\] OSRFWS02010: \[127\.0\.0\.1\] \[\] open-ils\.auth open-ils\.auth\.authenticate\.complete \*\*PARAMS REDACTED\*\*$/m,
    'log_protect: params of open-ils.auth redacted';
my @about = grep { /OSRFWS020(?:08|09|10|14|15|16)/ } @lines;
is scalar(grep { ($_ =~ $head)[2] eq '' } @about), 0, 'every line about a request has its xid';
unlike slurp($logfile), qr/S3cret-Pa55|$OSRFWS::Redis::PASSWORDS{gateway}/, 'no password in the log file';
unlike slurp($logfile), qr/[\x00-\x09\x0b-\x1f\x7f]/, 'no raw control character in it';
unlike $gw->httpd->error_log, qr/OSRFWS02010/, 'activity no longer in Apache\'s error log';
my %pids = map { ($_ =~ $head)[1] => 1 } @lines;
ok scalar(keys %pids) >= 1, 'lines carry the child\'s pid';

# Switch to syslog with a graceful restart: local6 for the log, local1 for
# activity, loglevel 3 (no DEBG).
$gw->write_core_xml('<logfile>syslog</logfile><syslog>local6</syslog><actlog>local1</actlog>'
                    . '<loglevel>3</loglevel>');
$c->ws->send_close(1000);
undef $c;
ok $gw->httpd->graceful_and_wait, 'graceful restart done';
my @dg;
ok wait_until(sub {
    my $n = eval { OSRFWS::OsrfClient->new(port => $port) } or return;
    $n->ws->send_text(request_frame('opensrf.math', 't51-e', 't51-xid-5', 'add', 2, 2));
    $n->collect('t51-e', 3);
    $n->ws->send_text('{"thread":"t51-f","service":"opensrf.math","log_xid":"t51-xid-6",'
        . '"osrf_msg":[{"__c":"osrfMessage","__p":{"type":"RESULT","threadTrace":"1"}}]}');
    $n->collect('t51-f', 3);
    $n->ws->send_close(1000);
    while (IO::Select->new($syslog)->can_read(0.5)) {
        $syslog->recv(my $d, 65536);
        push @dg, $d;
    }
    return grep { /t51-xid-6/ } @dg;
}, 20), 'after the graceful restart, lines go to syslog';
my @xid5 = grep { /t51-xid-5/ } @dg;
like $xid5[0] // '', qr/^<142>\w{3} [ \d]\d \d\d:\d\d:\d\d gateway: \[ACT:\d+:osrf_ws_bridge\.c:\d+:t51-xid-5\] OSRFWS02010: \[127\.0\.0\.1\] \[\] opensrf\.math add \[2,2\]$/,
    'activity: facility local1, severity info (<142>), OpenSRF\'s shape';
ok((grep { /^<182>[^\n]*\[INFO:\d+:[^\]]*:t51-xid-6\] OSRFWS02009/ } @dg),
   'a refused message: local6, info (<182>), with its xid');
ok !(grep { /\[DEBG:/ } @dg), 'loglevel 3: no debug lines';
unlike slurp($logfile), qr/t51-xid-[56]/, 'nothing more in the old log file';
is_deeply [ $gw->httpd->log_problems ], [], 'no errors in Apache\'s error log';
unlink $sockpath;
done_testing;
