// Expands `${VAR}` in upstream commands, args, cwd, env values, URLs and headers; a missing variable is an error, never "".

import { UpstreamConfigError } from './errors.js';

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replaces every `${NAME}` with its value from `env`; throws UpstreamConfigError naming the first missing one. */
export function expandEnv(template: string, env: NodeJS.ProcessEnv, where: string): string {
  return template.replace(VARIABLE, (_whole, name: string) => {
    const value = env[name];
    if (value === undefined) {
      throw new UpstreamConfigError(`${where}: environment variable ${name} is not set`);
    }
    return value;
  });
}

export function expandEnvMap(
  map: Readonly<Record<string, string>> | undefined,
  env: NodeJS.ProcessEnv,
  where: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(map ?? {})) {
    out[key] = expandEnv(value, env, `${where}.${key}`);
  }
  return out;
}
