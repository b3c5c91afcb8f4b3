#!/usr/bin/env node
// Command-line entry: placeholder until the commands land.
console.log('portcullis');
