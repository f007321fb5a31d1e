# SPDX-License-Identifier: GPL-2.0-or-later
# The README's "run one test": after script/build, a plain
# `prove t/20-ws-handshake.t` from the repository, with no -I and no
# OSRFWS_* variables, finds t/lib and the release build.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use OSRFWS::Util qw(srcdir);

my $src = srcdir();
plan skip_all => 'no release build (script/build) in this tree'
    unless -e "$src/build/release/mod_osrf_websocket.la";

delete local @ENV{ grep { /^OSRFWS_|^PERL5LIB$/ } keys %ENV };
my $out = `cd '$src' && timeout 120 prove t/20-ws-handshake.t 2>&1`;
is $?, 0, 'prove t/20-ws-handshake.t passes from the repository' or diag $out;
like $out, qr/^Result: PASS$/m, 'and prove reports PASS';
unlike $out, qr/Cannot load/, 'the module is found in build/release';
done_testing;
