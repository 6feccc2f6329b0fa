// A webhook receiver for the tests: an HTTP server on loopback that records
// every request; the first `failFirst` get 500, the rest 204.
import http from 'node:http';

export async function startReceiver({ port = 0, failFirst = 0 } = {}) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const status = requests.length < failFirst ? 500 : 204;
      requests.push({ status, raw, headers: req.headers, event: JSON.parse(raw) });
      res.writeHead(status).end();
    });
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    requests,
    accepted: () => requests.filter((r) => r.status === 204).map((r) => r.event),
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

