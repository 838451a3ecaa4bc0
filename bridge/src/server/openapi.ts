// The protocol as an OpenAPI 3.1 document (GET /v1/openapi.json), built from what the server enforces:
// the routes fastify registered (with their public / WebSocket flags), the zod schemas (request and
// answers), the server's Limits applied on top, and api-operations.ts for what only words can say.
import { STATUS_CODES } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { API_PREFIX, WS_PROTOCOL, WS_TOKEN_PREFIX } from '@kirie/core/client/protocol';
import { parseGenerateRequest } from '@kirie/core/request/parse';
import { GenerateRequest, ImageId } from '@kirie/core/request/schema';
import { SCHEDULERS } from '@kirie/core/schedulers/registry';
import { STYLE_PRESETS } from '@kirie/core/styles/presets';
import { API_ERRORS, crossFieldRules, refusalCode, EVENT_EXAMPLES, GENERATE_EXAMPLES, JOB_EXAMPLES, OPERATIONS, RESPONSE_EXAMPLES, type ApiRefusal, type CrossFieldRule, type OperationSpec, type SchemaName } from './api-operations.js';
import type { Limits } from './limits.js';
import { DetectedPoseBody, PoseDetectionRequestBody } from './pose-detection.js';
import { PairingApprovalBody, PairingApprovedBody, PairingRequestBody, PairingStartedBody, PairingStatusBody } from './pairing.js';
import { ErrorBody, HealthAnswer, HealthBody, PublicHealthBody, ImageUploadedBody, JobEventBody, JobInfoBody, JobSubmittedBody, ModelList, StyleList, AdapterList } from './protocol-schemas.js';

/** A route as fastify registered it, with what security.ts decides access by. */
export interface ApiRoute {
  method: string;
  url: string;
  public: boolean;
  webSocket: boolean;
}

/** Records every /v1 route registered after this call (HEAD is implied by GET, OPTIONS is CORS preflight). */
export function recordApiRoutes(app: FastifyInstance): ApiRoute[] {
  const routes: ApiRoute[] = [];
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith(`${API_PREFIX}/`)) return;
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD' && method !== 'OPTIONS') routes.push({ method, url: route.url, public: route.config?.public === true, webSocket: route.config?.webSocket === true });
    }
  });
  return routes;
}

/** Which Limits tighten which request field, and how (the rest are stated in `x-limits` and descriptions). */
const FIELD_LIMITS: { limit: keyof Limits; field: string; keyword: 'maximum' | 'maxLength' }[] = [
  { limit: 'steps', field: 'steps', keyword: 'maximum' },
  { limit: 'batchSize', field: 'batchSize', keyword: 'maximum' },
  { limit: 'promptChars', field: 'prompt', keyword: 'maxLength' },
  { limit: 'promptChars', field: 'negativePrompt', keyword: 'maxLength' },
];

function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, any> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io });
  return rest;
}

/** The request schema as a client must meet it: the zod schema, tightened by this server's limits. */
function requestSchema(limits: Limits, rules: CrossFieldRule[]): Record<string, unknown> {
  const schema = jsonSchema(GenerateRequest, 'input');
  for (const { limit, field, keyword } of FIELD_LIMITS) {
    const property = schema.properties[field];
    property[keyword] = Math.min(property[keyword] ?? Infinity, limits[limit]);
  }
  schema.properties.scheduler.enum = SCHEDULERS.flatMap((s) => [s.name, ...s.aliases]);
  schema.description = `Only \`prompt\` is required. Rules across fields (see \`x-cross-field-rules\` on POST /v1/jobs for a request breaking each): ${rules.map((r) => `${r.rule} (\`${r.field}\`)`).join('; ')}.`;
  return schema;
}

/** Answer schemas: the protocol's zod schemas, with `request` inside answers as the server fills it in. */
function answerSchemas(): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  const named: [z.ZodType, string][] = [
    [HealthAnswer, 'HealthAnswer'],
    [HealthBody, 'Health'],
    [PublicHealthBody, 'PublicHealth'],
    [ModelList, 'ModelList'],
    [StyleList, 'StyleList'],
    [AdapterList, 'AdapterList'],
    [ImageUploadedBody, 'ImageUploaded'],
    [JobSubmittedBody, 'JobSubmitted'],
    [JobInfoBody, 'JobInfo'],
    [JobEventBody, 'JobEvent'],
    [ErrorBody, 'Error'],
    [GenerateRequest, 'GenerateRequestResolved'],
    [PairingRequestBody, 'PairingRequest'],
    [PairingStartedBody, 'PairingStarted'],
    [PairingStatusBody, 'PairingStatus'],
    [PairingApprovalBody, 'PairingApproval'],
    [PairingApprovedBody, 'PairingApproved'],
    [PoseDetectionRequestBody, 'PoseDetectionRequest'],
    [DetectedPoseBody, 'DetectedPose'],
  ];
  for (const [schema, id] of named) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { target: 'draft-2020-12', io: 'output', uri: (id) => `#/components/schemas/${id}` });
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  return schemas;
}

const jsonContent = (schema: SchemaName | Record<string, unknown>, examples: Record<string, unknown> = {}) => ({
  'application/json': {
    schema: typeof schema === 'string' ? { $ref: `#/components/schemas/${schema}` } : schema,
    ...(Object.keys(examples).length ? { examples: Object.fromEntries(Object.entries(examples).map(([name, value]) => [name, isNamedExample(value) ? value : { value }])) } : {}),
  },
});

function isNamedExample(value: unknown): value is { summary: string; value: unknown } {
  return typeof value === 'object' && value !== null && 'summary' in value && 'value' in value;
}

/** One response per status, listing the codes it carries (the schema admits only those). */
function errorResponses(refusals: ApiRefusal[]): Record<string, unknown> {
  const byStatus = new Map<number, ApiRefusal[]>();
  for (const refusal of refusals) byStatus.set(API_ERRORS[refusal].status, [...(byStatus.get(API_ERRORS[refusal].status) ?? []), refusal]);
  return Object.fromEntries(
    [...byStatus].map(([status, named]) => {
      const codes = named.map(refusalCode);
      return [
        status,
        {
          description: `${STATUS_CODES[status]}: ${codes.join(', ')}`,
          content: jsonContent(
            { allOf: [{ $ref: '#/components/schemas/Error' }, { type: 'object', properties: { error: { type: 'object', properties: { code: { enum: codes } } } } }] },
            Object.fromEntries(named.map((refusal, i) => [codes[i], { summary: codes[i], value: { error: { code: codes[i], ...API_ERRORS[refusal].example } } }])),
          ),
        },
      ];
    }),
  );
}

const PNG_BODY = { schema: { type: 'string', contentMediaType: 'image/png' } };
const PNG_UPLOAD_TYPES = ['image/png', 'application/octet-stream'];

type Examples = Partial<Record<SchemaName, Record<string, unknown>>>;

interface DocumentContext {
  examples: Examples;
  doneEvent: unknown;
  rules: CrossFieldRule[];
}

function operation(route: ApiRoute, spec: OperationSpec | undefined, { examples, doneEvent, rules }: DocumentContext): Record<string, unknown> {
  if (!spec) return { summary: 'undocumented route', description: `${route.method} ${route.url} has no entry in bridge/src/server/api-operations.ts`, responses: { default: { description: 'unknown' } } };
  const { success } = spec;
  // Every route checks the Host and refuses an upgrade it does not take; only public ones do without the token.
  const common: ApiRefusal[] = ['bad_host', ...(route.public ? [] : (['unauthorized'] as const)), ...(route.webSocket ? [] : (['not_websocket'] as const))];
  const codes = [...new Set([...common, ...spec.errors])];
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    ...(route.public ? { security: [] } : route.webSocket ? { security: [{ bearer: [] }, { webSocketSubprotocol: [] }, { queryToken: [] }] } : {}),
    ...(spec.id ? { parameters: [{ name: 'id', in: 'path', required: true, description: spec.id.description, schema: { $ref: `#/components/schemas/${spec.id.schema}` } }] } : {}),
    ...(spec.body
      ? { requestBody: { required: true, content: 'png' in spec.body ? Object.fromEntries(PNG_UPLOAD_TYPES.map((type) => [type, PNG_BODY])) : jsonContent(spec.body.json, spec.body.examples) } }
      : {}),
    responses: {
      [success.status]: {
        description: success.description,
        ...('json' in success ? { content: jsonContent(success.json, examples[success.json]) } : 'png' in success ? { content: { 'image/png': PNG_BODY } } : {}),
      },
      ...errorResponses(codes),
    },
    ...(spec.body && 'json' in spec.body && spec.body.json === 'GenerateRequest' ? { 'x-cross-field-rules': rules } : {}),
    ...(route.webSocket ? { 'x-websocket': { subprotocol: WS_PROTOCOL, message: { $ref: '#/components/schemas/JobEvent' }, examples: [...EVENT_EXAMPLES, doneEvent] } } : {}),
  };
}

export interface OpenApiInput {
  version: string;
  limits: Limits;
  routes: ApiRoute[];
}

export function openApiDocument({ version, limits, routes }: OpenApiInput): Record<string, unknown> {
  const rules = crossFieldRules(limits);
  const request = parseGenerateRequest(GENERATE_EXAMPLES.settings.value);
  const done = { ...JOB_EXAMPLES.done!, request, recipe: { ...JOB_EXAMPLES.done!.recipe!, request } };
  const examples: Examples = { ...RESPONSE_EXAMPLES, JobInfo: { running: { ...JOB_EXAMPLES.running, request }, interrupted: { ...JOB_EXAMPLES.interrupted, request }, done }, StyleList: { styles: { styles: STYLE_PRESETS } } };
  const doneEvent = { type: 'done', jobId: done.id, images: done.images, recipe: done.recipe };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    (paths[path] ??= {})[route.method.toLowerCase()] = operation(route, OPERATIONS[`${route.method} ${route.url}`], { examples, doneEvent, rules });
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Kirie bridge',
      version,
      description:
        'Local Stable Diffusion bridge. Routes need `Authorization: Bearer <token>` (`kirie token` prints it) unless they say `security: []`. ' +
        `The WebSocket takes the token as the subprotocol "${WS_TOKEN_PREFIX}<token>" next to "${WS_PROTOCOL}", or as ?token=, since browsers cannot set its headers. ` +
        'Every refusal is JSON `{"error": {"code", "message", "field"?}}`; a request whose Host is not localhost, 127.0.0.1 or [::1] gets 421 (unless started with --lan). ' +
        `This bridge's limits are in \`x-limits\`: PNG ≤ ${limits.imageBytes} bytes and ≤ ${limits.pixels} pixels (${limits.pngChecks} checked at once, ${limits.pngCheckQueue} waiting, then 429), ` +
        `JSON ≤ ${limits.jsonBytes} bytes nested ≤ ${limits.jsonDepth} deep, a job's estimated peak memory ≤ ${limits.memoryBytes} bytes, ${limits.queue} waiting jobs (then 429).`,
      'x-limits': limits,
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'the bridge token' },
        webSocketSubprotocol: { type: 'apiKey', in: 'header', name: 'Sec-WebSocket-Protocol', description: `WebSocket only: offer "${WS_PROTOCOL}, ${WS_TOKEN_PREFIX}<token>"` },
        queryToken: { type: 'apiKey', in: 'query', name: 'token', description: 'WebSocket only' },
      },
      schemas: {
        ...answerSchemas(),
        GenerateRequest: requestSchema(limits, rules),
        ImageId: { ...jsonSchema(ImageId), description: 'SHA-256 of the PNG bytes, in hex' },
        JobId: { type: 'string', description: 'as POST /v1/jobs returned it' },
        PairingId: { type: 'string', description: 'as POST /v1/pair returned it' },
        OpenApiDocument: { type: 'object', required: ['openapi', 'info', 'paths'], properties: { openapi: { const: '3.1.0' }, info: { type: 'object' }, paths: { type: 'object' } } },
      },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
