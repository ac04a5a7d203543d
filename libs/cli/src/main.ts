#!/usr/bin/env node
// The `taskmesh` command. (Being built.)
console.error('taskmesh: not built yet');
process.exitCode = 2;
