/**
 * `node -r ./test/support/swc-register.js src/server/main.ts`: runs the TypeScript sources in a child process
 * without a build, compiled on require by SWC with the same settings as jest (decorators with metadata, CommonJS).
 * Used by the tests that kill a real subgraph process; SWC does not type-check (`npm run typecheck` does).
 */
const { transformSync } = require('@swc/core');

const options = {
  jsc: {
    target: 'es2022',
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};

require.extensions['.ts'] = (module, filename) => {
  const source = require('node:fs').readFileSync(filename, 'utf8');
  const { code } = transformSync(source, { ...options, filename });
  module._compile(code, filename);
};
