import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { composeServices as composeWithGuild } from '@theguild/federation-composition';
import { buildASTSchema, buildSchema, isEnumType, Kind, isInputObjectType, isObjectType, parse, type GraphQLSchema } from 'graphql';
import { renderSchemaFile, SCHEMA_FILE } from '../../src/graphql/schema-file';
import { ORDERS_SDL } from '../../examples/orders-subgraph/schema';

const root = join(__dirname, '..', '..');
const committed = () => readFileSync(join(root, SCHEMA_FILE), 'utf8');
const services = () => [
  { name: 'orders', url: 'http://orders.local/graphql', typeDefs: parse(ORDERS_SDL) },
  { name: 'invoicing', url: 'http://invoicing.local/graphql', typeDefs: parse(committed()) },
];

describe('the committed subgraph schema', () => {
  it('is exactly what the code produces (run `npm run schema` after changing a type)', async () => {
    expect(committed()).toBe(await renderSchemaFile());
  });

  it("composes with an orders subgraph under Apollo's composition, keeping @oneOf", () => {
    const result = composeServices(services());
    expect(result.errors ?? []).toEqual([]);
    const supergraph = buildSchema(result.supergraphSdl!);
    expect(Object.keys((supergraph.getType('Order') as never as { getFields(): object }).getFields())).toEqual(
      expect.arrayContaining(['id', 'number', 'invoices']),
    );
    expect(result.supergraphSdl).toMatch(/input CreateInvoiceInput[^{]*@oneOf/);
  });

  it.each([
    ['Apollo', () => composeServices(services()).supergraphSdl],
    ['The Guild', () => (composeWithGuild(services()) as { supergraphSdl?: string }).supergraphSdl],
  ])("carries @cost and @listSize into the supergraph under %s's composition, for a router's demand control", (_name, compose) => {
    const sdl = compose()!;
    expect(sdl).toMatch(/lines: \[InvoiceLine!\] @cost\(weight: 10\) @listSize\(assumedSize: 20\)/);
    expect(sdl).toMatch(/taxes: \[TaxLine!\] @cost\(weight: 10\)/);
    expect(sdl).toMatch(/kpis: InvoiceKpis @cost\(weight: 10\)/);
    expect(sdl).toMatch(/\): CreateInvoicePayload! @cost\(weight: 100\)/);
    // A page's size is its first or last: the router sizes edges and nodes by them. (Layouts and argument order differ.)
    const listSize = /\): InvoiceConnection![^{}\n]*@listSize\(([^)]*)\)/.exec(sdl)?.[1]?.replace(/\s+/g, ' ') ?? '';
    for (const arg of ['assumedSize: 20', 'slicingArguments: ["first", "last"]', 'sizedFields: ["edges", "nodes"]', 'requireOneSlicingArgument: false']) expect(listSize).toContain(arg);
  });

  it("composes under The Guild's composition, keeping @oneOf", () => {
    const result = composeWithGuild(services()) as { errors?: Array<{ message: string }>; supergraphSdl?: string };
    expect((result.errors ?? []).map((e) => e.message)).toEqual([]);
    expect(result.supergraphSdl).toMatch(/input CreateInvoiceInput[^{]*@oneOf/);
  });

  it('describes every type, field, argument and enum value, for Studio and Sandbox users', () => {
    const doc = parse(committed());
    const types = { ...doc, definitions: doc.definitions.filter((d) => d.kind !== Kind.DIRECTIVE_DEFINITION && d.kind !== Kind.SCHEMA_EXTENSION) };
    const schema: GraphQLSchema = buildASTSchema(types, { assumeValidSDL: true });
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || ['String', 'Boolean', 'Int', 'Float', 'ID'].includes(type.name)) continue;
      if (!type.description) missing.push(type.name);
      if (isObjectType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          for (const arg of 'args' in field ? field.args : []) if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
        }
      }
      if (isEnumType(type)) for (const v of type.getValues()) if (!v.description) missing.push(`${type.name}.${v.name}`);
    }
    expect(missing).toEqual([]);
  });
});
