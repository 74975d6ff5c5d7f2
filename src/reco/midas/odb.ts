/** An ODB subtree as plain JSON: directories are objects, keys are values, key arrays are arrays. */
export type OdbValue = string | number | boolean | null | OdbValue[] | OdbTree;
export interface OdbTree {
  [name: string]: OdbValue;
}

const NUMERIC = new Set([
  'INT',
  'UINT',
  'DWORD',
  'WORD',
  'SHORT',
  'BYTE',
  'SBYTE',
  'CHAR',
  'INT8',
  'UINT8',
  'INT16',
  'UINT16',
  'INT32',
  'UINT32',
  'INT64',
  'UINT64',
  'DOUBLE',
  'FLOAT',
  'BITFIELD',
]);

function typed(text: string, type: string): OdbValue {
  if (NUMERIC.has(type)) {
    const value = Number(text.trim());
    return Number.isNaN(value) ? text : value;
  }
  if (type === 'BOOL') return /^(y|1|true)$/i.test(text.trim());
  return text;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
function unescape(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (whole, entity: string) => {
    if (entity[0] === '#')
      return String.fromCodePoint(
        entity[1] === 'x' ? parseInt(entity.slice(2), 16) : Number(entity.slice(1)),
      );
    return ENTITIES[entity] ?? whole;
  });
}

function attributes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of text.matchAll(/([\w:-]+)\s*=\s*"([^"]*)"/g))
    out[match[1]] = unescape(match[2]);
  return out;
}

/** Parses the XML ODB dump MIDAS writes into BOR/EOR events (odb.xsd: dir, key, keyarray, value). */
export function parseOdbXml(xml: string): OdbTree {
  const root: OdbTree = {};
  const stack: Array<{
    tag: string;
    node: OdbTree | OdbValue[];
    name?: string;
    type?: string;
    text: string;
  }> = [{ tag: 'odb', node: root, text: '' }];
  const tokens = /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<(\/?)([\w:-]+)([^>]*?)(\/?)>|([^<]+)/g;
  for (const match of xml.matchAll(tokens)) {
    const [, closing, tag, attrText, selfClosing, text] = match;
    const top = stack[stack.length - 1];
    if (text !== undefined) {
      top.text += text;
      continue;
    }
    if (!tag) continue; // comment or declaration
    if (closing) {
      const done = stack.pop();
      if (!done || done.tag !== tag) throw new Error(`ODB XML: unexpected </${tag}>`);
      const parent = stack[stack.length - 1];
      if (!parent) break;
      const value =
        tag === 'key' || tag === 'value'
          ? typed(unescape(done.text), done.type ?? 'STRING')
          : done.node;
      if (Array.isArray(parent.node)) parent.node.push(value as OdbValue);
      else if (done.name !== undefined && tag !== 'odb') parent.node[done.name] = value as OdbValue;
      continue;
    }
    const attrs = attributes(attrText);
    if (tag === 'odb') continue;
    const frame = {
      tag,
      name: attrs.name,
      type: tag === 'value' ? top.type : attrs.type,
      node: tag === 'keyarray' ? ([] as OdbValue[]) : ({} as OdbTree),
      text: '',
    };
    if (selfClosing) {
      const empty =
        tag === 'dir' ? {} : tag === 'keyarray' ? [] : typed('', attrs.type ?? 'STRING');
      if (Array.isArray(top.node)) top.node.push(empty);
      else if (attrs.name !== undefined) top.node[attrs.name] = empty;
      continue;
    }
    stack.push(frame);
  }
  return root;
}

/** Parses an ODB dump, JSON (MIDAS ≥ 2019) or XML. */
export function parseOdbDump(text: string): OdbTree {
  const trimmed = text.replace(/\0+$/, '').trim();
  if (trimmed.startsWith('{')) return JSON.parse(trimmed) as OdbTree;
  if (trimmed.startsWith('<')) return parseOdbXml(trimmed);
  throw new Error('ODB dump is neither JSON nor XML');
}

/**
 * Looks up an ODB path ("/Runinfo/Run number"); MIDAS paths are case-insensitive, and JSON
 * dumps carry "name/key" metadata entries that are not values.
 */
export function odbGet(tree: OdbTree, odbPath: string): OdbValue | undefined {
  let node: OdbValue | undefined = tree;
  for (const part of odbPath.split('/').filter(Boolean)) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    const lower = part.toLowerCase();
    const key: string | undefined = Object.keys(node).find((k) => k.toLowerCase() === lower);
    node = key === undefined ? undefined : (node as OdbTree)[key];
  }
  return node;
}
