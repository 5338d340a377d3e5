// Bad input: the CLI prints the message (naming file and line) and exits with status 2.

export class InputError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
  ) {
    super(`${file}${line !== undefined ? `:${line}` : ""}: ${message}`);
    this.name = "InputError";
  }
}
