/**
 * Errors a user can act on. Their message is one line meant for a terminal or a log, so the
 * entry point prints the message alone, never a stack trace.
 */
export class UserFacingError extends Error {
  override readonly name: string = 'UserFacingError';
}

/** A /proc file that could not be read. */
export class ProcReadError extends UserFacingError {
  override readonly name = 'ProcReadError';
  constructor(
    readonly file: string,
    readonly code: string | undefined,
    detail: string,
  ) {
    super(`cannot read ${file}: ${detail}`);
  }
}

/** A /proc file whose text is not what the kernel writes; names the file, line and field. */
export class ProcParseError extends UserFacingError {
  override readonly name = 'ProcParseError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly field: string,
    detail: string,
  ) {
    super(`${file}:${line}: field ${field}: ${detail}`);
  }
}

/** The message of anything thrown, on one line. */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, ' ');
}
