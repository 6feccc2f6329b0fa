// Firefox (Gecko's ICE agent: active TCP candidates, RFC 4571 framing of its
// own) reaching the server over ICE-TCP only, as a Firefox whose network lets
// no UDP through does: the answer it is given keeps only the server's passive
// TCP candidates (lib/firefox.mjs's `only`). ice_tcp.test.mjs does the same
// for Chromium with a real UDP firewall.
//
// Firefox watches several times in a row, because the failure this guards
// against was intermittent: Firefox opened two TCP connections, the server
// finished DTLS and Firefox never left "connecting". And Firefox watches with
// every candidate offered while the server announces both, the mix in which
// it was first seen (a handshake begun on UDP and finished on TCP).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser, waitFor } from './lib/browser.mjs';
import {
  firefoxMissing, firefoxPublish, firefoxSelectedPair, firefoxViewerStats, firefoxWatch, launchFirefox, pageSdp,
} from './lib/firefox.mjs';
import { startPublisher, startViewer, viewerStats } from './lib/media.mjs';
import { startServer } from './lib/server.mjs';

const T = { media: 30000 };

let server, chromium, firefox;
let failed = false;
before(async () => {
  if (firefoxMissing) return;
  server = await startServer();
  chromium = await launchBrowser();
  firefox = await launchFirefox();
});
after(async () => {
  await firefox?.close().catch((e) => console.log('closing Firefox:', e.message));
  await chromium?.close();
  const exit = await server?.stop();
  // How often a handshake came on another pair than the last nominated one
  // (the race this file is about), to see that the runs met it.
  const moves = (server?.log().match(/media address .* \(dtls\)/g) || []).length;
  console.log(`media address moved by DTLS ${moves} times`);
  if (failed || process.exitCode) {
    console.log(server?.log().split('\n').filter((l) => /ice-tcp|tcp:|DTLS|dtls|media address|nominated|error|warn/i.test(l)).join('\n'));
  }
  return exit;
});

// A Firefox viewer of `name` that must decode 30 frames; returns its pair.
async function firefoxDecodes(name, only, what) {
  const viewer = await firefoxWatch(firefox, server, name, { only });
  try {
    await waitFor(async () => (await firefoxViewerStats(viewer)).framesDecoded > 30, {
      timeout: T.media, what: `${what} to decode 30 frames`,
    }).catch(async (e) => {
      throw new Error(`${e.message}: ${JSON.stringify(await firefoxViewerStats(viewer))} ` +
        `pair ${JSON.stringify(await firefoxSelectedPair(viewer))}\n${await pageSdp(viewer)}`);
    });
    assert.equal((await firefoxViewerStats(viewer)).connection, 'connected');
    return await firefoxSelectedPair(viewer);
  } finally {
    await viewer.evaluate(async () => { await window.view?.stop(); }).catch(() => {});
    await viewer.close().catch(() => {});
  }
}

// Five Firefox viewers in a row of a Chromium publisher's `name`, each given
// the answer's `only` candidates; check(pair, i) looks at each one's pair.
async function fiveViewers(name, only, check) {
  const publisher = await startPublisher(chromium, server, name, 'VP8');
  try {
    for (let i = 1; i <= 5; ++i) {
      check(await firefoxDecodes(name, only, `Firefox viewer ${i} (${only || 'UDP and TCP'})`), i);
    }
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    await publisher.evaluate(() => window.pub.stop()).catch(() => {});
    await publisher.close().catch(() => {});
  }
}

test('Firefox watches over ICE-TCP only, five times in a row', { skip: firefoxMissing, timeout: 300000 }, async () => {
  await fiveViewers('ff-tcp-watch', 'tcp', (pair, i) => {
    assert.equal(pair?.protocol, 'tcp', `viewer ${i} sends over TCP: ${JSON.stringify(pair)}`);
    assert.equal(pair.tcpType, 'active');
    assert.equal(pair.remoteProtocol, 'tcp');
  });
});

test('Firefox watches with UDP and TCP both offered, five times in a row', { skip: firefoxMissing, timeout: 300000 }, async () => {
  await fiveViewers('ff-mixed-watch', null, (pair, i) => {
    assert.ok(pair, `viewer ${i} has a selected pair`);
    console.log(`viewer ${i} of both: ${JSON.stringify(pair)}`);
  });
});

test('Firefox publishes over ICE-TCP only; a Chromium viewer decodes it', { skip: firefoxMissing, timeout: 180000 }, async () => {
  const name = 'ff-tcp-pub';
  const publisher = await firefoxPublish(firefox, server, name, 'VP8', { only: 'tcp' });
  let viewer;
  try {
    await waitFor(async () => (await firefoxSelectedPair(publisher, 'pub'))?.protocol === 'tcp', {
      timeout: T.media, what: 'Firefox to send over a TCP pair',
    });
    viewer = await startViewer(chromium, server, name);
    await waitFor(async () => (await viewerStats(viewer)).framesDecoded >= 60, {
      timeout: T.media, what: 'the Chromium viewer to decode 60 frames Firefox sent over TCP',
    }).catch(async (e) => { throw new Error(`${e.message}: ${JSON.stringify(await viewerStats(viewer))}\n${await pageSdp(publisher)}`); });
    await waitFor(async () => (await viewerStats(viewer)).audioPackets > 50, {
      timeout: T.media, what: 'the Chromium viewer to receive Firefox\'s audio',
    });
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    await publisher.evaluate(() => window.pub.stop()).catch(() => {});
    await publisher.close().catch(() => {});
    await viewer?.close().catch(() => {});
  }
});
