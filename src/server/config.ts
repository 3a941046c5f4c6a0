import { z } from 'zod';

const url = (name: string) =>
  z
    .string()
    .trim()
    .refine((v) => {
      try {
        const u = new URL(v);
        return u.protocol === 'http:' || u.protocol === 'https:';
      } catch {
        return false;
      }
    }, `${name} must be an http(s) URL`);

const optional = <T extends z.ZodTypeAny>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const env = z.object({
  PORT: optional(z.coerce.number().int().min(0).max(65535)).default(4001),
  HOST: optional(z.string()).default('0.0.0.0'),
  NODE_ENV: optional(z.string()).default('development'),
  LOG_LEVEL: optional(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])).default('info'),
  DATABASE_URL: optional(
    z
      .string()
      .trim()
      .refine((v) => /^postgres(ql)?:\/\//.test(v), 'DATABASE_URL must be a postgres:// or postgresql:// URL'),
  ),
  DATABASE_SCHEMA: optional(z.string().regex(/^[a-z_][a-z0-9_]*$/, 'DATABASE_SCHEMA must be a lower-case SQL identifier')),
  PGLITE_DATA_DIR: optional(z.string()).default('.data/pglite'),
  SALLA_BASE_URL: optional(url('SALLA_BASE_URL')),
  SALLA_ACCESS_TOKEN: optional(z.string().trim().min(1)),
  PROVIDER_TIMEOUT_MS: optional(z.coerce.number().int().min(100).max(120_000)).default(10_000),
});

export interface Config {
  port: number;
  host: string;
  production: boolean;
  logLevel: string;
  store: { databaseUrl?: string; schema?: string; dataDir: string };
  providerTimeoutMs: number;
  /** A provider whose base URL is configured is reached there and only there; otherwise its sandbox emulator is. */
  salla: { baseUrl: string; accessToken: string } | 'sandbox';
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads and checks the environment once at start; a malformed value stops the start with the variable's name. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = env.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `- ${String(i.path[0] ?? '')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.SALLA_BASE_URL && !e.SALLA_ACCESS_TOKEN) throw new ConfigError('Invalid configuration:\n- SALLA_ACCESS_TOKEN: required when SALLA_BASE_URL is set');
  return {
    port: e.PORT,
    host: e.HOST,
    production: e.NODE_ENV === 'production',
    logLevel: e.LOG_LEVEL,
    store: { databaseUrl: e.DATABASE_URL, schema: e.DATABASE_SCHEMA, dataDir: e.PGLITE_DATA_DIR },
    providerTimeoutMs: e.PROVIDER_TIMEOUT_MS,
    salla: e.SALLA_BASE_URL ? { baseUrl: e.SALLA_BASE_URL, accessToken: e.SALLA_ACCESS_TOKEN! } : 'sandbox',
  };
}
