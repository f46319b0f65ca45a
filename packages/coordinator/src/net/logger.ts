/** Where connection events are logged; every close names the peer, the code and the reason. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export const consoleLogger: Logger = {
  info: (m) => console.info(m),
  warn: (m) => console.warn(m),
};

export const silentLogger: Logger = { info: () => {}, warn: () => {} };

/** The console logger of a command: with `quiet`, warnings only. */
export const commandLogger = (quiet: boolean): Logger => (quiet ? { info: () => {}, warn: consoleLogger.warn } : consoleLogger);
