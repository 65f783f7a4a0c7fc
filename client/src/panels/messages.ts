// The messages between a results webview and the extension, both ways, and the validation of
// everything the webview sends: a webview is untrusted content, so each message is checked
// against a JSON schema (ajv, compiled once) before the extension acts on it.
import { Ajv } from 'ajv';
import type { FromWebview, PanelState } from './protocol';

export type { FromWebview, LiveProgress, PanelState, ToWebview } from './protocol';

const MAX_ID = 1_000_000_000;
const idSchema = { type: 'integer', minimum: 0, maximum: MAX_ID } as const;

// One schema per message kind; `additionalProperties: false` so nothing unexpected gets through.
const schema = {
  oneOf: [
    { type: 'object', properties: { type: { const: 'ready' } }, required: ['type'], additionalProperties: false },
    ...(['openChild', 'exportChild', 'trainChild', 'copyChild', 'detail'] as const).map((t) => ({
      type: 'object', properties: { type: { const: t }, id: idSchema }, required: ['type', 'id'], additionalProperties: false,
    })),
    {
      type: 'object',
      properties: { type: { const: 'select' }, id: { anyOf: [idSchema, { type: 'null' }] } },
      required: ['type', 'id'], additionalProperties: false,
    },
  ],
};

const stateSchema = {
  type: 'object',
  properties: {
    run: { type: 'string', minLength: 1, maxLength: 4096 },
    selected: { anyOf: [idSchema, { type: 'null' }] },
  },
  required: ['run'],
  additionalProperties: false,
};

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
const validateMessage = ajv.compile(schema);
const validateState = ajv.compile(stateSchema);

/** The message if it is a well-formed FromWebview, else null (with the reason in `why`). */
export function parseFromWebview(raw: unknown, why?: (reason: string) => void): FromWebview | null {
  if (validateMessage(raw)) return raw as FromWebview;
  why?.(ajv.errorsText(validateMessage.errors));
  return null;
}

/** The saved panel state if well-formed, else null. */
export function parsePanelState(raw: unknown): PanelState | null {
  if (!validateState(raw)) return null;
  const s = raw as { run: string; selected?: number | null };
  return { run: s.run, selected: s.selected ?? null };
}
