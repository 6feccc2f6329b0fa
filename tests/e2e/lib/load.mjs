// build/lss-load from the e2e tests: where it is, and running it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { repoRoot } from './server.mjs';

// Next to the server binary run-e2e.sh points at (LSS_BIN), else build/.
export const loadBin = process.env.LSS_LOAD_BIN ||
  path.join(process.env.LSS_BIN ? path.dirname(process.env.LSS_BIN) : path.join(repoRoot, 'build'), 'lss-load');
export const loadMissing = !fs.existsSync(loadBin) && `${loadBin} is not built`;

// Starts lss-load with `args`: `done` resolves with its exit code and
// output; `stop()` ends its hold early (SIGINT: it still reports).
export function startLoad(args, { timeout = 60000 } = {}) {
  let child;
  const done = new Promise((resolve) => {
    child = execFile(loadBin, args, { timeout, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? error.signal) : 0, stdout, stderr });
    });
  });
  return { done, stop: () => child.kill('SIGINT') };
}

export function runLoad(args, options) {
  return startLoad(args, options).done;
}

// The JSON report of a `--json` run.
export function parseReport(r) {
  try {
    return JSON.parse(r.stdout);
  } catch (e) {
    assert.fail(`lss-load printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}
