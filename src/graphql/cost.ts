import {
  getNamedType,
  getNullableType,
  isCompositeType,
  isInputObjectType,
  isListType,
  Kind,
  type ArgumentNode,
  type DirectiveNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';

/**
 * Demand control for one operation, before it runs: the estimated cost a router's demand control would give it (the
 * IBM GraphQL Cost Directive specification as Apollo Router implements it, `static_estimated`), and how many entity
 * representations its `_entities` fields ask for, counted across aliases and fragments.
 *
 * - A field costs `count × (weight + cost of its selections) + cost of its arguments`. The weight is its
 *   `@cost(weight:)`, else 1 for an object, interface or union and 0 for a scalar or enum. The count is 1, or for a
 *   list its `@listSize` (the largest slicing argument given, else `assumedSize`), else `defaultListSize`. A field whose
 *   `@listSize` names `sizedFields` (a connection's `edges` and `nodes`) passes that count on to those fields of its
 *   selection instead: they are the lists its slicing arguments size.
 * - `_entities` counts as many as the representations it is given: what a caller sends, not what it claims.
 * - Arguments are priced from the values as sent, variables included, before any coercion: an input object costs 1
 *   plus its fields, a list the sum of its items, a scalar 0 (their `@cost` where declared).
 * - A mutation costs 10 more. `@skip`/`@include` with a literal or variable condition are honoured on fields, and
 *   also on fragments, as execution honours them (the Router reads them on fields only, so its figure can be higher).
 *
 * Cost: linear in the document (each fragment is scored once per parent type and reused) plus one walk of the
 * argument values; nothing is resolved or coerced.
 */
export interface CostEstimate {
  cost: number;
  representations: number;
}

export interface CostOptions {
  /** The size assumed for a list without @listSize (Apollo Router's `list_size`). */
  defaultListSize: number;
}

interface ListSize {
  assumedSize: number | null;
  slicingArguments: string[];
  sizedFields: string[];
}

/** The list fields, one level down, that a connection field's slicing arguments size, and the size. */
interface Sized {
  fields: ReadonlySet<string>;
  count: number;
}

interface Score {
  cost: number;
  representations: number;
}

const ZERO: Score = { cost: 0, representations: 0 };
const ENTITIES = '_entities';

/** Reads @cost and @listSize from the schema's SDL once; `estimate` is then called per request. */
export class CostEstimator {
  private readonly weights = new Map<object, number>();
  private readonly listSizes = new Map<object, ListSize>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly options: CostOptions,
  ) {
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__')) continue;
      const fields = 'getFields' in type ? (type.getFields() as Record<string, GraphQLField<unknown, unknown> | GraphQLInputField>) : {};
      for (const field of Object.values(fields)) {
        this.read(field, field.astNode?.directives);
        for (const arg of 'args' in field ? field.args : []) this.read(arg, arg.astNode?.directives);
      }
    }
  }

  /** The estimate for the operation; `variables` are the request's, as sent. */
  estimate(operation: OperationDefinitionNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>, variables: Record<string, unknown>): CostEstimate {
    const root = operation.operation === 'mutation' ? this.schema.getMutationType() : operation.operation === 'subscription' ? this.schema.getSubscriptionType() : this.schema.getQueryType();
    if (!root) return { cost: 0, representations: 0 };
    const memo = new Map<string, Score>();
    const score = this.selectionSet(operation.selectionSet, root, { fragments, variables, memo });
    return { cost: score.cost + (operation.operation === 'mutation' ? 10 : 0), representations: score.representations };
  }

  private read(element: object, directives: readonly DirectiveNode[] | undefined): void {
    for (const d of directives ?? []) {
      const args = new Map((d.arguments ?? []).map((a) => [a.name.value, a.value]));
      if (d.name.value === 'cost') {
        const weight = args.get('weight');
        if (weight && (weight.kind === Kind.INT || weight.kind === Kind.FLOAT || weight.kind === Kind.STRING)) this.weights.set(element, Number(weight.value));
      } else if (d.name.value === 'listSize') {
        const assumed = args.get('assumedSize');
        const strings = (v: ValueNode | undefined) => (v?.kind === Kind.LIST ? v.values.flatMap((x) => (x.kind === Kind.STRING ? [x.value] : [])) : []);
        this.listSizes.set(element, {
          assumedSize: assumed?.kind === Kind.INT ? Number(assumed.value) : null,
          slicingArguments: strings(args.get('slicingArguments')),
          sizedFields: strings(args.get('sizedFields')),
        });
      }
    }
  }

  private selectionSet(set: SelectionSetNode, parent: GraphQLNamedType, ctx: Walk, sized?: Sized): Score {
    let cost = 0;
    let representations = 0;
    for (const selection of set.selections) {
      if (skipped(selection.directives, ctx.variables)) continue;
      let s: Score;
      if (selection.kind === Kind.FIELD) s = this.field(selection, parent, ctx, sized);
      else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? this.schema.getType(selection.typeCondition.name.value) : parent;
        s = type ? this.selectionSet(selection.selectionSet, type, ctx, sized) : ZERO;
      } else s = this.fragment(selection.name.value, ctx, sized);
      cost += s.cost;
      representations += s.representations;
    }
    return { cost, representations };
  }

  /**
   * A fragment's score depends only on the page size it is spread under (on a connection), if any: scored once per
   * size, however often it is spread.
   */
  private fragment(name: string, ctx: Walk, sized?: Sized): Score {
    const key = sized ? `${name}\u0000${[...sized.fields].join(',')}\u0000${sized.count}` : name;
    const known = ctx.memo.get(key);
    if (known) return known;
    const def = ctx.fragments.get(name);
    const type = def && this.schema.getType(def.typeCondition.name.value);
    ctx.memo.set(key, ZERO); // a cycle (refused by validation anyway) scores nothing instead of recursing
    const s = def && type ? this.selectionSet(def.selectionSet, type, ctx, sized) : ZERO;
    ctx.memo.set(key, s);
    return s;
  }

  private field(node: FieldNode, parent: GraphQLNamedType, ctx: Walk, sized?: Sized): Score {
    if (node.name.value.startsWith('__') || !('getFields' in parent)) return ZERO;
    const def = (parent.getFields() as Record<string, GraphQLField<unknown, unknown>>)[node.name.value];
    if (!def) return ZERO;
    const named = getNamedType(def.type);
    const weight = this.weights.get(def) ?? (isCompositeType(named) ? 1 : 0);
    const size = this.listSizes.get(def);
    // A connection: its slicing arguments size the lists it names one level down, not the field itself.
    const sizes: Sized | undefined = size && size.sizedFields.length > 0 ? { fields: new Set(size.sizedFields), count: this.slicedCount(size, node.arguments, ctx.variables) } : undefined;
    const inner = node.selectionSet ? this.selectionSet(node.selectionSet, named, ctx, sizes) : ZERO;

    // Representations are only ever asked for at the root (`_entities` is a Query field), so they add up, never multiply.
    let count = 1;
    let representations = inner.representations;
    if (node.name.value === ENTITIES && parent === this.schema.getQueryType()) {
      count = listLength(argumentValue(node.arguments, 'representations'), ctx.variables);
      representations += count;
    } else if (isListType(getNullableType(def.type))) {
      count = sized?.fields.has(node.name.value) ? sized.count : sizes ? 1 : this.listCount(def, node.arguments, ctx.variables);
    }

    let args = 0;
    for (const argNode of node.arguments ?? []) {
      const argDef = def.args.find((a) => a.name === argNode.name.value);
      if (argDef) args += this.inputCost(argNode.value, argDef, ctx.variables);
    }
    return { cost: count * (weight + inner.cost) + args, representations };
  }

  private listCount(def: GraphQLField<unknown, unknown>, args: readonly ArgumentNode[] | undefined, variables: Record<string, unknown>): number {
    const size = this.listSizes.get(def);
    return size ? this.slicedCount(size, args, variables) : this.options.defaultListSize;
  }

  /** The largest slicing argument given, else the assumed size, else the default. */
  private slicedCount(size: ListSize, args: readonly ArgumentNode[] | undefined, variables: Record<string, unknown>): number {
    const sliced = size.slicingArguments.map((name) => argumentValue(args, name)).map((v) => rawValue(v, variables)).filter((v): v is number => typeof v === 'number');
    // A negative size (refused later by the resolver) must not lower the cost of the rest of the operation.
    if (sliced.length > 0) return Math.max(0, ...sliced);
    return size.assumedSize ?? this.options.defaultListSize;
  }

  /** Prices an argument or input field from the value as sent: a literal, or a variable's raw JSON. */
  private inputCost(node: ValueNode, def: GraphQLArgument | GraphQLInputField, variables: Record<string, unknown>): number {
    const weight = this.weights.get(def);
    switch (node.kind) {
      case Kind.VARIABLE:
        return this.rawCost(variables[node.name.value], def, variables);
      case Kind.NULL:
        return 0;
      case Kind.LIST:
        return node.values.reduce((sum, v) => sum + this.inputCost(v, def, variables), weight ?? 0);
      case Kind.OBJECT: {
        const named = getNamedType(def.type);
        if (!isInputObjectType(named)) return weight ?? 0;
        const fields = named.getFields();
        return node.fields.reduce((sum, f) => {
          const field = fields[f.name.value];
          return field ? sum + this.inputCost(f.value, field, variables) : sum;
        }, weight ?? 1);
      }
      default:
        return weight ?? 0;
    }
  }

  /** The same pricing on a variable's JSON, whose depth the request guard has bounded. */
  private rawCost(value: unknown, def: GraphQLArgument | GraphQLInputField, variables: Record<string, unknown>): number {
    const weight = this.weights.get(def);
    if (value === null || value === undefined) return 0;
    if (Array.isArray(value)) return value.reduce((sum: number, v) => sum + this.rawCost(v, def, variables), weight ?? 0);
    const named = getNamedType(def.type);
    // An object only costs as an input object; a custom scalar holding one (`_Any`) costs its weight.
    if (typeof value !== 'object' || !isInputObjectType(named)) return weight ?? 0;
    const fields = named.getFields();
    let cost = weight ?? 1;
    for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
      const field = fields[name];
      if (field) cost += this.rawCost(v, field, variables);
    }
    return cost;
  }
}

interface Walk {
  fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
  memo: Map<string, Score>;
}

function argumentValue(args: readonly ArgumentNode[] | undefined, name: string): ValueNode | undefined {
  return args?.find((a) => a.name.value === name)?.value;
}

/** A literal or variable argument's value as sent: numbers, booleans and lists' lengths are what matter here. */
function rawValue(node: ValueNode | undefined, variables: Record<string, unknown>): unknown {
  if (!node) return undefined;
  switch (node.kind) {
    case Kind.VARIABLE:
      return variables[node.name.value];
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.BOOLEAN:
      return node.value;
    case Kind.LIST:
      return node.values;
    default:
      return undefined;
  }
}

/** How many items a list argument holds as sent; a single value coerces to a list of one. */
function listLength(node: ValueNode | undefined, variables: Record<string, unknown>): number {
  const v = rawValue(node, variables);
  if (Array.isArray(v)) return v.length;
  return v === undefined || v === null ? 0 : 1;
}

/** `@skip(if:)` / `@include(if:)` as a router evaluates them before planning. */
function skipped(directives: readonly DirectiveNode[] | undefined, variables: Record<string, unknown>): boolean {
  for (const d of directives ?? []) {
    if (d.name.value !== 'skip' && d.name.value !== 'include') continue;
    const condition = rawValue(argumentValue(d.arguments, 'if'), variables);
    if (d.name.value === 'skip' && condition === true) return true;
    if (d.name.value === 'include' && condition === false) return true;
  }
  return false;
}
