# Apache stopped while the bus listener is still sending replies: each
# child is killed by SIGTERM (prefork destroys its pools from the signal
# handler, the connection's memory with them) while its listener is in
# the middle of a send.  No child may crash, hang or outlive the parent.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Select;
use Time::HiRes qw(time);
use OSRFWS::Gateway;
use OSRFWS::OsrfClient;
use OSRFWS::Util qw(wait_until pid_alive);

my $gw = OSRFWS::Gateway->new;
my $httpd = $gw->httpd;
my $port = $httpd->port;

# A client streaming a large result that reads none of it: the listener
# keeps delivering the replies into its outbox.
my $reader_less = OSRFWS::OsrfClient->new(port => $port);
$reader_less->send_request('opensrf.test', OSRFWS::OsrfClient::new_thread(),
                           'stream', [20000]);
# Another with a request in flight, its listener blocked on the bus.
my $waiting = OSRFWS::OsrfClient->new(port => $port);
$waiting->send_request('opensrf.test', OSRFWS::OsrfClient::new_thread(), 'sleep', [30]);

# The first reply has come out: the listener is delivering.
my $sock = $reader_less->ws->{sock};
ok length($reader_less->ws->{buf}) || IO::Select->new($sock)->can_read(15),
   'the stream has started';

my $parent = $httpd->pid;
my @children = $httpd->children;
cmp_ok scalar(@children), '>=', 2, 'a child for each client';

my $t0 = time;
$httpd->stop;
my $took = time - $t0;
ok !pid_alive($parent), 'the parent has exited';
# prefork's parent SIGKILLs a child still there after 9 s
cmp_ok $took, '<', 8, 'in bounded time (no child waited out)';
ok wait_until(sub { !grep { pid_alive($_) } @children }, 5), 'no child is left'
    or diag "left: @{[ grep { pid_alive($_) } @children ]}";

my @log = split /\n/, $httpd->error_log;
is_deeply [ grep { /Segmentation fault|exit signal|AH00052/ } @log ], [],
          'no child crashed';
is_deeply [ grep { /still did not exit|AH0004[5-7]/ } @log ], [],
          'no child had to be signalled again';
is_deeply [ $httpd->log_problems ], [], 'no errors in the log';

done_testing;
