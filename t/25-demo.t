# SPDX-License-Identifier: GPL-2.0-or-later
# The README's demo command (script/demo only adds the install and the
# build), run as a new user runs it: as root, from a checkout in a private
# directory (0700, as /root/x: Apache's children, www-data, cannot enter
# it).  It prints each endpoint once a round trip on it answered, and on
# SIGTERM stops everything it started and keeps its error log.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Cwd qw(abs_path);
use HTTP::Tiny;
use IO::Socket::INET;
use POSIX ();
use OSRFWS::Util qw(wait_until pid_alive srcdir builddir tempdir copy_source_tree stop_at_exit);
use OSRFWS::WSClient;
use OSRFWS::OsrfClient;

my $checkout = abs_path(srcdir());
if ($> == 0) {
    my $private = tempdir();
    chmod 0700, $private;
    $checkout = copy_source_tree("$private/checkout");
}
my $builddir = abs_path(builddir());

my $pid = open(my $out, '-|') // die "fork: $!";
if ($pid == 0) {
    open STDERR, '>&', \*STDOUT;
    @ENV{qw(OSRFWS_SRCDIR OSRFWS_BUILDDIR)} = ($checkout, $builddir);
    exec $^X, "-I$checkout/t/lib", "$checkout/script/demo.pl" or POSIX::_exit(127);
}
stop_at_exit($pid);

# Reads the demo's lines until $until matches one (or it ends, or $timeout).
my @seen;
sub lines_until {
    my ($until, $timeout) = @_;
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm $timeout;
        while (defined(my $l = <$out>)) {
            push @seen, $l;
            last if $l =~ $until;
        }
        alarm 0;
    };
    return { map { /^([a-z ()]+): (\S+)$/ ? ($1 => $2) : () } @seen };
}

my %line = %{ lines_until(qr/^Ctrl-C stops everything/, 60) };
ok grep(/^Ctrl-C stops everything/, @seen), 'the demo says it is up' or diag @seen;
like $line{'echo endpoint'}, qr{^ws://127\.0\.0\.1:\d+/echo$}, 'prints "echo endpoint: ws://127.0.0.1:PORT/echo"';
like $line{'echo endpoint (wss)'}, qr{^wss://127\.0\.0\.1:\d+/echo$}, 'prints the wss endpoint';
like $line{'demo page'}, qr{^http://127\.0\.0\.1:\d+/index\.html$}, 'prints the demo page address';
like $line{'demo page (https)'}, qr{^https://127\.0\.0\.1:\d+/index\.html$},
    'prints the demo page address over https (the page then uses wss)';
like $line{'osrf endpoint'}, qr{^ws://127\.0\.0\.1:\d+/osrf-websocket-translator$},
    'prints "osrf endpoint: ws://127.0.0.1:PORT/osrf-websocket-translator"';
like $line{'osrf endpoint (wss)'}, qr{^wss://127\.0\.0\.1:\d+/osrf-websocket-translator$},
    'prints the wss osrf endpoint';
like $line{'redis'}, qr{^127\.0\.0\.1:\d+$}, 'prints "redis: 127.0.0.1:PORT"';

# What it printed answers (it checked before printing; so does this test).
my ($port) = ($line{'echo endpoint'} // '') =~ /:(\d+)\//;
my $ws = $port && eval { OSRFWS::WSClient->connect(port => $port) };
ok $ws && $ws->status == 101, 'the echo endpoint answers';
$ws->send_text('demo') if $ws;
is $ws && ($ws->read_message // {})->{payload}, 'demo', 'and echoes';
my $osrf = $port && eval { OSRFWS::OsrfClient->new(port => $port) };
is_deeply $osrf && $osrf->call('opensrf.math', 'add', [20, 22])->{results}, [42],
    'the osrf endpoint answers opensrf.math add';
my $page = HTTP::Tiny->new(timeout => 10)->get($line{'demo page'} // 'http://127.0.0.1:1/');
ok $page->{success} && $page->{content} =~ /opensrf-client\.js/, 'the demo page is served'
    or diag "$page->{status} $page->{reason}";
my ($redis_port) = ($line{redis} // '') =~ /:(\d+)$/;

kill 'TERM', $pid;
ok wait_until(sub { !pid_alive($pid) }, 30), 'the demo exits on SIGTERM';
lines_until(qr/^error log kept in/, 5);
close $out;
my ($kept) = map { /^error log kept in (\S+)$/ ? $1 : () } @seen;
is $kept, "$checkout/build/demo/error.log", 'it says where its error log is kept';
ok $kept && -s $kept && `cat '$kept'` =~ /resuming normal operations/, 'the whole log, kept';
my $port_free = $port && wait_until(sub {
    !IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 1)
}, 10);
ok $port_free, 'nothing listens on its port any more';
ok $redis_port && !IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $redis_port, Timeout => 1),
    'Redis is stopped too';
done_testing;
