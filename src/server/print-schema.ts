import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderSchemaFile, SCHEMA_FILE } from '../graphql/schema-file';

/** `npm run schema` (run from the project root): writes the subgraph SDL that composition, rover and codegen read. */
renderSchemaFile()
  .then((text) => {
    const path = resolve(process.cwd(), SCHEMA_FILE);
    writeFileSync(path, text);
    process.stdout.write(`wrote ${path}\n`);
  })
  .catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
