/**
 * A mistake on the command line (bad option value, missing argument). Exits with the usage code;
 * store failures stay ThreadStoreErrors so they keep their own codes.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Ctrl-C at a prompt: the command stops quietly with exit code 130. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}

/** Raised to end a command with an exit code after it told the user what happened. */
export class ExitWith extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}
