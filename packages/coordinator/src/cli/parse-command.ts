// Shared by the coordinator and worker commands, whose programs use exitOverride().
import { CommanderError, type Command } from 'commander';

/**
 * Parses `argv` (user arguments, no node/script) into `program`. Returns the exit code when commander
 * already handled the command line itself (help shown: 0; a usage error it printed: 2), else null.
 */
export function parseCommand(program: Command, argv: readonly string[]): number | null {
  try {
    program.parse([...argv], { from: 'user' });
    return null;
  } catch (e) {
    if (e instanceof CommanderError) return e.code === 'commander.helpDisplayed' || e.code === 'commander.help' ? 0 : 2;
    throw e;
  }
}
