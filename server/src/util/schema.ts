// Field names for JSON-schema errors (ajv), so every validation message names the field the
// way a user would write it: profiles, queue job payloads.
import type { ErrorObject } from 'ajv';

/** "table[\"mbconv|...\"].ms" style field names from ajv's JSON pointers. */
export function fieldOf(e: ErrorObject): string {
  const parts = e.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (e.keyword === 'required') parts.push(String((e.params as { missingProperty: string }).missingProperty));
  if (e.keyword === 'additionalProperties') parts.push(String((e.params as { additionalProperty: string }).additionalProperty));
  if (e.keyword === 'propertyNames') parts.push(String((e.params as { propertyName: string }).propertyName));
  let out = '';
  for (const p of parts) out += /^[A-Za-z_][A-Za-z0-9_]*$/.test(p) ? (out ? `.${p}` : p) : /^\d+$/.test(p) ? `[${p}]` : `[${JSON.stringify(p)}]`;
  return out || '(top level)';
}
