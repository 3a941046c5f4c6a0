/** Jest runs TypeScript through SWC; `tsc --noEmit` (npm run typecheck) does the type-checking. */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.test.ts'],
  // The chaos run has its own command (npm run test:chaos): it needs --expose-gc and minutes, not seconds.
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '<rootDir>/test/chaos/'],
  setupFiles: ['reflect-metadata'],
  // pg-boss and two of its dependencies ship only ES modules; Jest's CommonJS runtime on Node 20 cannot require them,
  // so SWC compiles them to CommonJS like our own code (Node itself loads them with require(esm)).
  transformIgnorePatterns: ['/node_modules/(?!(pg-boss|serialize-error|non-error)/)'],
  transform: {
    '^.+/node_modules/(pg-boss|serialize-error|non-error)/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          target: 'es2022',
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  testTimeout: 30000,
};
