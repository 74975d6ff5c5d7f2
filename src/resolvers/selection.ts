import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

// graphql-js hands every item of a list the same fieldNodes array, so a page of 100 runs
// computes its selection once.
const childFieldsCache = new WeakMap<readonly FieldNode[], ReadonlySet<string>>();
const nodeFieldsCache = new WeakMap<readonly FieldNode[], ReadonlySet<string>>();

function collect(
  set: SelectionSetNode | undefined,
  info: GraphQLResolveInfo,
  into: Set<string>,
  path: string[] = [],
): void {
  if (!set) return;
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      if (path.length === 0) into.add(selection.name.value);
      else if (selection.name.value === path[0])
        collect(selection.selectionSet, info, into, path.slice(1));
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      collect(selection.selectionSet, info, into, path);
    } else {
      collect(info.fragments[selection.name.value]?.selectionSet, info, into, path);
    }
  }
}

/** Names of the fields selected on this field's result (fragments included). */
export function selectedFields(info: GraphQLResolveInfo): ReadonlySet<string> {
  let fields = childFieldsCache.get(info.fieldNodes);
  if (!fields) {
    const into = new Set<string>();
    for (const node of info.fieldNodes) collect(node.selectionSet, info, into);
    childFieldsCache.set(info.fieldNodes, (fields = into));
  }
  return fields;
}

/** For a connection: the fields selected on its nodes, through `nodes` or `edges { node }`. */
export function selectedNodeFields(info: GraphQLResolveInfo): ReadonlySet<string> {
  let fields = nodeFieldsCache.get(info.fieldNodes);
  if (!fields) {
    const into = new Set<string>();
    for (const node of info.fieldNodes) {
      collect(node.selectionSet, info, into, ['nodes']);
      collect(node.selectionSet, info, into, ['edges', 'node']);
    }
    nodeFieldsCache.set(info.fieldNodes, (fields = into));
  }
  return fields;
}

/** Whether the client selected `field` directly on this resolver's result. */
export function selectsField(info: GraphQLResolveInfo, field: string): boolean {
  return selectedFields(info).has(field);
}
