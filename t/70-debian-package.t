# SPDX-License-Identifier: GPL-2.0-or-later
# The Debian package end to end, as an administrator uses it: build the .deb
# from a copy of this tree, lintian at warning level, install it with dpkg,
# osrf-websocket-setup (twice, and around an admin's edits), start
# apache2@websockets (systemd when it is PID 1, apache2ctl otherwise), an
# OpenSRF call over wss and ws through it against the test Redis and
# OpenSRF, stop it, then purge the package (with the instance running) and
# check that no file or process is left.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Digest::SHA qw(sha256_hex);
use HTTP::Tiny;
use OSRFWS::Util qw(free_port wait_for_port wait_until tempdir read_pidfile pid_alive
                    copy_source_tree);
use OSRFWS::Gateway;
use OSRFWS::OsrfClient;

plan skip_all => 'installs a package: needs root' if $> != 0;
plan skip_all => 'packaging does not depend on the sanitizer build: the release pass runs it'
    if ($ENV{OSRFWS_SANITIZERS} // '') eq 'yes';
my $PKG = 'libapache2-mod-osrf-websocket';
my $ETC = '/etc/apache2-websockets';
plan skip_all => "$PKG is installed on this machine: not touching it"
    if `dpkg-query -W -f='\${Status}' $PKG 2>/dev/null` =~ /installed/;
plan skip_all => "$ETC exists on this machine (a real instance): not touching it" if -e $ETC;

my $systemd = (readlink('/proc/1/exe') // '') =~ /systemd/;
my $tmp = tempdir();
my @owned = ($ETC, '/var/log/apache2-websockets', '/etc/logrotate.d/apache2-websockets',
             '/usr/local/sbin/apache2ctl-websockets', '/etc/init.d/apache2-websockets',
             '/run/apache2-websockets', '/var/lock/apache2-websockets',
             '/var/lib/mod-osrf-websocket',
             '/etc/systemd/system/multi-user.target.wants/apache2@websockets.service');
my ($installed, @files);

# What starts at boot (systemd's wants links, SysV start links): the test
# may enable its instance while it runs, and leaves this as it found it.
sub boot_links {
    return sort grep { -l } glob('/etc/systemd/system/*.wants/* /etc/rc[2-5].d/S*');
}
my @boot_before = boot_links();

# The tools' own scratch files (lintian leaves some) in the test's directory.
sub run_log {
    my ($log, @cmd) = @_;
    local $ENV{TMPDIR} = $tmp;
    my $rc = system("@cmd >$tmp/$log.log 2>&1");
    return $rc == 0;
}
sub slurp { my ($f) = @_; open my $fh, '<', $f or return ''; local $/; <$fh> // '' }
sub apache2ctl { system("APACHE_CONFDIR=$ETC apache2ctl @_ >>$tmp/apache2ctl.log 2>&1") == 0 }
sub instance_pid { read_pidfile('/run/apache2-websockets/apache2.pid') }

# Whatever happens, the machine is left as it was.
END {
    local $?;
    if ($installed) {
        system("dpkg --purge $PKG >$tmp/cleanup.log 2>&1");
        system('rm', '-rf', '--', @owned);
    }
}

# --- build -----------------------------------------------------------------
ok eval { copy_source_tree("$tmp/src") }, 'a copy of the source tree' or diag $@;
ok run_log('build', "cd $tmp/src && dpkg-buildpackage -us -uc -b"), 'dpkg-buildpackage -us -uc -b'
    or diag slurp("$tmp/build.log");
my ($deb) = glob "$tmp/${PKG}_*_*.deb";
ok $deb && -s $deb, "built $PKG" or BAIL_OUT('no .deb');
ok run_log('lintian', "lintian --fail-on warning $deb"), 'lintian: nothing at warning level'
    or diag slurp("$tmp/lintian.log");
my $contents = `dpkg-deb -c $deb`;
like $contents, qr{\./usr/lib/apache2/modules/mod_osrf_websocket\.so$}m, 'the module';
like $contents, qr{\./usr/lib/mod-osrf-websocket/osrf_ws_bridge\.so$}m, 'the bridge';
like $contents, qr{\./usr/share/man/man8/osrf-websocket-setup\.8\.gz$}m, 'the manual page';

# --- install and set up --------------------------------------------------------
$installed = 1;
ok run_log('install', "dpkg -i $deb"), 'dpkg -i' or diag slurp("$tmp/install.log");
@files = grep { -f $_ || -l $_ } split /\n/, `dpkg -L $PKG`;
diag "installed files:\n" . join("\n", @files) if $ENV{OSRFWS_VERBOSE};
ok !-e "/etc/apache2/mods-enabled/osrf_websocket.load", 'not enabled in the main Apache';

my $redis = OSRFWS::Redis->new;
my $osrf = OSRFWS::OpenSRF->new(redis => $redis);
my $core = OSRFWS::Gateway::write_core_file(tempdir() . "/opensrf_core.xml", $redis);
my ($wss, $ws) = (free_port(), free_port());
my $setup = "osrf-websocket-setup --port 127.0.0.1:$wss --listen 127.0.0.1:$ws --config $core"
          . " --self-signed --server-name 127.0.0.1";
ok run_log('setup1', $setup), 'osrf-websocket-setup' or diag slurp("$tmp/setup1.log");
ok -f "$ETC/$_", "$ETC/$_" for qw(apache2.conf envvars tls.conf ssl/cert.pem ssl/key.pem);
my $env = slurp("$ETC/envvars");
like $env, qr/^export OSRF_WS_TLS_LISTEN=127\.0\.0\.1:$wss$/m, '--port';
like $env, qr/^export OSRF_WEBSOCKET_CONFIG_FILE=\Q$core\E$/m, '--config';
like $env, qr/^export APACHE_ARGUMENTS="-D OSRF_BRIDGE -D OSRF_TLS"$/m, 'bridge and wss on';
is((stat '/var/log/apache2-websockets')[2] & 07777, 0750, 'log directory 750, as setup-instance');

# Twice: nothing changes.  An admin's edits survive; a newer template
# beside an edited file.
my %before = map { $_ => sha256_hex(slurp($_)) } glob "$ETC/* $ETC/ssl/*";
ok run_log('setup2', 'osrf-websocket-setup'), 'run again';
is_deeply { map { $_ => sha256_hex(slurp($_)) } glob "$ETC/* $ETC/ssl/*" }, \%before,
    'second run: every file as it was';
system("sed -i 's/^export OSRF_WS_MAX_CLIENTS=.*/export OSRF_WS_MAX_CLIENTS=77/' $ETC/envvars");
system("echo '# an admin was here' >> $ETC/apache2.conf");
ok run_log('setup3', "osrf-websocket-setup --config $core"), 'run again after edits';
like slurp("$ETC/envvars"), qr/^export OSRF_WS_MAX_CLIENTS=77$/m, 'envvars edit kept';
like slurp("$ETC/apache2.conf"), qr/an admin was here/, 'apache2.conf edit kept';
ok !-e "$ETC/apache2.conf.osrf-websocket-dist", 'template unchanged: nothing beside it';
system("cp -r /usr/share/mod-osrf-websocket/conf $tmp/newer && echo '# newer' >> $tmp/newer/httpd.conf"
       . " && echo '# newer' >> $tmp/newer/tls.conf");
ok run_log('setup4', "OSRF_WS_TEMPLATES=$tmp/newer osrf-websocket-setup"), 'run with a newer template';
like slurp("$ETC/tls.conf"), qr/# newer/, 'unedited tls.conf follows the template';
like slurp("$ETC/apache2.conf"), qr/an admin was here/, 'edited apache2.conf kept';
like slurp("$ETC/apache2.conf.osrf-websocket-dist"), qr/# newer/, 'the newer one beside it';

# --- start, call, stop ----------------------------------------------------------
ok apache2ctl('configtest'), 'apache2ctl configtest' or diag slurp("$tmp/apache2ctl.log");
my $mods = `APACHE_CONFDIR=$ETC apache2ctl -M 2>&1`;
my @shared = sort $mods =~ /^\s*(\w+) \(shared\)$/mg;
is_deeply \@shared, [sort qw(mpm_prefork_module authz_core_module mime_module reqtimeout_module
                             ssl_module socache_shmcb_module osrf_websocket_module
                             osrf_ws_bridge_module)],
    'only the modules the gateway needs' or diag $mods;
my $start = sub {
    return system('systemctl', 'start', 'apache2@websockets') == 0 if $systemd;
    return apache2ctl('start');
};
ok $start->(), ($systemd ? 'systemctl start apache2@websockets' : 'apache2ctl start')
    or diag slurp("$tmp/apache2ctl.log") . slurp('/var/log/apache2-websockets/error.log');
ok wait_for_port($wss, 15) && wait_for_port($ws, 5), "listening on $wss (wss) and $ws (ws)";
# (the port answers once Apache listens, a little before its pid file)
my $pid = wait_until(\&instance_pid, 10);
ok pid_alive($pid), 'the instance runs (pid ' . ($pid // 'none') . ')';
for my $tls (1, 0) {
    my $c = eval { OSRFWS::OsrfClient->new(port => $tls ? $wss : $ws, tls => $tls) };
    is_deeply $c && $c->call('opensrf.math', 'add', [20, 22])->{results}, [42],
        'an OpenSRF call through the instance over ' . ($tls ? 'wss' : 'ws')
        or diag $@ . slurp('/var/log/apache2-websockets/error.log');
    $c->ws->send_close(1000) if $c;
}
my $js = HTTP::Tiny->new(timeout => 10)->get("http://127.0.0.1:$ws/js/opensrf-client.js");
ok $js->{status} == 200 && $js->{content} =~ /ClientSession/, 'the JavaScript client is served at /js/'
    or diag "$js->{status} $js->{reason}";
like $js->{headers}{'content-type'} // '', qr{javascript}, 'as JavaScript';
my @kids = children_of($pid);
ok @kids, scalar(@kids) . ' prefork children';
ok $systemd ? system('systemctl', 'stop', 'apache2@websockets') == 0 : apache2ctl('stop'), 'stop';
ok wait_until(sub { !grep { pid_alive($_) } $pid, @kids }, 15), 'every process of it gone';

# --remove undoes the setup; a new setup after it starts from scratch.
ok run_log('remove', 'osrf-websocket-setup --remove'), 'osrf-websocket-setup --remove'
    or diag slurp("$tmp/remove.log");
is_deeply [ grep { -e $_ || -l $_ } @owned ], [], 'every path of the instance removed';
ok run_log('setup5', $setup), 'set up again' or diag slurp("$tmp/setup5.log");

# Purge while it runs: prerm stops it, postrm removes the instance.
ok $start->() && wait_for_port($wss, 15), 'started again';
$pid = wait_until(\&instance_pid, 10);
@kids = children_of($pid);
ok run_log('purge', "dpkg --purge $PKG"), 'dpkg --purge' or diag slurp("$tmp/purge.log");
$installed = 0;
my @left = grep { pid_alive($_) } $pid, @kids;
ok !@left, 'no process left'
    or diag slurp("$tmp/purge.log") . `ps -o pid,ppid,user,stat,etime,args -p @{[ join ',', @left ]}`;
kill 'KILL', @left;     # none may outlive the test
is_deeply [ grep { -e $_ || -l $_ } @files, @owned ], [], 'no file left (package and instance)';
like `dpkg-query -W -f='\${Status}' $PKG 2>&1`, qr/not-installed|no packages found/,
    'dpkg knows it no more';
is_deeply [ boot_links() ], \@boot_before, 'nothing more (and nothing less) starts at boot';
done_testing;

sub children_of {
    my ($parent) = @_;
    return () unless $parent;
    my @k;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my ($p, $pp) = (<$fh> // '') =~ /^(\d+) \(.*\) \S+ (\d+)/ or next;
        push @k, $p if $pp == $parent;
    }
    return @k;
}
