import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import { prettyFormatQueryPlan, QueryPlanner, type PlanNode, type QueryPlan } from '@apollo/query-planner';
import { parse } from 'graphql';
import { ORDERS_SDL } from '../../examples/orders-subgraph/schema';

const root = join(__dirname, '..', '..');
const supergraph = () => {
  const result = composeServices([
    { name: 'orders', url: 'http://orders.local/graphql', typeDefs: parse(ORDERS_SDL) },
    { name: 'invoicing', url: 'http://invoicing.local/graphql', typeDefs: parse(readFileSync(join(root, 'schema/invoicing.graphql'), 'utf8')) },
  ]);
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return Supergraph.build(result.supergraphSdl);
};

function plan(query: string): QueryPlan & { node?: PlanNode } {
  const sg = supergraph();
  const planner = new QueryPlanner(sg, { incrementalDelivery: { enableDefer: true } });
  const built = planner.buildQueryPlan(operationFromDocument(sg.schema, parse(query)));
  if (built.node?.kind === 'Subscription') throw new Error('not a subscription test');
  return built as QueryPlan & { node?: PlanNode };
}

/** Every fetch of a plan node, with whether it sits under a deferred block. */
function fetches(node: PlanNode | undefined, deferred = false, out: Array<{ service: string; operation: string; deferred: boolean }> = []) {
  if (!node) return out;
  switch (node.kind) {
    case 'Fetch':
      out.push({ service: node.serviceName, operation: node.operation, deferred });
      break;
    case 'Sequence':
    case 'Parallel':
      node.nodes.forEach((n) => fetches(n, deferred, out));
      break;
    case 'Flatten':
      fetches(node.node, deferred, out);
      break;
    case 'Defer':
      fetches(node.primary.node, deferred, out);
      node.deferred.forEach((d) => fetches(d.node, true, out));
      break;
    case 'Condition':
      fetches(node.ifClause, deferred, out);
      fetches(node.elseClause, deferred, out);
      break;
  }
  return out;
}

describe('query plans through a router', () => {
  it('with lines under @defer, the header comes first and lines follow through Invoice entity resolution', () => {
    const p = plan(`query ($id: ID!) {
      invoice(id: $id) {
        id number total { amount currencyCode }
        ... @defer { lines { description quantity total { amount } } taxes { amount { amount } } }
      }
    }`);
    const all = fetches(p.node);
    const primary = all.filter((f) => !f.deferred);
    const later = all.filter((f) => f.deferred);
    expect(primary).toHaveLength(1);
    expect(primary[0]!.operation).toMatch(/invoice\(id:\$id\)/);
    expect(primary[0]!.operation).not.toMatch(/lines/);
    expect(later).toHaveLength(1);
    expect(later[0]!.service).toBe('invoicing');
    expect(later[0]!.operation).toMatch(/_entities\(representations:\$representations\)[\s\S]*\.\.\.on Invoice[\s\S]*lines/);
    expect(prettyFormatQueryPlan(p)).toMatch(/Defer/);
  });

  it('an order page with invoices fetches orders first, then all invoices of the page in one subgraph call', () => {
    const p = plan('{ orders { id number invoices { id total { amount } lines { sku } } } }');
    const all = fetches(p.node);
    expect(all.map((f) => f.service)).toEqual(['orders', 'invoicing']);
    expect(all[1]!.operation).toMatch(/_entities[\s\S]*\.\.\.on Order[\s\S]*invoices[\s\S]*lines/);
  });
});
