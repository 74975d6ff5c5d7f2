import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/** Whether the client selected `field` directly on this resolver's result (fragments included). */
export function selectsField(info: GraphQLResolveInfo, field: string): boolean {
  return info.fieldNodes.some(
    (node) => node.selectionSet && hasField(node.selectionSet, field, info),
  );
}

function hasField(set: SelectionSetNode, field: string, info: GraphQLResolveInfo): boolean {
  return set.selections.some((selection) => {
    if (selection.kind === Kind.FIELD) return selection.name.value === field;
    if (selection.kind === Kind.INLINE_FRAGMENT)
      return hasField(selection.selectionSet, field, info);
    const fragment = info.fragments[selection.name.value];
    return fragment ? hasField(fragment.selectionSet, field, info) : false;
  });
}
