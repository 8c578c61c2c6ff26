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
