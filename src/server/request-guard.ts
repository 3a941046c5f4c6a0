import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, Kind, visit, type ASTVisitor, type DocumentNode, type FragmentDefinitionNode, type GraphQLSchema, type ValidationContext } from 'graphql';
import { unstorableText } from '../domain/text';
import { CostEstimator } from '../graphql/cost';

/** What one request may ask of the subgraph; checked after validation, before anything is coerced or resolved. */
export interface RequestLimits {
  /** Apollo Router's static cost estimate of the operation, with list sizes as sent (src/graphql/cost.ts). */
  maxCost: number;
  /** `_entities` representations in one request, across aliases and fragments. */
  maxRepresentations: number;
}

/**
 * A page of 100 orders with every invoice field down to line taxes estimates at about 213,000; 1,000
 * representations are ten such pages. A router sends one `_entities` call per entity type and plan step.
 */
export const DEFAULT_REQUEST_LIMITS: RequestLimits = { maxCost: 500_000, maxRepresentations: 1_000 };

/** Nesting deeper than any input type of this schema (the deepest is 4): stops a stack-overflowing variable. */
const MAX_VARIABLE_DEPTH = 16;
/**
 * No list this schema takes holds more (Zuora's fulfillments: 100; representations: the representations limit).
 * graphql-js coerces every item of a variable before a resolver can refuse the list, so a 16 MiB list would cost
 * seconds of coercion; refused here it costs a walk.
 */
const MAX_LIST_ITEMS = 1_000;
/** Lists without @listSize are assumed this long, as Apollo Router's `list_size` setting does. */
const DEFAULT_LIST_SIZE = 10;

const refused = (message: string, code = 'BAD_USER_INPUT') => new GraphQLError(message, { extensions: { code, http: { status: 400 } } });

/**
 * Bounds the work one request may cause, on the request as sent (raw variables and the document): text that cannot
 * be stored, nesting, entity representations and the estimated cost. Runs once per operation after validation, so
 * that a refused request costs a walk of what it sent and nothing else (no coercion, no resolver, no ledger query).
 */
export function requestGuard(schema: GraphQLSchema, limits: RequestLimits): ApolloServerPlugin {
  const estimator = new CostEstimator(schema, { defaultListSize: DEFAULT_LIST_SIZE });
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, operation }) {
          const variables = (request.variables ?? {}) as Record<string, unknown>;
          const problem = variablesProblem(variables, Math.max(MAX_LIST_ITEMS, limits.maxRepresentations)) ?? literalProblem(document);
          if (problem) throw refused(problem);
          if (!operation) return;
          const fragments = new Map<string, FragmentDefinitionNode>();
          for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
          const { cost, representations } = estimator.estimate(operation, fragments, variables);
          if (representations > limits.maxRepresentations) {
            throw refused(`This request asks for ${representations} entity representations; at most ${limits.maxRepresentations} are served in one request (counted across every _entities field).`);
          }
          if (cost > limits.maxCost) {
            throw refused(`This operation's estimated cost is ${Math.round(cost)}, over the limit of ${limits.maxCost} (Apollo demand control's static estimate, with list sizes as sent).`, 'COST_ESTIMATED_TOO_EXPENSIVE');
          }
        },
      };
    },
  };
}

/**
 * Walks the variables as sent, without recursion: the first string that cannot be stored (where it is), a list
 * longer than `maxListItems`, or nesting past MAX_VARIABLE_DEPTH. Linear in their size.
 */
export function variablesProblem(variables: Record<string, unknown>, maxListItems = MAX_LIST_ITEMS): string | null {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: variables, path: 'variables', depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      const why = unstorableText(value);
      if (why) return `${path} ${why}, which this API does not accept.`;
    } else if (value !== null && typeof value === 'object') {
      if (depth >= MAX_VARIABLE_DEPTH) return `${path} is nested more than ${MAX_VARIABLE_DEPTH} levels deep.`;
      if (Array.isArray(value)) {
        if (value.length > maxListItems) return `${path} holds ${value.length} items; a list takes at most ${maxListItems}.`;
        value.forEach((v, i) => stack.push({ value: v, path: `${path}[${i}]`, depth: depth + 1 }));
      }
      else
        for (const [k, v] of Object.entries(value)) {
          const keyWhy = unstorableText(k);
          if (keyWhy) return `a key in ${path} ${keyWhy}, which this API does not accept.`;
          stack.push({ value: v, path: `${path}.${k}`, depth: depth + 1 });
        }
    }
  }
  return null;
}

/** The first string literal of the document that cannot be stored (the document's size is bounded by its tokens). */
function literalProblem(document: DocumentNode): string | null {
  let problem: string | null = null;
  visit(document, {
    StringValue(node) {
      const why = unstorableText(node.value);
      if (why && !problem) problem = `The string at line ${node.loc?.startToken.line ?? '?'} ${why}, which this API does not accept.`;
    },
  });
  return problem;
}

/**
 * graphql-js 16 lets an operation through validation whose root type the schema lacks (graphql 17 has this rule),
 * and execution then fails as an internal error. This subgraph has no subscriptions: say so as a validation error.
 */
export function KnownOperationTypesRule(context: ValidationContext): ASTVisitor {
  const schema = context.getSchema();
  return {
    OperationDefinition(node) {
      const root = node.operation === 'query' ? schema.getQueryType() : node.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
      if (!root) context.reportError(new GraphQLError(`This subgraph does not support ${node.operation} operations.`, { nodes: [node] }));
    },
  };
}
