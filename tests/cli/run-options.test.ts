// `portcullis run` option parsing: bad ports are usage errors that name the option and the value, before anything starts.
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

describe('port options', () => {
  it.each([
    ['run', '--http', 'abc'],
    ['run', '--http', '65536'],
    ['run', '--http', '-1'],
    ['run', '--ui', '80.5'],
    ['run', '--ui', 'of'],
    // Without a subcommand the arguments are run's.
    ['--http', '3000x', '--', 'node', 'server.js'],
  ])('%s %s %s is a usage error naming the option and the value', async (...args) => {
    const { code, stdout, stderr } = await cli(...args);
    const [option, value] = args[0] === 'run' ? [args[1], args[2]] : [args[0], args[1]];
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      `error: option '${option} ${option === '--ui' ? '<port|off>' : '<port>'}' argument '${value}' is invalid. must be a port number from 0 to 65535 (0 picks a free one)\n(run with --help for usage)\n`,
    );
  });

  it('-n of audit tail is a whole number, and its error goes through the Io too', async () => {
    const { code, stderr } = await cli('audit', 'tail', '-n', 'ten');
    expect(code).toBe(2);
    expect(stderr).toContain("option '-n <count>' argument 'ten' is invalid. must be a whole number");
  });
});
