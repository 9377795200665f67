// The CLI's exit codes, like gh's, and the one error that carries one.

/** 0 success; 1 failure; 2 usage error; 4 authentication or permission refused (401, 403, no token). */
export const EXIT = { ok: 0, failure: 1, usage: 2, auth: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure to report in one line on stderr, and the exit code it ends the process with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failure,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage);
