# SPDX-License-Identifier: GPL-2.0-or-later
# A plugin written to mod_websocket's interface, as its example plugins
# are (t/plugins/ws_counter_plugin.c: it refuses any server version but 1
# or a smaller server struct, and sends from a thread of its own), served
# by our module in both directive forms, and by the test host that loads
# plugins as mod_websocket does (t/hosts/mod_mw_host.c, an Apache without
# our module): it must see exactly what mod_websocket hands it.
use strict;
use warnings;
use Config;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use OSRFWS::Apache;
use OSRFWS::WSClient;
use OSRFWS::Util qw(builddir srcdir);

my $plugins = builddir() . '/t/plugins/.libs';
my $host = builddir() . '/t/hosts/.libs/mw_host.so';
die "test plugins and host not built: script/build (or make tests-built) builds it\n"
    unless -f "$plugins/ws_counter.so" && -f $host;

# mod_websocket's WebSocketServer: two unsigned ints, the state pointer
# and eight function pointers.
my $server_size = 8 + 9 * $Config{ptrsize};

sub counter_works {
    my ($port, $path, $where) = @_;
    my $ws = OSRFWS::WSClient->connect(port => $port, path => $path,
        headers => { 'Sec-WebSocket-Protocol' => 'chat, counter-protocol' });
    is $ws->status, 101, "$where: the plugin accepts the connection";
    is $ws->header('Sec-WebSocket-Protocol'), 'counter-protocol',
        "$where: the subprotocol the plugin chose";
    my $hello = $ws->read_message(5);
    is $hello && $hello->{payload}, "hello version=1 size=$server_size",
        "$where: server version 1 and mod_websocket's struct size, as its examples check";
    my @counts = map { my $m = $ws->read_message(5); $m ? $m->{payload} : 'none' } 1 .. 5;
    is_deeply \@counts, [0 .. 4], "$where: the plugin's own thread sends 0, 1, 2...";
    $ws->send_text('reset');
    my ($seen, $m) = (0);
    for (1 .. 2000) {
        $m = $ws->read_message(5) or last;
        $seen = 1, last if $m->{payload} eq '0';
    }
    ok $seen, "$where: a client message reaches on_message (the count starts again)";
    $ws->send_text('close');
    is $ws->read_close(5), 4000, "$where: a close message sent by the plugin closes with its code";
    is $ws->close_reason, 'bye', "$where: and its reason";
    $ws->send_close(4000);
    ok $ws->wait_eof(5), "$where: the connection ends while the plugin's thread sends";
    $ws->close;

    my $refused = OSRFWS::WSClient->connect(port => $port, path => $path);
    isnt $refused->status, 101, "$where: without the subprotocol, on_connect refuses";
    $refused->close;
}

my $ours = OSRFWS::Apache->new(
    conf => "WebSocketHandler /counter $plugins/ws_counter.so counter_init\n"
          . "<Location /counter>\n  Require all granted\n</Location>\n"
          . "<Location /counter-mw>\n  Require all granted\n"
          . "  SetHandler websocket-handler\n"
          . "  WebSocketHandler $plugins/ws_counter.so counter_init\n</Location>\n");
counter_works($ours->port, '/counter', 'our module');
counter_works($ours->port, '/counter-mw', "our module, mod_websocket's form");
is_deeply [ $ours->log_problems ], [], 'our module: nothing in the error log';
$ours->stop;

# What mod_websocket refuses when it loads a plugin, our module refuses
# too, with a message naming it (so a plugin that loads here loads there).
for my $bad (["$plugins/ws_counter.so counter_init_v1",
              qr/counter_init_v1 in \S+ws_counter\.so returned no plugin of version 0/,
              'a plugin version other than 0'],
             ["$plugins/nonexistent.so counter_init", qr/cannot load \S+nonexistent\.so/,
              'a library that does not load']) {
    my $httpd = eval { OSRFWS::Apache->new(conf => "WebSocketHandler /bad $bad->[0]\n") };
    ok !$httpd, "our module: $bad->[2] stops the start";
    like $@, $bad->[1], "our module: $bad->[2]: the message names it";
}

my $mw = OSRFWS::Apache->new(
    httpd_conf => srcdir() . '/t/hosts/mw_host.conf',
    env => { OSRFWS_MW_HOST => $host, OSRFWS_TEST_PLUGINS => $plugins });
counter_works($mw->port, '/counter', 'the mod_websocket-style host');
is_deeply [ $mw->log_problems ], [], 'the host: nothing in the error log';
$mw->stop;
done_testing;
