// ffprobe (Debian's ffmpeg package) on recorded clips.
import { execFileSync, spawnSync } from 'node:child_process';

export function probe(file) {
  const out = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-show_streams', '-show_format', '-of', 'json', file], {
    encoding: 'utf8',
  });
  const j = JSON.parse(out);
  const video = j.streams.find((s) => s.codec_type === 'video');
  const audio = j.streams.find((s) => s.codec_type === 'audio');
  return {
    duration: Number(j.format.duration),
    videoCodec: video?.codec_name,
    audioCodec: audio?.codec_name,
    width: video?.width,
    height: video?.height,
    videoFrames: Number(video?.nb_read_frames || 0),
    audioFrames: Number(audio?.nb_read_frames || 0),
  };
}

// Presentation times (ms) of the video packets, to check clips do not overlap.
export function videoPacketCount(file) {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-count_packets',
    '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return Number(out.trim());
}

// What `ffmpeg -v error` says while decoding the whole clip: '' when every
// frame decodes cleanly. -enc_time_base:v -1 keeps the clip's millisecond
// timestamps: by default ffmpeg re-times the decoded video at its frame-rate
// guess (e.g. 1/20 s), and two frames a browser captured closer than that
// make the null muxer complain of "non monotonically increasing dts", which
// says nothing about the clip.
export function decodeErrors(file) {
  const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-enc_time_base:v', '-1', '-f', 'null', '-'], { encoding: 'utf8' });
  if (r.status !== 0 && !r.stderr) return `ffmpeg exited with ${r.status}`;
  return r.stderr.trim();
}
