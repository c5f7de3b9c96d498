// Hides passwords given as flags from `ps`: Node rewrites the process's argv area on Linux when
// process.title is set, so /proc/<pid>/cmdline shows the masked command line instead.

const SECRET_FLAGS = ['--source-db-password', '--target-db-password'];

/** The command line with the values of password flags replaced by asterisks. */
export function maskedArgv(argv: readonly string[]): string[] {
  const masked: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const inline = SECRET_FLAGS.find((flag) => arg.startsWith(`${flag}=`));
    if (inline !== undefined) {
      masked.push(`${inline}=********`);
    } else if (SECRET_FLAGS.includes(arg) && i + 1 < argv.length) {
      masked.push(arg, '********');
      i++;
    } else {
      masked.push(arg);
    }
  }
  return masked;
}

/** Replaces the visible command line when it carries a password; returns whether it did. */
export function hidePasswordsFromProcessList(argv: readonly string[]): boolean {
  const masked = maskedArgv(argv);
  if (masked.every((arg, i) => arg === argv[i])) return false;
  process.title = ['godwit', ...masked].join(' ');
  return true;
}
