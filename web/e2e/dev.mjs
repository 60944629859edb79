#!/usr/bin/env node
// Runs run.mjs against the mock server (mock-server.mjs) and a local joke
// target, both on free loopback ports. For UI development only; the real
// e2e runs against flowd (see ../README.md).
import http from 'node:http';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const target = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ value: { joke: 'Chuck Norris can divide by zero.' } }));
});
await new Promise((r) => target.listen(0, '127.0.0.1', r));
const mock = spawn(process.execPath, [path.join(here, 'mock-server.mjs'), '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((resolve, reject) => {
  mock.stdout.on('data', (d) => {
    const m = /on (http:\/\/\S+)/.exec(String(d));
    if (m) resolve(m[1]);
  });
  mock.on('exit', (c) => reject(new Error(`mock exited ${c}`)));
});
const e2e = spawn(process.execPath, [path.join(here, 'run.mjs')], {
  stdio: 'inherit',
  env: { ...process.env, E2E_CORE_ONLY: '1', FLOWD_URL: url, FLOWD_CLIENT_ID: 'admin', FLOWD_CLIENT_SECRET: 'secret', TARGET_URL: `http://127.0.0.1:${target.address().port}/jokes/random` },
});
const code = await new Promise((r) => e2e.on('exit', r));
mock.kill();
target.close();
process.exit(code ?? 1);
