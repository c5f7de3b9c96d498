// Typed access to a command's own validated options, so commands never cast raw values.

import type { QualifiedName } from '../core/identifiers.js';
import type { OptionValue } from './option-spec.js';

/** A command's options after resolution; getters fail loudly on a programming mistake. */
export class CommandOptions {
  constructor(
    private readonly commandName: string,
    private readonly values: ReadonlyMap<string, OptionValue>,
  ) {}

  /** Whether the option has a value (given or defaulted). */
  has(name: string): boolean {
    return this.values.has(name);
  }

  /** A string option, or undefined when unset. */
  string(name: string): string | undefined {
    return this.get(name, (v) => typeof v === 'string') as string | undefined;
  }

  /** An integer option, or undefined when unset. */
  int(name: string): number | undefined {
    return this.get(name, (v) => typeof v === 'number') as number | undefined;
  }

  /** A boolean option; unset counts as false. */
  bool(name: string): boolean {
    return (this.get(name, (v) => typeof v === 'boolean') as boolean | undefined) ?? false;
  }

  /** A list of words or identifiers, empty when unset. */
  list(name: string): string[] {
    return (this.get(name, (v) => Array.isArray(v) && v.every((item) => typeof item === 'string')) as string[] | undefined) ?? [];
  }

  /** A list of table names, empty when unset. */
  tables(name: string): QualifiedName[] {
    return (this.get(name, (v) => Array.isArray(v) && v.every((item) => typeof item === 'object')) as QualifiedName[] | undefined) ?? [];
  }

  /** Every value, for logging the effective configuration. */
  entries(): [string, OptionValue][] {
    return [...this.values.entries()];
  }

  private get(name: string, check: (value: OptionValue) => boolean): OptionValue | undefined {
    const value = this.values.get(name);
    if (value === undefined) return undefined;
    if (!check(value)) throw new TypeError(`option ${name} of ${this.commandName} read with the wrong type`);
    return value;
  }
}
