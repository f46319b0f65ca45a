// The coordinator's HTTP side in-process: the dashboard page, its assets and event stream, /metrics
// with every documented name, read-only and malformed requests answered 4xx while a worker on the same
// port keeps being served, and beyond loopback the token (401 with the same bare body for every path).
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { FleetCoordinator, METRIC_NAMES, WorkerConnection, parseJobSpec, type FleetCoordinatorOptions } from '../src/index.js';
import { capture } from './fleet-fakes.js';
import { TOKEN, cleanupAfterEach, cpuCapabilities } from './net-fixture.js';

const cleanup = cleanupAfterEach();

async function startCoordinator(opts: FleetCoordinatorOptions = {}) {
  const c = new FleetCoordinator({ logger: capture(), ...opts });
  const { port } = await c.start();
  cleanup.push(() => c.close());
  return { c, base: `http://127.0.0.1:${port}`, port };
}

async function worker(port: number, token?: string) {
  const w = new WorkerConnection({
    url: `ws://127.0.0.1:${port}`, token: token ?? '', workerId: 'w1', capabilities: cpuCapabilities(['extract', 'rollouts', 'eval']), logger: capture(), backoff: { initialMs: 10, maxMs: 50 },
  }).start();
  cleanup.push(() => w.close());
  await w.ready();
  return w;
}

/** Sends raw bytes and returns the status line's code (requests fetch refuses to build). */
function rawStatus(port: number, request: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(request));
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      got += d;
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      if (m) {
        s.destroy();
        resolve(Number(m[1]));
      }
    });
    s.on('error', reject);
    s.on('close', () => reject(new Error(`connection closed without a status line: ${JSON.stringify(got)}`)));
  });
}

const spec = parseJobSpec({
  jobId: 'http-test', data: { file: '/nonexistent/train.jsonl', format: 'jsonl' },
  model: { id: 'tiny', hash: 'sha256:feed', geometry: { layers: 2, heads: 3, headDim: 4 } },
  extract: { seed: 1, shots: 2, rounds: 4, shardSize: 2 }, locate: null, eval: null, out: '/nonexistent/out.safetensors',
});

describe('coordinator HTTP: dashboard and metrics', () => {
  it('serves the page, its assets from the package, the state and a pushed event stream', async () => {
    const { c, base } = await startCoordinator();
    expect(c.dashboardUrl()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    const htmlText = await page.text();
    expect(htmlText).toContain('/vendor/echarts.min.js');
    expect(htmlText).not.toMatch(/https?:\/\//); // no CDN
    for (const path of ['/app.js', '/style.css', '/vendor/echarts.min.js', '/vendor/htm-preact.mjs']) {
      const r = await fetch(`${base}${path}`);
      expect([path, r.status]).toEqual([path, 200]);
      expect((await r.text()).length).toBeGreaterThan(100);
    }
    // A job appears in the state and on the stream as its events arrive.
    const stream = await fetch(`${base}/events`);
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = stream.body!.getReader();
    c.dashboard!.jobStarted(spec);
    c.dashboard!.onEvent('http-test', { kind: 'locate-step', step: 1, steps: 4, meanLoss: 2.5, headsAboveHalf: 0, policyLoss: -0.5, probabilities: Float64Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]) });
    let text = '';
    while (!text.includes('"probabilities":[0.1,0.2,0.3,0.4,0.5,0.6]')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended; got ${text}`);
      text += new TextDecoder().decode(value);
    }
    expect(text).toMatch(/^retry: 1000/);
    await reader.cancel();
    const state = (await (await fetch(`${base}/api/state`)).json()) as { jobs: { jobId: string; curves: { meanLoss: number[] } }[] };
    expect(state.jobs[0]!.jobId).toBe('http-test');
    expect(state.jobs[0]!.curves.meanLoss).toEqual([2.5]);
  });

  it('/metrics exposes every documented metric; bad requests get 4xx and the worker keeps being served', async () => {
    const { c, base, port } = await startCoordinator();
    const w = await worker(port);
    c.dashboard!.jobStarted(spec);
    c.metrics.onEvent('http-test', { kind: 'locate-step', step: 1, steps: 4, meanLoss: 2.5, headsAboveHalf: 0, policyLoss: -0.5 });
    c.metrics.onEvent('http-test', { kind: 'checkpoint-written', file: 'x' });
    const statuses = [
      (await fetch(`${base}/nope`)).status,
      (await fetch(`${base}/metrics`, { method: 'POST', body: 'x' })).status,
      (await fetch(`${base}/${'a'.repeat(5000)}`)).status,
      await rawStatus(port, 'GET nonsense HTTP/1.1\r\nHost: x\r\n\r\n'),
      await rawStatus(port, 'GARBAGE\r\n\r\n'),
    ];
    expect(statuses).toEqual([404, 405, 414, 400, 400]);
    // A bad frame on the WebSocket side is counted as a frame error.
    const bad = new WebSocket(`ws://127.0.0.1:${port}`);
    await new Promise<void>((resolve) => bad.once('open', () => resolve()));
    const closed = new Promise<number>((resolve) => bad.once('close', (code) => resolve(code)));
    bad.send('not a binary frame');
    expect(await closed).toBe(4000);
    const m = await fetch(`${base}/metrics`);
    expect(m.headers.get('content-type')).toMatch(/^text\/plain/);
    const body = await m.text();
    for (const name of METRIC_NAMES) expect(body, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    expect(body).toMatch(/^mtv_workers_connected 1$/m);
    expect(body).toMatch(/^mtv_rollout_loss\{kind="mean"\} 2\.5$/m);
    expect(body).toMatch(/^mtv_checkpoint_writes_total 1$/m);
    expect(body).toMatch(/^mtv_http_requests_total\{status="404"\} 1$/m);
    expect(body).toMatch(/^mtv_frame_errors_total\{reason="protocol-error"\} 1$/m);
    // The worker on the same port is still served after all of that: a cancel reaches it.
    expect(w.state).toBe('ready');
    const cancel = w.next('cancel');
    await c.server.send('w1', { type: 'cancel', jobId: 'j', shardId: 1, reason: 'test' });
    expect((await cancel)[0].shardId).toBe(1);
  });

  it('bound beyond loopback: no or a wrong token gets a bare 401 on every path; the token opens the page, the stream and /metrics', async () => {
    const { port } = await startCoordinator({ host: '0.0.0.0', token: TOKEN });
    const base = `http://127.0.0.1:${port}`;
    const denied: string[] = [];
    for (const [path, init] of [
      ['/', {}], ['/metrics', {}], ['/events', {}], ['/api/state', {}], ['/nope', {}], ['/app.js', { method: 'POST' }],
      ['/api/state?token=wrong-token-wrong-token', {}], ['/metrics', { headers: { authorization: 'Bearer wrong-token-wrong' } }],
      ['/api/state', { headers: { cookie: 'mtv_dashboard_token=nope' } }],
    ] as const) {
      const r = await fetch(`${base}${path}`, init);
      denied.push(`${path} ${r.status} ${JSON.stringify(await r.text())}`);
    }
    expect(denied.every((d) => d.endsWith(' 401 "unauthorized\\n"'))).toBe(true);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    const first = await fetch(`${base}/?token=${TOKEN}`, { redirect: 'manual' });
    expect(first.status).toBe(303);
    const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
    expect(first.headers.get('set-cookie')).toMatch(/HttpOnly/);
    expect((await fetch(`${base}/`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${base}/vendor/echarts.min.js`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${base}/api/state`, { headers: { cookie } })).status).toBe(200);
    // A worker with the token still joins on the same port.
    await worker(port, TOKEN);
  });

  it('--no-dashboard: only /metrics', async () => {
    const { c, base } = await startCoordinator({ dashboard: false });
    expect(c.dashboardUrl()).toBeNull();
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  });
});
