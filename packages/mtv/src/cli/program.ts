// The `mtv` command line: subcommands extract, locate, run, eval, apply, inspect. main() returns the
// exit code instead of exiting, so tests call it in-process; every failure is one line on stderr.
import { Command, CommanderError } from 'commander';
import { MTV_CODE_VERSION } from '../artifact/io.js';
import { registerApply } from './commands/apply.js';
import { registerBuild } from './commands/build.js';
import { registerEval } from './commands/evaluate.js';
import { registerInspect } from './commands/inspect.js';
import { registerRelabel } from './commands/relabel.js';
import { writeLine, type CliIo } from './io.js';

export function buildProgram(io: CliIo): Command {
  const program = new Command('mtv')
    .description('Multimodal Task Vectors: many-shot multimodal in-context learning compressed into attention heads')
    .version(MTV_CODE_VERSION)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: () => {} });
  registerBuild(program, io);
  registerEval(program, io);
  registerApply(program, io);
  registerInspect(program, io);
  registerRelabel(program, io);
  // Subcommands inherit the error handling (commander copies settings at creation; set them again).
  for (const c of program.commands) {
    c.exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: () => {} });
  }
  return program;
}

/** First line of an error message (a stack or a multi-line cause stays out of the one-line report). */
const oneLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();

export async function main(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      writeLine(io.stderr, `mtv: ${oneLine(e).replace(/^error: /, 'error: ')}`);
      return e.exitCode || 2;
    }
    writeLine(io.stderr, `mtv: error: ${oneLine(e)}`);
    return 1;
  }
}
