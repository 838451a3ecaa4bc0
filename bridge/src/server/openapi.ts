// The protocol as an OpenAPI 3.1 document (GET /v1/openapi.json), for people writing their own client.
// The request body schema comes from the zod schema itself, so the document cannot drift from validation.
import { GenerateRequest } from '@kirie/core/request/schema';
import type { Limits } from './limits.js';

const error = { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
const json = (description: string, schema: object = { type: 'object' }) => ({ description, content: { 'application/json': { schema } } });
const idParam = (description: string) => [{ name: 'id', in: 'path', required: true, description, schema: { type: 'string' } }];

export function openApiDocument(version: string, limits: Limits): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Kirie bridge',
      version,
      description:
        'Local Stable Diffusion bridge. Every endpoint but /v1/health needs `Authorization: Bearer <token>` (`kirie token` prints it). ' +
        `The WebSocket /v1/events takes the token as the subprotocol "kirie.token.<token>" next to "kirie.v1", or as ?token=. ` +
        `Limits: PNG ≤ ${limits.imageBytes} bytes and ≤ ${limits.pixels} pixels, JSON ≤ ${limits.jsonBytes} bytes, prompt ≤ ${limits.promptChars} characters, ` +
        `steps ≤ ${limits.steps}, batchSize ≤ ${limits.batchSize}, ${limits.queue} waiting jobs (then 429).`,
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: {
          type: 'object',
          properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } }, required: ['code', 'message'] } },
        },
        GenerateRequest: GenerateRequest.toJSONSchema({ io: 'input', unrepresentable: 'any' }),
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/health': { get: { security: [], summary: 'version, device, loaded model, queue', responses: { 200: json('health') } } },
      '/v1/models': { get: { summary: 'models in the models folder', responses: { 200: json('models'), 401: error } } },
      '/v1/styles': { get: { summary: 'style presets', responses: { 200: json('styles'), 401: error } } },
      '/v1/images': {
        put: {
          summary: 'upload a PNG; the id is the SHA-256 of its bytes',
          requestBody: { required: true, content: { 'image/png': { schema: { type: 'string', format: 'binary' } } } },
          responses: { 200: json('stored', { type: 'object', properties: { id: { type: 'string' }, width: { type: 'integer' }, height: { type: 'integer' } } }), 400: error, 413: error },
        },
      },
      '/v1/images/{id}': { get: { summary: 'a stored PNG', parameters: idParam('image id'), responses: { 200: { description: 'PNG', content: { 'image/png': {} } }, 404: error } } },
      '/v1/jobs': {
        post: {
          summary: 'queue a generation',
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/GenerateRequest' } } } },
          responses: { 202: json('queued', { type: 'object', properties: { jobId: { type: 'string' }, position: { type: 'integer' } } }), 400: error, 429: error },
        },
      },
      '/v1/jobs/{id}': {
        get: { summary: 'job status; when done, result image ids and recipe', parameters: idParam('job id'), responses: { 200: json('job'), 404: error } },
        delete: { summary: 'cancel a queued or running job', parameters: idParam('job id'), responses: { 200: json('job'), 404: error } },
      },
      '/v1/events': {
        get: {
          summary: 'WebSocket of JSON job events: queued, started, progress (step, total, base64 PNG preview), done (image ids, recipe), error (message), cancelled',
          responses: { 101: { description: 'switching protocols' }, 401: error },
        },
      },
    },
  };
}
