import { InvalidArgumentError } from 'commander';
import { isIsoInstant } from '@taskmesh/protocol';

// Argument parsers for commander (`.argParser`): each returns the typed value or throws InvalidArgumentError, which
// commander reports with the command's help and the CLI turns into exit status 2.

/** A JSON value given on the command line (`'{"ms":1500}'`). */
export function jsonArgument(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`not JSON (${(err as Error).message}); quote it for the shell: '{"key":"value"}'`);
  }
}

/** A whole number of milliseconds, 0 or more. */
export function msArgument(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number of milliseconds');
  return n;
}

/** A parser of a whole number from `min` to `max`. */
export function intArgument(min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    return n;
  };
}

/** An ISO-8601 instant with its zone (`2030-01-01T09:00:00Z`). */
export function instantArgument(text: string): string {
  if (!isIsoInstant(text)) throw new InvalidArgumentError('must be an ISO-8601 instant with a zone, e.g. 2030-01-01T09:00:00Z');
  return text;
}
