# SPDX-License-Identifier: GPL-2.0-or-later
# osrf-websocket-setup --clients N writes the sizing for N connections
# (README.websockets, "Sizing"): ServerLimit/MaxRequestWorkers with room
# for a restart's old generation, every child started and kept, the
# spares, a listen backlog for the reconnect storm in conf.d, and says
# what the kernel and Redis need.  Run from the source tree on an instance
# of its own name, removed at the end (t/70 runs the packaged command).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use OSRFWS::Util qw(tempdir srcdir);

plan skip_all => 'creates an instance in /etc: needs root' if $> != 0;
plan skip_all => 'systemd is PID 1: not enabling a unit for a test'
    if (readlink('/proc/1/exe') // '') =~ /systemd/;
my $name = "osrfws-t58-$$";
my $etc = "/etc/apache2-$name";
plan skip_all => "$etc exists" if -e $etc;

my $src = srcdir();
my $state = tempdir();
my $cmd = "OSRF_WS_TEMPLATES=$src/conf OSRF_WS_STATE_DIR=$state sh $src/setup/osrf-websocket-setup"
        . " --name $name --no-tls --config /nonexistent/opensrf_core.xml --server-name localhost";
END { local $?; system("$cmd --remove >/dev/null 2>&1") if $cmd }

sub run { my $out = `$cmd @_ 2>&1`; return ($? >> 8, $out) }
sub slurp { open my $fh, '<', $_[0] or return ''; local $/; <$fh> // '' }
sub var { slurp("$etc/envvars") =~ /^export $_[0]=(\S+)$/m ? $1 : undef }

my ($rc, $out) = run('--clients 10000');
is $rc, 0, 'set up with --clients 10000' or diag $out;
is_deeply [ map { var($_) } qw(OSRF_WS_MAX_CLIENTS OSRF_WS_START_SERVERS OSRF_WS_MIN_SPARE
                               OSRF_WS_MAX_SPARE) ],
    [12600, 10100, 100, 10100],
    'ServerLimit a quarter above N and its spares, every child started and kept, 1% spare';
like slurp("$etc/conf.d/clients.conf"), qr/^ListenBacklog 10000$/m,
    'the listen backlog holds the storm (conf.d/clients.conf)';
like $out, qr/net\.core\.somaxconn>=10000 .*tcp_max_syn_backlog>=10000/, 'says the sysctls';
like $out, qr/Redis maxclients>=26200 /, 'says Redis maxclients: two bus connections per child';

($rc, $out) = run('--clients 300');
is $rc, 0, 'again with --clients 300' or diag $out;
is_deeply [ map { var($_) } qw(OSRF_WS_MAX_CLIENTS OSRF_WS_START_SERVERS OSRF_WS_MIN_SPARE
                               OSRF_WS_MAX_SPARE) ],
    [439, 364, 64, 364], 'the lines change, at least 64 spare';
like slurp("$etc/conf.d/clients.conf"), qr/^ListenBacklog 511$/m, 'never below Apache\'s 511';
is scalar(() = slurp("$etc/envvars") =~ /^export OSRF_WS_MAX_CLIENTS=/mg), 1, 'one line each';

for my $bad ('0', 'abc', '100001', '12x', '-5') {
    ($rc, $out) = run("--clients '$bad'");
    isnt $rc, 0, "--clients '$bad' refused";
}
is var('OSRF_WS_MAX_CLIENTS'), 439, 'a refused value changes nothing';

($rc, $out) = run('--remove');
ok !-e $etc && !-e "$etc/conf.d/clients.conf", 'removed with the instance' or diag $out;
done_testing;
