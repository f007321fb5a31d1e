// SPDX-License-Identifier: GPL-2.0-or-later
// Makes js/opensrf-client.classic.js (a plain <script> that sets
// window.OpenSRF) from the ES module js/opensrf-client.js: the same code in
// a function, without the export keywords.  `--check` only reports whether
// the file on disk is what this would write (make check runs it).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const source = readFileSync(`${dir}opensrf-client.js`, 'utf8');
const marker = source.indexOf('// --- exports');
if (marker < 0) throw new Error('opensrf-client.js: no "// --- exports" line');
const body = source.slice(0, marker).replace(/^export (?=(class|const|function) )/gm, '');
if (/^export\b/m.test(body)) throw new Error('opensrf-client.js: an export this script cannot turn into a plain script');
const classic = '// GENERATED from opensrf-client.js by make-classic.mjs: edit that file, then\n'
  + '// run `node js/make-classic.mjs`.\n'
  + "(function () {\n'use strict';\n" + body + 'globalThis.OpenSRF = OpenSRF;\n})();\n';
const target = `${dir}opensrf-client.classic.js`;

if (process.argv.includes('--check')) {
  let current = '';
  try { current = readFileSync(target, 'utf8'); } catch (e) { /* missing */ }
  if (current !== classic) {
    console.error('js/opensrf-client.classic.js is out of date: run node js/make-classic.mjs');
    process.exit(1);
  }
} else {
  writeFileSync(target, classic);
}
