// A noisy Y4M clip for Chromium's --use-file-for-fake-video-capture, so a
// publisher really sends what its encodings allow (the built-in fake camera
// mostly sends ~0.5 Mbit/s at 20 fps): ffmpeg's testsrc2 (moving content)
// plus temporal noise, which no encoder can compress away.
//
// Made once per set of parameters into os.tmpdir() and reused by later runs
// (the name carries the parameters). A 1280x720 yuv420p frame is 1.38 MB, so
// keep clips short: 2 s at 30 fps is ~83 MB; Chromium loops the file.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const FFMPEG = process.env.FFMPEG || '/usr/bin/ffmpeg';

export function haveFfmpeg() {
  return fs.existsSync(FFMPEG);
}

// Bytes of a Y4M file of `frames` frames (header lengths are approximate,
// so callers compare with a margin).
function expectedBytes(width, height, frames) {
  return frames * (6 + (width * height * 3) / 2);
}

/**
 * Returns the path of the clip, making it first when needed.
 * @param {object} [o]
 * @param {number} [o.width] 1280
 * @param {number} [o.height] 720
 * @param {number} [o.fps] 30
 * @param {number} [o.seconds] 2
 * @param {number} [o.noise] ffmpeg noise strength (alls), 0-100; 25
 */
export function noisyY4m({ width = 1280, height = 720, fps = 30, seconds = 2, noise = 25 } = {}) {
  const name = `lss-noisy-${width}x${height}-${fps}fps-${seconds}s-n${noise}.y4m`;
  const file = path.join(os.tmpdir(), name);
  const frames = Math.round(fps * seconds);
  const want = expectedBytes(width, height, frames);
  try {
    const st = fs.statSync(file);
    if (st.size >= want && st.size < want + 4096) return file;
  } catch (_) { /* not made yet */ }
  // Into a private name, then renamed: a concurrent run never reads half a file.
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    execFileSync(FFMPEG, ['-v', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}`,
      '-vf', `noise=alls=${noise}:allf=t+u`,
      '-frames:v', String(frames), '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return file;
}
