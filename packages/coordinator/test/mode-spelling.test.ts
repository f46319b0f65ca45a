// The combined eval mode is spelled `mtv+icl` in every CLI, the wire protocol and the checkpoint;
// `mtv-icl` is accepted as an alias and printed as the canonical spelling (issue 11 item 9).
import { describe, expect, it } from 'vitest';
import { EVAL_MODES, canonicalEvalMode } from '@mtv/mtv';
import { EVAL_PHASE_MODES } from '../src/jobs/index.js';
import { specFromFlags, type SpecFlags } from '../src/cli/spec-options.js';
import { coordinatorProgram } from '../src/cli/coordinator-command.js';

describe('eval mode spelling', () => {
  it('one canonical list in @mtv/mtv and the coordinator; aliases map to it', () => {
    expect([...EVAL_MODES]).toEqual([...EVAL_PHASE_MODES]);
    expect(canonicalEvalMode('mtv-icl')).toBe('mtv+icl');
    expect(canonicalEvalMode('mtv+icl')).toBe('mtv+icl');
    expect(canonicalEvalMode('bogus')).toBeNull();
  });

  it('mtv coordinator --modes zero-shot,mtv-icl gives the spec the canonical mtv+icl', async () => {
    const program = coordinatorProgram();
    program.parse(['--data', '/tmp/d.jsonl', '--model-hash', 'sha256:x', '--geometry', '1,1,4', '--modes', 'zero-shot,mtv-icl'], { from: 'user' });
    const spec = await specFromFlags(program.opts<SpecFlags>(), '/tmp/state');
    expect(spec.eval?.modes).toEqual(['zero-shot', 'mtv+icl']);
  });
});
