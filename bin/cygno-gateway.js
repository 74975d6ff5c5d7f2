#!/usr/bin/env node
'use strict';
// The compiled CLI lives in dist/ (built by `npm run build`, which `npm start` and `npm test` run).
require('../dist/src/cli.js').main(process.argv.slice(2));
