# SPDX-License-Identifier: GPL-2.0-or-later
# The module refuses to start under a threaded MPM (one WebSocket per
# child process is the design): conf/httpd.conf with its MPM swapped for
# event (Debian's default) or worker does not start, and the message says
# why, with a stable number.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use OSRFWS::Apache;
use OSRFWS::Util qw(srcdir tempdir);

my $modules = $ENV{OSRFWS_HTTPD_MODULES} // '/usr/lib/apache2/modules';

# conf/httpd.conf as it is, but for the MPM: the prefork-only directives
# go too, or the other MPM would stop at them before the module is asked.
sub conf_with_mpm {
    my ($mpm) = @_;
    open my $in, '<', srcdir() . '/conf/httpd.conf' or die $!;
    my $conf = do { local $/; <$in> };
    close $in;
    $conf =~ s/^LoadModule mpm_prefork_module \S+$/LoadModule mpm_${mpm}_module \${OSRF_WS_HTTPD_MODULES}\/mod_mpm_$mpm.so/m
        or die "no prefork line in conf/httpd.conf";
    $conf =~ s/^(?:MinSpareServers|MaxSpareServers)\b.*$//mg;
    my $file = tempdir() . "/httpd-$mpm.conf";
    open my $out, '>', $file or die $!;
    print $out $conf;
    close $out;
    return $file;
}

for my $mpm (qw(event worker)) {
    SKIP: {
        skip "no mod_mpm_$mpm.so in $modules", 3 unless -f "$modules/mod_mpm_$mpm.so";
        my $httpd = eval { OSRFWS::Apache->new(httpd_conf => conf_with_mpm($mpm)) };
        my $why = $@;
        ok !$httpd, "Apache does not start with mpm_$mpm";
        like $why, qr/OSRFWS01032: mod_osrf_websocket needs the prefork MPM .*the $mpm MPM/,
            "mpm_$mpm: the message names prefork and the MPM loaded";
        unlike $why, qr/Invalid command|Syntax error/,
            "mpm_$mpm: the configuration itself was fine (the module refused it)";
        $httpd->stop if $httpd;
    }
}
done_testing;
