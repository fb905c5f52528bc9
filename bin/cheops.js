#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` through the `prepare` script).
import '../dist/core/polyfills.js';
import '../dist/core/runtime-flags.js';
await import('../dist/cli/main.js');
