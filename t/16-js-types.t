# SPDX-License-Identifier: GPL-2.0-or-later
# The client's TypeScript declarations (js/opensrf-client.d.ts): tsc
# --noEmit (strict) over the example t/js/types-example.ts, whose
# @ts-expect-error lines are misuses the declarations must refuse, and every
# export of js/opensrf-client.js declared.  TypeScript comes from npm, pinned,
# installed once into the build directory (t/tsc) and reused.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use OSRFWS::Util qw(srcdir builddir tempdir);

my $TYPESCRIPT = '5.9.3';
my $src = srcdir();
my $cache = builddir() . '/t/tsc';
my $tsc = "$cache/node_modules/typescript/bin/tsc";
# script/bootstrap installs node and npm for the tests: their absence is a failure, not a skip.
die "node and npm are not installed (script/bootstrap test)\n" unless grep({ -x "$_/npm" } split /:/, $ENV{PATH} // '');

sub installed_version {
    open my $fh, '<', "$cache/node_modules/typescript/package.json" or return '';
    local $/;
    return (<$fh> =~ /"version":\s*"([^"]+)"/)[0] // '';
}
if (installed_version() ne $TYPESCRIPT) {
    my $out = `mkdir -p '$cache' && timeout 300 npm install --prefix '$cache' --no-save --no-audit --no-fund --no-package-lock typescript\@$TYPESCRIPT 2>&1`;
    die "npm could not install typescript $TYPESCRIPT: $out" if $? || installed_version() ne $TYPESCRIPT;
}

my $dir = tempdir();
open my $fh, '>', "$dir/tsconfig.json" or die $!;
print $fh <<"JSON";
{ "compilerOptions": { "strict": true, "noEmit": true, "target": "es2022", "module": "es2022",
    "moduleResolution": "bundler", "lib": ["es2022", "dom", "dom.iterable"], "types": [] },
  "files": ["$src/t/js/types-example.ts"] }
JSON
close $fh;
my $out = `timeout 120 node '$tsc' -p '$dir/tsconfig.json' 2>&1`;
is $?, 0, "tsc $TYPESCRIPT --noEmit: the example type-checks against js/opensrf-client.d.ts"
    or diag $out;

my $exports = `cd '$src' && node --input-type=module -e "const m = await import('./js/opensrf-client.js'); console.log(Object.keys(m).join(' '))" 2>&1`;
is $?, 0, 'node lists the module exports' or diag $exports;
open $fh, '<', "$src/js/opensrf-client.d.ts" or die $!;
my $dts = do { local $/; <$fh> };
my @missing = grep { $_ eq 'default' ? $dts !~ /^export default /m
                                     : $dts !~ /^export declare (?:const|class|function) \Q$_\E\b/m }
              split ' ', $exports;
is_deeply \@missing, [], 'every export of the module is declared (' . scalar(split ' ', $exports) . ')';
done_testing;
