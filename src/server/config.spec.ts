import { ConfigError, loadConfig } from './config';

describe('loadConfig', () => {
  it('defaults to port 4001, the embedded store and the Salla sandbox', () => {
    const c = loadConfig({});
    expect(c.port).toBe(4001);
    expect(c.store).toEqual({ databaseUrl: undefined, schema: undefined, dataDir: '.data/pglite' });
    expect(c.salla).toBe('sandbox');
  });

  it('reaches a configured Salla there and only there', () => {
    const c = loadConfig({ SALLA_BASE_URL: 'https://api.salla.dev/admin/v2', SALLA_ACCESS_TOKEN: 'tok' });
    expect(c.salla).toEqual({ baseUrl: 'https://api.salla.dev/admin/v2', accessToken: 'tok' });
  });

  it('sends EXSITED_REDIRECT_URI on Exsited token requests, as its SDKs do (a malformed one stops the start)', () => {
    const exsited = { EXSITED_BASE_URL: 'https://api.exsited.com', EXSITED_CLIENT_ID: 'id', EXSITED_CLIENT_SECRET: 'secret' };
    expect(loadConfig({ ...exsited, EXSITED_REDIRECT_URI: 'https://invoicing.example/callback' }).exsited).toEqual({
      baseUrl: 'https://api.exsited.com',
      credentials: { clientId: 'id', clientSecret: 'secret' },
      redirectUri: 'https://invoicing.example/callback',
    });
    expect(loadConfig(exsited).exsited).toEqual({ baseUrl: 'https://api.exsited.com', credentials: { clientId: 'id', clientSecret: 'secret' } });
    expect(() => loadConfig({ ...exsited, EXSITED_REDIRECT_URI: 'not a url' })).toThrow(/- EXSITED_REDIRECT_URI:/);
  });

  it("Salla OAuth: the app's client and the store's refresh token, Salla's token URL unless told otherwise; it wins over a fixed token", () => {
    const oauth = { SALLA_BASE_URL: 'https://api.salla.dev/admin/v2', SALLA_CLIENT_ID: 'id', SALLA_CLIENT_SECRET: 'secret', SALLA_REFRESH_TOKEN: 'rt' };
    expect(loadConfig(oauth).salla).toEqual({
      baseUrl: 'https://api.salla.dev/admin/v2',
      oauth: { clientId: 'id', clientSecret: 'secret', refreshToken: 'rt', tokenUrl: 'https://accounts.salla.sa/oauth2/token' },
    });
    expect(loadConfig({ ...oauth, SALLA_ACCESS_TOKEN: 'tok', SALLA_TOKEN_URL: 'http://127.0.0.1:9/oauth2/token' }).salla).toMatchObject({ oauth: { tokenUrl: 'http://127.0.0.1:9/oauth2/token' } });
    expect(() => loadConfig({ SALLA_BASE_URL: 'https://api.salla.dev/admin/v2', SALLA_ACCESS_TOKEN: 'tok', SALLA_REFRESH_TOKEN: 'rt' })).toThrow(/- SALLA_CLIENT_ID: [\s\S]*- SALLA_CLIENT_SECRET: /);
  });

  it('operations: SHUTDOWN_TIMEOUT_MS 25 s, no shutdown delay, no metrics token, log format by terminal, unless set', () => {
    expect(loadConfig({})).toMatchObject({ shutdownTimeoutMs: 25_000, shutdownDelayMs: 0, metricsToken: null, logFormat: undefined });
    expect(loadConfig({ SHUTDOWN_TIMEOUT_MS: '5000', SHUTDOWN_DELAY_MS: '2000', METRICS_TOKEN: 'a'.repeat(20), LOG_FORMAT: 'json' })).toMatchObject({
      shutdownTimeoutMs: 5_000,
      shutdownDelayMs: 2_000,
      metricsToken: 'a'.repeat(20),
      logFormat: 'json',
    });
  });

  it.each([
    [{ LOG_FORMAT: 'xml' }, 'LOG_FORMAT'],
    [{ SHUTDOWN_TIMEOUT_MS: '-1' }, 'SHUTDOWN_TIMEOUT_MS'],
    [{ SHUTDOWN_DELAY_MS: '1e9' }, 'SHUTDOWN_DELAY_MS'],
    [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN'],
    [{ PORT: 'eighty' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ DATABASE_SCHEMA: 'drop table;' }, 'DATABASE_SCHEMA'],
    [{ SALLA_BASE_URL: 'not a url', SALLA_ACCESS_TOKEN: 't' }, 'SALLA_BASE_URL'],
    [{ SALLA_BASE_URL: 'https://api.salla.dev/admin/v2' }, 'SALLA_ACCESS_TOKEN'],
    [{ SALLA_BASE_URL: 'https://api.salla.dev/admin/v2', SALLA_CLIENT_ID: 'id', SALLA_CLIENT_SECRET: 's' }, 'SALLA_REFRESH_TOKEN'],
    [{ SALLA_TOKEN_URL: 'accounts.salla.sa' }, 'SALLA_TOKEN_URL'],
  ])('stops on a malformed value and names the variable (%p)', (envVars, name) => {
    expect(() => loadConfig(envVars)).toThrow(ConfigError);
    expect(() => loadConfig(envVars)).toThrow(new RegExp(`- ${name}:`));
  });

  it('Salesforce: client credentials, JWT bearer (login URL default login.salesforce.com), or a fixed session id; none of them stops the start', () => {
    const org = { SALESFORCE_INSTANCE_URL: 'https://acme.my.salesforce.com' };
    expect(loadConfig({ ...org, SALESFORCE_CLIENT_ID: 'id', SALESFORCE_CLIENT_SECRET: 's' }).salesforce).toMatchObject({ credentials: { clientId: 'id', clientSecret: 's' }, loginUrl: 'https://login.salesforce.com' });
    const pem = '-----BEGIN PRIVATE KEY-----\\nMIIB\\n-----END PRIVATE KEY-----';
    expect(loadConfig({ ...org, SALESFORCE_CLIENT_ID: 'id', SALESFORCE_USERNAME: 'u@acme', SALESFORCE_PRIVATE_KEY: pem, SALESFORCE_LOGIN_URL: 'https://test.salesforce.com' }).salesforce).toMatchObject({
      credentials: { clientId: 'id', username: 'u@acme', privateKey: '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----' },
      loginUrl: 'https://test.salesforce.com',
    });
    expect(loadConfig({ ...org, SALESFORCE_ACCESS_TOKEN: 't' }).salesforce).toMatchObject({ credentials: { accessToken: 't' } });
    expect(() => loadConfig(org)).toThrow(/- SALESFORCE_CLIENT_ID: SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET/);
    expect(() => loadConfig({ ...org, SALESFORCE_CLIENT_ID: 'id', SALESFORCE_PRIVATE_KEY: pem })).toThrow(/- SALESFORCE_USERNAME: required/);
  });

  it('JWT verification needs an issuer, an audience and exactly one key source', () => {
    expect(() => loadConfig({ JWT_SECRET: 'x'.repeat(32) })).toThrow(/JWT_ISSUER: required[\s\S]*JWT_AUDIENCE: required/);
    expect(() => loadConfig({ JWT_ISSUER: 'i', JWT_AUDIENCE: 'a', JWT_SECRET: 'x'.repeat(32), JWT_JWKS_URL: 'https://x/jwks' })).toThrow(/exactly one of/);
    expect(() => loadConfig({ JWT_ISSUER: 'i', JWT_AUDIENCE: 'a', JWT_SECRET: 'short' })).toThrow(/JWT_SECRET: JWT_SECRET must be at least 32/);
    expect(loadConfig({ JWT_ISSUER: 'i', JWT_AUDIENCE: 'a', JWT_JWKS_URL: 'https://auth.example.com/jwks' }).jwt).toEqual({
      issuer: 'i',
      audience: 'a',
      tenantClaim: 'tenant_id',
      maxAgeSeconds: 86_400,
      clockToleranceSeconds: 30,
      key: { jwksUrl: 'https://auth.example.com/jwks' },
    });
    expect(loadConfig({}).jwt).toBeNull();
  });

  it('never echoes a secret value in its message', () => {
    try {
      loadConfig({ SALLA_BASE_URL: 'ftp://secret-host', SALLA_ACCESS_TOKEN: 'super-secret-token' });
    } catch (err) {
      expect(String(err)).not.toContain('super-secret-token');
    }
    expect.assertions(1);
  });
});
