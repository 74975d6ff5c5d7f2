#!/usr/bin/env node
'use strict';
// A server binary runs as in production unless told otherwise (graphql-js and express skip
// their development-mode checks).
process.env.NODE_ENV = process.env.NODE_ENV || 'production';
// The compiled CLI lives in dist/ (built by `npm run build`, which `npm start` and `npm test` run).
require('../dist/src/cli/index.js').main(process.argv.slice(2));
