// The dashboard page: one EventSource on /events (the coordinator pushes its whole state after each
// change), rendered with Preact + htm; charts are ECharts with the SVG renderer. Read-only.
import { html, render, useEffect, useRef, useState } from '/vendor/htm-preact.mjs';

const echarts = window.echarts;
const pct = (x) => `${(100 * x).toFixed(1)}%`;
const secs = (ms) => (ms == null ? '–' : `${(ms / 1000).toFixed(1)} s`);
const ago = (t, now) => (t == null ? '–' : `${Math.max(0, (now - t) / 1000).toFixed(1)} s ago`);

function useStream() {
  const [state, setState] = useState(null);
  const [link, setLink] = useState('connecting');
  const closedRef = useRef(false); // the coordinator said it was closing: not an outage
  useEffect(() => {
    const es = new EventSource('/events');
    es.addEventListener('state', (ev) => {
      const st = JSON.parse(ev.data);
      closedRef.current = st.coordinator.closed;
      setState({ ...st, receivedAt: Date.now() });
      setLink('live');
    });
    // The browser retries by itself (the server asks for 1 s), e.g. while a coordinator restarts with --resume.
    es.onerror = () => setLink(closedRef.current ? 'closed' : 'reconnecting');
    return () => es.close();
  }, []);
  return { state, link };
}

/** An ECharts instance bound to a div; `option` is applied on every render (notMerge: the data is whole). */
function Chart({ id, option, className = 'chart' }) {
  const el = useRef(null);
  const chart = useRef(null);
  useEffect(() => {
    chart.current = echarts.init(el.current, null, { renderer: 'svg' });
    const resize = () => chart.current && chart.current.resize();
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      chart.current.dispose();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    if (chart.current && option) chart.current.setOption(option, { notMerge: true });
  }, [option]);
  return html`<div id=${id} class=${className} ref=${el}></div>`;
}

function Progress({ p }) {
  if (!p) return html`<span class="muted">–</span>`;
  const f = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
  return html`<span class="bar"><i style=${`width:${(100 * f).toFixed(1)}%`}></i></span>${p.done}/${p.total} ${p.unit}${p.ms != null ? html` <span class="muted">(${secs(p.ms)})</span>` : ''}`;
}

function Jobs({ jobs }) {
  if (jobs.length === 0) return html`<p class="muted">no job yet</p>`;
  return html`<table id="jobs-table">
    <thead><tr><th>job</th><th>status</th><th>phase</th><th>extract</th><th>locate</th><th>eval</th><th class="num">checkpoints</th></tr></thead>
    <tbody>${jobs.map((j) => html`<tr data-job=${j.jobId}>
      <td>${j.jobId}${j.resumedFrom ? html` <span class="badge">resumed at ${j.resumedFrom}</span>` : ''}</td>
      <td><span class=${`badge ${j.status}`}>${j.status}</span></td><td>${j.phase}</td>
      <td><${Progress} p=${j.progress.extract} /></td><td><${Progress} p=${j.progress.locate} /></td><td><${Progress} p=${j.progress.eval} /></td>
      <td class="num">${j.checkpoints}</td></tr>
      ${j.error ? html`<tr><td colspan="7" class="error">${j.error}</td></tr>` : ''}`)}</tbody></table>`;
}

function Workers({ workers, now }) {
  if (workers.length === 0) return html`<p class="muted">no worker has joined</p>`;
  return html`<table id="workers-table">
    <thead><tr><th>id</th><th>state</th><th>adapter</th><th>backend</th><th class="num">threads</th><th class="num">shards done</th>
      <th class="num">shards/min</th><th>last heartbeat</th><th class="num">rtt</th><th class="num">reconnects</th></tr></thead>
    <tbody>${workers.map((w) => html`<tr data-worker=${w.id}>
      <td title=${`${w.name} (${w.remote})`}>${w.id}</td><td><span class=${`badge ${w.connected ? 'connected' : 'lost'}`}>${w.connected ? 'connected' : 'lost'}</span></td>
      <td>${w.adapter}</td><td>${w.backend}</td><td class="num">${w.threads}</td><td class="num">${w.shardsDone}</td>
      <td class="num">${w.shardsPerMinute.toFixed(1)}</td><td>${ago(w.lastHeartbeatAt, now)}</td>
      <td class="num">${w.rttMs == null ? '–' : `${w.rttMs} ms`}</td><td class="num">${w.reconnects}</td></tr>`)}</tbody></table>`;
}

function curvesOption(j) {
  const c = j.curves;
  const pairs = (xs, ys) => xs.map((x, i) => [x, ys[i]]);
  return {
    animation: false,
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 56, right: 56, top: 32, bottom: 36 },
    xAxis: { type: 'value', name: 'step', nameLocation: 'middle', nameGap: 24, min: 0 },
    yAxis: [{ type: 'value', name: 'cross-entropy', scale: true }, { type: 'value', name: 'policy loss', scale: true, splitLine: { show: false } }],
    series: [
      { name: 'mean loss', type: 'line', showSymbol: false, data: pairs(c.step, c.meanLoss) },
      { name: 'validation loss', type: 'line', data: c.validation.map((v) => [v.step, v.loss]) },
      { name: 'policy loss', type: 'line', yAxisIndex: 1, showSymbol: false, data: pairs(c.step, c.policyLoss) },
    ],
  };
}

function heatmapOption(title, values, g, { binary = false } = {}) {
  const data = [];
  for (let l = 0; l < g.layers; l++) for (let h = 0; h < g.heads; h++) data.push([h, l, values[l * g.heads + h]]);
  return {
    animation: false,
    title: { text: title, left: 'center', textStyle: { fontSize: 13 } },
    tooltip: { formatter: (p) => `layer ${p.value[1]}, head ${p.value[0]}: ${binary ? (p.value[2] ? 'chosen' : 'not chosen') : p.value[2].toFixed(3)}` },
    grid: { left: 64, right: 24, top: 36, bottom: 70 },
    xAxis: { type: 'category', name: 'head', nameLocation: 'middle', nameGap: 24, data: Array.from({ length: g.heads }, (_, h) => String(h)), splitArea: { show: true } },
    yAxis: { type: 'category', name: 'layer', nameLocation: 'middle', nameGap: 28, inverse: true, data: Array.from({ length: g.layers }, (_, l) => String(l)), splitArea: { show: true } },
    visualMap: binary
      ? { type: 'piecewise', orient: 'horizontal', left: 'center', bottom: 0, pieces: [{ value: 1, label: 'chosen', color: '#c0392b' }, { value: 0, label: 'not chosen', color: '#eef0f4' }] }
      : { type: 'continuous', min: 0, max: 1, calculable: false, orient: 'horizontal', left: 'center', bottom: 0, text: ['p = 1', 'p = 0'], inRange: { color: ['#f7fbff', '#6baed6', '#08306b'] } },
    series: [{ type: 'heatmap', data, itemStyle: { borderColor: '#fff', borderWidth: 1 } }],
  };
}

function FinalTable({ j }) {
  if (!j.table) return html`<p class="muted">${j.status === 'failed' ? 'the job failed' : 'appears when the eval phase is done'}</p>`;
  return html`<table id="final-table">
    <thead><tr><th>method</th><th class="num">accuracy</th><th class="num">95% interval</th><th class="num">n</th><th>metric</th></tr></thead>
    <tbody>${j.table.map((r) => html`<tr data-mode=${r.mode}><td>${r.method}</td><td class="num">${pct(r.accuracy)}</td>
      <td class="num">[${pct(r.lower)}, ${pct(r.upper)}]</td><td class="num">${r.n}</td><td>${r.metric}</td></tr>`)}</tbody></table>
    <p class="muted">shots compressed: ${j.shotsCompressed}${j.heads ? `; heads in the MTV: ${j.heads.reduce((a, b) => a + b, 0)} of ${j.heads.length}` : ''}${j.artifact ? `; artifact ${j.artifact}` : ''}</p>`;
}

function JobDetail({ j }) {
  const curves = j.curves.step.length > 0 || j.curves.validation.length > 0;
  return html`
    <section><h2>REINFORCE: ${j.jobId}</h2>
      ${curves ? html`<${Chart} id="curves" option=${curvesOption(j)} />` : html`<p class="muted">the curves appear when the locate phase runs</p>`}</section>
    <section><h2>Bernoulli probabilities per head</h2>
      ${j.probabilities
        ? html`<${Chart} id="heatmap" className="chart heat" option=${heatmapOption(`layer × head, step ${j.probabilitiesStep ?? '–'}`, j.probabilities, j.geometry)} />`
        : html`<p class="muted">appears at the first locate step</p>`}</section>
    ${j.heads ? html`<section><h2>Chosen heads</h2>
      <${Chart} id="heads-heatmap" className="chart heat" option=${heatmapOption(`${j.heads.reduce((a, b) => a + b, 0)} heads chosen (selection loss ${j.selectionLoss == null ? '–' : j.selectionLoss.toFixed(3)})`, j.heads, j.geometry, { binary: true })} /></section>` : ''}
    <section><h2>Accuracy</h2><${FinalTable} j=${j} /></section>`;
}

function App() {
  const { state, link } = useStream();
  const [, tick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => tick((x) => x + 1), 1000); // heartbeat ages
    return () => clearInterval(t);
  }, []);
  if (!state) return html`<header><h1>MTV fleet</h1><span class=${`badge ${link}`} id="link">${link}</span></header>`;
  const job = state.jobs[state.jobs.length - 1];
  const now = state.coordinator.now + (Date.now() - state.receivedAt); // the coordinator's clock
  return html`
    <header><h1>MTV fleet</h1><span class=${`badge ${link}`} id="link">${link}</span>
      <span class="muted">coordinator session ${state.coordinator.sessionId.slice(0, 8)}, up since ${new Date(state.coordinator.startedAt).toLocaleTimeString()}</span></header>
    <main>
      <section class="wide"><h2>Jobs</h2><${Jobs} jobs=${state.jobs} /></section>
      <section class="wide"><h2>Workers</h2><${Workers} workers=${state.workers} now=${now} /></section>
      ${job ? html`<${JobDetail} j=${job} />` : ''}
    </main>`;
}

const root = document.getElementById('app');
root.textContent = ''; // the 'loading' line
render(html`<${App} />`, root);
