# SPDX-License-Identifier: GPL-2.0-or-later
# The JavaScript client's pure logic (node --test t/js/: wire format,
# routing by thread, partial results, queueing, reconnect and backoff),
# and js/opensrf-client.classic.js being the current build of the module.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use OSRFWS::Util qw(srcdir);

my $src = srcdir();
my ($node) = grep { -x } map { "$_/node" } split /:/, $ENV{PATH} // '';
ok $node, 'node is installed (script/bootstrap installs nodejs)' or BAIL_OUT('no node');

# As Debian 12's node 18 does: a .js file is CommonJS unless js/package.json
# says otherwise (newer node guesses from the syntax, hiding a missing type).
my $strict = `node --help` =~ /--no-experimental-detect-module/ ? '--no-experimental-detect-module' : '';
my $out = `cd '$src' && timeout 120 node $strict --test --test-reporter=tap t/js/ 2>&1`;
is $?, 0, 'node --test t/js/ passes' or diag $out;
my ($pass) = $out =~ /^# pass (\d+)$/m;
cmp_ok $pass // 0, '>=', 10, "node ran the client's unit tests (" . ($pass // 0) . ' passed)';

my $check = `cd '$src' && node js/make-classic.mjs --check 2>&1`;
is $?, 0, 'js/opensrf-client.classic.js is up to date' or diag $check;

# Run as a browser runs a <script>: neither a CommonJS nor an ES module.
my $classic = `cd '$src' && node -e "require('vm').runInThisContext(require('fs').readFileSync('js/opensrf-client.classic.js', 'utf8')); process.stdout.write(typeof globalThis.OpenSRF.ClientSession)" 2>&1`;
is $classic, 'function', 'the classic build sets a global OpenSRF as a plain script';
done_testing;
