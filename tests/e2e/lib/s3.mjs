// A real S3-compatible server on loopback (npm s3rver) for storage tests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

export async function startS3(bucket, port = 0, directory = null) {
  const dir = directory || fs.mkdtempSync(path.join(os.tmpdir(), 'lss-s3-'));
  const server = new S3rver({ port, address: '127.0.0.1', directory: dir, silent: true, configureBuckets: [{ name: bucket }] });
  const { port: actual } = await server.run();
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    dir,
    async stop() { await server.close(); },
    // Keys in the bucket, via the S3 API itself (ListObjects).
    async keys() {
      const res = await fetch(`http://127.0.0.1:${actual}/${bucket}?list-type=2`);
      const xml = await res.text();
      return [...xml.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]);
    },
  };
}
