// What a `mist` command is: a one-line summary for `mist --help` and a function of its argv.
export interface Command {
  summary: string;
  /** Async: runs the command with the arguments after its name. Throws MistError for user errors. */
  run(argv: string[]): Promise<void>;
}
