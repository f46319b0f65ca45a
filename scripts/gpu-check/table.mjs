// The GPU check's results table (markdown). Every expected row is printed: a step that did not run
// or failed leaves its rows as `not run: <reason>`, never out.

const cell = (v) => String(v ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
const row = (cells) => `| ${cells.map(cell).join(' | ')} |`;
const table = (header, rows) => [row(header), row(header.map(() => '---')), ...rows.map(row)].join('\n');
const num = (v, d = 1) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : null);
const why = (step, fallback) => `not run: ${step?.error ?? fallback}`;

/**
 * @param data  what run.mjs collected: { started, finished, options, host, bundle, adapter, tests,
 *              matmul, attention, model }; any step may be missing or { error }.
 * @param expected { matmul: [{ m, n, k, dtype }], attentionS: number[], modelCase: string }
 */
export function resultsMarkdown(data, expected) {
  const out = [];
  const a = data.adapter;
  out.push('# MTV GPU check');
  out.push('');
  out.push(`started ${data.started ?? '?'}, finished ${data.finished ?? '?'}; options: ${data.options ?? 'defaults'}`);
  if (data.host) out.push(`host: ${data.host}`);
  if (data.bundle) out.push(`bundle: commit ${data.bundle.commit ?? '?'}${data.bundle.uncommittedChanges ? ' (+ uncommitted changes)' : ''}, built ${data.bundle.built ?? '?'}, node ${data.bundle.node ?? '?'}`);
  out.push('');
  out.push('## Adapter');
  out.push('');
  if (a && !a.error) {
    out.push(
      table(['field', 'value'], [
        ['adapter', a.description],
        ['backend / feature level', `${a.backend} / ${a.featureLevel}`],
        ['vendor / architecture / device', `${a.vendor} / ${a.architecture} / ${a.device}`],
        ['CPU adapter', String(a.cpuAdapter)],
        ['device features granted', (a.deviceFeatures ?? []).join(', ') || '(none)'],
        ['adapter features', (a.features ?? []).join(', ') || '(none)'],
        ['Vulkan loader', a.vulkanLoader ?? '?'],
        ['maxStorageBufferBindingSize / maxBufferSize', a.limits ? `${a.limits.maxStorageBufferBindingSize} / ${a.limits.maxBufferSize}` : '?'],
        ['maxComputeWorkgroupStorageSize / invocations', a.limits ? `${a.limits.maxComputeWorkgroupStorageSize} / ${a.limits.maxComputeInvocationsPerWorkgroup}` : '?'],
        ...(a.featureNotes?.length ? [['feature notes', a.featureNotes.join('; ')]] : []),
      ]),
    );
  } else out.push(why(a, 'no adapter step'));
  out.push('');
  out.push('## Tests (kernels + model, vitest)');
  out.push('');
  const t = data.tests;
  out.push(
    t && !t.error
      ? table(['passed', 'failed', 'skipped', 'seconds', 'files'], [[t.passed, t.failed, t.skipped, num(t.seconds, 0), t.files]]) +
          (t.failures?.length ? `\n\nfailed:\n${t.failures.map((f) => `- ${f}`).join('\n')}` : '')
      : why(t, 'the test step did not run'),
  );
  out.push('');
  out.push('## Matmul (Y = X·Wᵀ), GFLOP/s');
  out.push('');
  const mm = Array.isArray(data.matmul) ? data.matmul : [];
  // one column per variant the bench ran (register, tiled, gemv, ...), the two basic ones at least
  const variants = [...new Set(['register', 'tiled', ...mm.map((r) => r.variant)])];
  out.push(
    table(
      ['M x N x K', 'W dtype', ...variants],
      // the expected shapes, then any other shape the bench printed (e.g. the 4096³ square GPUs get)
      [...(expected.matmul ?? []), ...mm.filter((r) => !(expected.matmul ?? []).some((s) => s.m === r.m && s.n === r.n && s.k === r.k && s.dtype === r.dtype))]
        .filter((s, i, all) => all.findIndex((o) => o.m === s.m && o.n === s.n && o.k === s.k && o.dtype === s.dtype) === i)
        .map((s) => {
        const pick = (variant) => {
          const r = mm.find((x) => x.m === s.m && x.n === s.n && x.k === s.k && x.dtype === s.dtype && x.variant === variant);
          if (r) return `${num(r.gflops, 1)} (${r.pipeline})`;
          // the bench ran this shape but not this variant: one it does not pick for this shape / adapter
          if (mm.some((x) => x.m === s.m && x.n === s.n && x.k === s.k && x.dtype === s.dtype)) return '-';
          if (Array.isArray(data.matmul)) return 'not run: the bench printed no row for this shape (see kernel-bench.txt)';
          return why(data.matmul, 'the kernel bench did not run');
        };
        return [`${s.m}x${s.n}x${s.k}`, s.dtype, ...variants.map(pick)];
      }),
    ),
  );
  if (data.matmulNote) out.push(`\nthe kernel bench ${data.matmulNote}: the rows above are those it printed before`);
  out.push('');
  out.push(`## Attention (causal, ${data.attention?.layout ?? 'Hq 14, Hkv 2, D 64'}), ms`);
  out.push('');
  const at = data.attention?.rows ?? [];
  out.push(
    table(
      ['case', 'ms (median)', 'min–max', 'GFLOP/s'],
      (expected.attentionS ?? []).flatMap((S) =>
        [`causal prefill S=${S}`, `decode S=${S}`].map((name) => {
          const r = at.find((x) => x.case === name);
          if (r && !r.error) return [name, num(r.ms, 3), `${num(r.msMin, 3)}–${num(r.msMax, 3)}`, num(r.gflops, 1)];
          const reason = r ? `not run: ${r.error}` : data.attention?.rows ? 'not run: no such row in attention.json' : why(data.attention, 'the attention step did not run');
          return [name, reason, '', ''];
        }),
      ),
    ),
  );
  out.push('');
  out.push('## Model (prefill / decode, tokens/s)');
  out.push('');
  const m = data.model;
  out.push(
    table(
      ['checkpoint', 'params', 'prompt tokens', 'prefill tok/s', 'decode tok/s'],
      [m && !m.error ? [m.name, m.params, m.promptTokens, m.prefillTokS, m.decodeTokS] : [expected.modelCase, why(m, 'the model bench did not run'), '', '', '']],
    ),
  );
  out.push('');
  out.push('Logs of every step are next to this file (tests.log, kernel-bench.txt, attention.json, model-bench.txt).');
  return `${out.join('\n')}\n`;
}
