# The README's demo command: prints the endpoints once they answer, serves
# the page and the echo endpoint, and on SIGTERM stops everything it
# started.  (script/demo itself only adds the install and the build.)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use OSRFWS::Util qw(wait_until pid_alive srcdir);
use OSRFWS::WSClient;
use OSRFWS::OsrfClient;

my $pid = open(my $out, '-|') // die "fork: $!";
if ($pid == 0) {
    open STDERR, '>&', \*STDOUT;
    exec $^X, "-I$FindBin::Bin/lib", srcdir() . '/script/demo.pl' or exit 127;
}

my %line;
eval {
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm 60;
    while (!$line{'demo page (https)'}) {
        my $l = <$out> // last;
        $line{$1} = $2 if $l =~ /^([a-z ()]+): (\S+)$/;
    }
    alarm 0;
};
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

my ($port) = ($line{'echo endpoint'} // '') =~ /:(\d+)\//;
my $ws = $port && OSRFWS::WSClient->connect(port => $port);
ok $ws && $ws->status == 101, 'the echo endpoint answers';
$ws->send_text('demo') if $ws;
is $ws && ($ws->read_message // {})->{payload}, 'demo', 'and echoes';
my $osrf = OSRFWS::OsrfClient->new(port => $port);
is_deeply $osrf->call('opensrf.math', 'add', [20, 22])->{results}, [42],
    'the osrf endpoint answers opensrf.math add';
my ($redis_port) = ($line{redis} // '') =~ /:(\d+)$/;

kill 'TERM', $pid;
ok wait_until(sub { !pid_alive($pid) }, 20), 'the demo exits on SIGTERM';
close $out;
my $port_free = wait_until(sub {
    !IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 1)
}, 10);
ok $port_free, 'nothing listens on its port any more';
ok !IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $redis_port, Timeout => 1),
    'Redis is stopped too';
done_testing;
