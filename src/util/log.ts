// Log lines for a person or a log collector: what a line may carry besides its text, and the two formats of `--log-format`.

export type LogLevel = 'info' | 'warn' | 'error';

/** What a caller may add to a line: its level (else guessed from the text) and the call it is about. */
export interface LogFields {
  level?: LogLevel | undefined;
  /** The correlation id of the call the line is about (the audit records of that call carry the same). */
  correlation_id?: string | undefined;
}

/** A log function: `log(message)` keeps working; callers that know more pass fields. */
export type Log = (message: string, fields?: LogFields) => void;

export type LogFormat = 'text' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

// The words our own messages use when something is wrong; an explicit level wins.
const ERROR_WORDS = /\bFAILED\b|cannot be written|\brefusing\b|\bfatal\b/;
const WARN_WORDS =
  /\bfail(ed|s|ure)?\b|\berror\b|\bdown\b|\bwarning\b|\bcannot\b|\bnot started\b|\brefused\b|\bdenied\b|\btimed out\b|\binvalid\b|\bnot applied\b|\bdisconnected\b|\bheld\b/i;

/** The level of a line its caller did not name: from what the message says. */
export function levelOf(message: string): LogLevel {
  if (ERROR_WORDS.test(message)) return 'error';
  if (WARN_WORDS.test(message)) return 'warn';
  return 'info';
}

/**
 * A Log writing one line per message to `write`: text as before (`portcullis: message`), or one
 * JSON object per line with `ts`, `level`, `msg` and `correlation_id` when the line is about a call.
 */
export function lineLog(
  format: LogFormat,
  write: (line: string) => void,
  now: () => Date = () => new Date(),
): Log {
  if (format === 'text') return (message) => write(`portcullis: ${message}`);
  return (message, fields) => {
    const line: Record<string, string> = {
      ts: now().toISOString(),
      level: fields?.level ?? levelOf(message),
      msg: message,
    };
    if (fields?.correlation_id !== undefined) line.correlation_id = fields.correlation_id;
    write(JSON.stringify(line));
  };
}
