import {
  getNamedType,
  getNullableType,
  isListType,
  isObjectType,
  isInterfaceType,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
  /** `first` when a paginated field is asked without one. */
  defaultPageSize: number;
  maxPageSize: number;
}

/** A list without pagination is assumed to hold this many items. */
const UNPAGED_LIST_FACTOR = 10;

export interface QueryMeasure {
  depth: number;
  cost: number;
}

/**
 * Depth and estimated cost of the operation a request will run, before it runs. The cost counts
 * every field once per item its parent may return: a field under `runs(first: 100)` counts 100
 * times, one under an unpaginated list 10 times, so a wide or nested query is priced by the rows
 * it could touch. Introspection (`__schema`, `__type`) is free: Grafana's health check and
 * GraphiQL use it, and its size is bounded by the schema.
 */
export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
  limits: QueryLimits,
): QueryMeasure | undefined {
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode =>
      d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName),
  );
  if (!operation) return undefined;
  const root =
    operation.operation === 'query'
      ? schema.getQueryType()
      : operation.operation === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  if (!root) return undefined;
  const fragments = new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );
  const measure = (
    selectionSet: SelectionSetNode,
    type: GraphQLNamedType,
    visiting: Set<string>,
    /** Inside a paginated field: its `edges`/`nodes` lists hold the items already counted. */
    paged = false,
  ): QueryMeasure => {
    let depth = 0;
    let cost = 0;
    for (const selection of selectionSet.selections) {
      let inner: QueryMeasure | undefined;
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value.startsWith('__')) continue;
        const field = fieldOf(type, selection.name.value);
        const childType = field ? getNamedType(field.type) : undefined;
        const isPaged = field?.args.some((a) => a.name === 'first') ?? false;
        const child =
          selection.selectionSet && childType
            ? measure(selection.selectionSet, childType, visiting, isPaged)
            : { depth: 0, cost: 0 };
        const factor =
          field && !paged ? itemsOf(field, selection.arguments ?? [], variables, limits) : 1;
        depth = Math.max(depth, 1 + child.depth);
        cost += 1 + factor * child.cost;
        continue;
      }
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition
          ? (schema.getType(selection.typeCondition.name.value) ?? type)
          : type;
        inner = measure(selection.selectionSet, condition, visiting, paged);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!fragment || visiting.has(name)) continue; // validation reports cycles
        visiting.add(name);
        inner = measure(
          fragment.selectionSet,
          schema.getType(fragment.typeCondition.name.value) ?? type,
          visiting,
          paged,
        );
        visiting.delete(name);
      }
      depth = Math.max(depth, inner.depth);
      cost += inner.cost;
    }
    return { depth, cost };
  };
  return measure(operation.selectionSet, root, new Set());
}

function fieldOf(type: GraphQLNamedType, name: string): GraphQLField<unknown, unknown> | undefined {
  return isObjectType(type) || isInterfaceType(type) ? type.getFields()[name] : undefined;
}

/** How many items a field may return: its `first` (capped), `maxDataPoints`, or a guess. */
function itemsOf(
  field: GraphQLField<unknown, unknown>,
  args: readonly { name: { value: string }; value: ValueNode }[],
  variables: Record<string, unknown> | null | undefined,
  limits: QueryLimits,
): number {
  const given = (name: string): number | undefined => {
    const arg = args.find((a) => a.name.value === name);
    if (!arg) return undefined;
    const value =
      arg.value.kind === Kind.VARIABLE
        ? variables?.[arg.value.name.value]
        : arg.value.kind === Kind.INT
          ? Number(arg.value.value)
          : undefined;
    return typeof value === 'number' && Number.isFinite(value) ? Math.max(0, value) : undefined;
  };
  if (field.args.some((a) => a.name === 'first'))
    return Math.min(given('first') ?? limits.defaultPageSize, limits.maxPageSize);
  if (field.args.some((a) => a.name === 'maxDataPoints')) return given('maxDataPoints') ?? 1000;
  return isListType(getNullableType(field.type)) ? UNPAGED_LIST_FACTOR : 1;
}

/** A message for the first limit an operation breaks, or undefined when it is within them. */
export function limitViolation(measure: QueryMeasure, limits: QueryLimits): string | undefined {
  if (measure.depth > limits.maxDepth)
    return `query depth ${measure.depth} exceeds the limit of ${limits.maxDepth}`;
  if (measure.cost > limits.maxCost)
    return `query cost ${measure.cost} exceeds the limit of ${limits.maxCost} (each field counts once per item its parent may return: lower first, or ask for fewer fields)`;
  return undefined;
}
