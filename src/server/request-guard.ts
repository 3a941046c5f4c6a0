import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  isInputObjectType,
  isInputType,
  isLeafType,
  isListType,
  isNonNullType,
  Kind,
  TypeInfo,
  typeFromAST,
  ValidationContext,
  valueFromASTUntyped,
  visit,
  type ASTVisitor,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLInputObjectType,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
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

/** Values (objects, lists and leaves) one request's variables may hold in all; the largest real call has ~5,000. */
const MAX_VARIABLE_VALUES = 100_000;

/**
 * Bounds the work one request may cause, on the request as sent (raw variables and the document): text that cannot
 * be stored, fields an input type does not have, nesting, list lengths, entity representations and the estimated
 * cost. Runs once per operation after validation, so that a refused request costs a walk of what it sent and nothing
 * else (no coercion, no resolver, no ledger query).
 */
export function requestGuard(schema: GraphQLSchema, limits: RequestLimits): ApolloServerPlugin {
  const estimator = new CostEstimator(schema, { defaultListSize: DEFAULT_LIST_SIZE });
  const maxListItems = Math.max(MAX_LIST_ITEMS, limits.maxRepresentations);
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, operation }) {
          if (!operation) return;
          const sent = (request.variables ?? {}) as Record<string, unknown>;
          const problem = variablesProblem(schema, operation, sent, maxListItems) ?? nullWhereRequired(schema, document, operation, sent) ?? literalProblem(document);
          if (problem) throw refused(problem);
          const fragments = new Map<string, FragmentDefinitionNode>();
          for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
          // A variable left out takes its default, which the estimate must count as if it had been sent.
          const variables = { ...sent };
          for (const def of operation.variableDefinitions ?? []) {
            if (def.defaultValue && !(def.variable.name.value in variables)) variables[def.variable.name.value] = valueFromASTUntyped(def.defaultValue);
          }
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

/** Where a value sits in the variables, kept as links and spelled out only for a refusal's message. */
interface At {
  parent: At | null;
  key: string | number;
}
const pathOf = (at: At): string => {
  const parts: string[] = [];
  for (let a: At | null = at; a; a = a.parent) parts.push(typeof a.key === 'number' ? `[${a.key}]` : a.parent ? `.${a.key}` : a.key);
  return parts.reverse().join('');
};

/**
 * Walks each declared variable's value as sent, against its declared type and without recursion: the first string
 * that cannot be stored, field that its input type lacks (graphql-js would quote the whole object once per unknown
 * field), list longer than `maxListItems`, nesting past MAX_VARIABLE_DEPTH, or more than MAX_VARIABLE_VALUES values.
 * Linear in what it walks; variables the operation does not declare are never read by graphql-js, nor here.
 */
export function variablesProblem(schema: GraphQLSchema, operation: OperationDefinitionNode, variables: Record<string, unknown>, maxListItems = MAX_LIST_ITEMS): string | null {
  const stack: Array<{ value: unknown; type: GraphQLInputType | null; at: At; depth: number }> = [];
  for (const def of operation.variableDefinitions ?? []) {
    const name = def.variable.name.value;
    const type = typeFromAST(schema, def.type);
    if (name in variables && type && isInputType(type)) stack.push({ value: variables[name], type, at: { parent: { parent: null, key: 'variables' }, key: name }, depth: 0 });
  }
  let seen = 0;
  while (stack.length > 0) {
    const { value, type: declared, at, depth } = stack.pop()!;
    if (++seen > MAX_VARIABLE_VALUES) return `The variables hold more than ${MAX_VARIABLE_VALUES} values.`;
    if (value === null || value === undefined) continue;
    const type = declared && isNonNullType(declared) ? declared.ofType : declared;
    if (typeof value === 'string') {
      const why = unstorableText(value);
      if (why) return `${pathOf(at)} ${why}, which this API does not accept.`;
      continue;
    }
    if (typeof value !== 'object') continue;
    if (depth >= MAX_VARIABLE_DEPTH) return `${pathOf(at)} is nested more than ${MAX_VARIABLE_DEPTH} levels deep.`;
    if (Array.isArray(value)) {
      if (value.length > maxListItems) return `${pathOf(at)} holds ${value.length} items; a list takes at most ${maxListItems}.`;
      // A list type's items have its item type; a custom scalar (`_Any`) holds JSON of no declared type.
      const item = type && isListType(type) ? type.ofType : type && isLeafType(type) ? null : type;
      value.forEach((v, i) => stack.push({ value: v, type: item, at: { parent: at, key: i }, depth: depth + 1 }));
      continue;
    }
    // A single value where a list is declared is coerced as a list of one.
    const shape = type && isListType(type) ? (isNonNullType(type.ofType) ? type.ofType.ofType : type.ofType) : type;
    const fields = shape && isInputObjectType(shape) ? shape.getFields() : null;
    if (shape && !fields && !isLeafType(shape)) continue;
    for (const [key, v] of Object.entries(value)) {
      const keyWhy = unstorableText(key);
      if (keyWhy) return `a key in ${pathOf(at)} ${keyWhy}, which this API does not accept.`;
      if (fields && !fields[key]) return `${pathOf({ parent: at, key })} is not a field of ${(shape as GraphQLInputObjectType).name}.`;
      stack.push({ value: v, type: fields ? fields[key]!.type : null, at: { parent: at, key }, depth: depth + 1 });
    }
  }
  return null;
}

/**
 * A variable with a default may be used where a value is required (graphql-js allows it), and then an explicit null
 * fails inside execution as an internal error. Refused here instead, naming the variable.
 */
function nullWhereRequired(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>): string | null {
  const nulls = new Set(Object.keys(variables).filter((k) => variables[k] === null));
  if (nulls.size === 0) return null;
  const context = new ValidationContext(schema, document, new TypeInfo(schema), () => undefined);
  for (const usage of context.getRecursiveVariableUsages(operation)) {
    const name = usage.node.name.value;
    if (nulls.has(name) && usage.type && isNonNullType(usage.type) && usage.defaultValue === undefined) {
      return `variables.${name} is null, but $${name} is used where a value is required.`;
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
