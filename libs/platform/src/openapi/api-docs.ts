import type { INestApplication } from '@nestjs/common';
import {
  DocumentBuilder,
  SwaggerModule,
  type OpenAPIObject,
  type OperationObject,
  type ResponseObject,
  type ResponsesObject,
  type SchemaObject,
} from '@nestjs/swagger';
import { PROBLEM_CONTENT_TYPE } from '@orders/contracts';
import { z } from 'zod';
import { requiredScope, type OrderScope } from '../auth/scopes';
import { isOperationalPath } from '../http-hardening/operational-routes';

export interface ParameterDoc {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  description?: string;
  schema: z.ZodType;
}

export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
  /** Response headers: name -> description. */
  headers?: Record<string, string>;
}

/** One documented operation; its schemas are the zod schemas the code validates with. */
export interface OperationDoc {
  summary: string;
  description?: string;
  /** Defaults to the service's scope; `none` for routes open without a token. */
  scope?: OrderScope | 'none';
  parameters?: ParameterDoc[];
  requestBody?: z.ZodType;
  responses: Record<number, ResponseDoc>;
  /** Error statuses this operation answers with problem+json (auth and 429 are added). */
  problems?: number[];
}

export interface ApiDescription {
  title: string;
  description: string;
  version: string;
  defaultScope: OrderScope;
  /** Keyed by `METHOD /path/{param}`, e.g. `POST /orders/{id}/items`. */
  operations: Record<string, OperationDoc>;
}

const problemSchema = z.looseObject({
  type: z.string().describe('URI identifying the problem type'),
  title: z.string(),
  status: z.int(),
  code: z.string().describe('stable, machine-readable reason, e.g. ORDER_NOT_DRAFT'),
  detail: z.string().optional(),
  instance: z.string().optional(),
  errors: z
    .array(z.object({ path: z.string(), message: z.string() }))
    .optional()
    .describe('per-field errors of a 400 VALIDATION_FAILED'),
});

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input (`errors` lists every bad field); unknown fields are refused',
  401: 'Missing, invalid or expired bearer token (`WWW-Authenticate: Bearer`)',
  403: 'The token lacks the scope this route needs',
  404: 'Unknown order or route',
  409: 'A rule of the order refuses the command',
  412: '`If-Match` names another version than the current one',
  413: 'Body over 64 KiB',
  415: 'Body is not JSON',
  422: '`Idempotency-Key` reused with a different request',
  429: 'Rate limit exceeded; `Retry-After` says when to retry',
  503: 'A dependency is unavailable; `Retry-After` says when to retry',
};

/** JSON Schema of what a client sends or receives, in OpenAPI 3.0's dialect. */
export function openApiSchemaOf(schema: z.ZodType, io: 'input' | 'output' = 'input'): SchemaObject {
  return z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io,
    unrepresentable: 'any',
  }) as SchemaObject;
}

/**
 * The service's OpenAPI document: every route Nest has (scanned, so new routes appear on their
 * own), with the operations described in `api` filled in from the zod schemas.
 */
export function buildApiDocument(app: INestApplication, api: ApiDescription): OpenAPIObject {
  const base = new DocumentBuilder()
    .setTitle(api.title)
    .setDescription(api.description)
    .setVersion(api.version)
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'bearer')
    .build();
  const document = SwaggerModule.createDocument(app, base);
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const) {
      const scanned = item[method];
      if (!scanned) continue;
      const described = api.operations[`${method.toUpperCase()} ${path}`];
      item[method] = {
        operationId: scanned.operationId,
        tags: [tagOf(path)],
        ...(described
          ? describedOperation(described, api.defaultScope)
          : scannedOperation(scanned, path, api.defaultScope)),
      };
    }
  }
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, Problem: openApiSchemaOf(problemSchema, 'output') },
  };
  return document;
}

/** Serves the UI at /docs, the document at /docs-json (and /docs-yaml). */
export function serveApiDocs(app: INestApplication, api: ApiDescription): void {
  SwaggerModule.setup('docs', app, () => buildApiDocument(app, api), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
  });
}

function describedOperation(doc: OperationDoc, defaultScope: OrderScope): OperationObject {
  const scope = doc.scope ?? defaultScope;
  const problems = new Set(doc.problems ?? []);
  if (scope !== 'none') [401, 403, 429].forEach((status) => problems.add(status));
  const responses: ResponsesObject = {};
  for (const [status, response] of Object.entries(doc.responses)) {
    responses[status] = {
      description: response.description,
      ...(response.headers && {
        headers: Object.fromEntries(
          Object.entries(response.headers).map(([name, description]) => [
            name,
            { description, schema: { type: 'string' } },
          ]),
        ),
      }),
      ...(response.schema && {
        content: { 'application/json': { schema: openApiSchemaOf(response.schema, 'output') } },
      }),
    };
  }
  for (const status of [...problems].sort((a, b) => a - b)) {
    responses[String(status)] = problemResponse(status);
  }
  return {
    summary: doc.summary,
    description: [doc.description, scope === 'none' ? undefined : `Needs scope \`${scope}\`.`]
      .filter(Boolean)
      .join('\n\n'),
    parameters: (doc.parameters ?? []).map((parameter) => ({
      name: parameter.name,
      in: parameter.in,
      required: parameter.in === 'path' ? true : (parameter.required ?? false),
      ...(parameter.description && { description: parameter.description }),
      schema: openApiSchemaOf(parameter.schema),
    })),
    ...(doc.requestBody && {
      requestBody: {
        required: true,
        content: { 'application/json': { schema: openApiSchemaOf(doc.requestBody) } },
      },
    }),
    responses,
    security: scope === 'none' ? [] : [{ bearer: [] }],
  };
}

/** A route nobody described yet: what the scan knows, plus the answers every route can give. */
function scannedOperation(
  scanned: OperationObject,
  path: string,
  defaultScope: OrderScope,
): OperationObject {
  const open = isOperationalPath(path);
  const scope = requiredScope(undefined, path, defaultScope);
  return {
    ...(open ? {} : { description: `Needs scope \`${scope}\`.` }),
    parameters: (scanned.parameters ?? []).filter(
      (parameter) => 'in' in parameter && parameter.in === 'path',
    ),
    responses: {
      ...scanned.responses,
      ...(open
        ? {}
        : Object.fromEntries([400, 401, 403, 429].map((s) => [String(s), problemResponse(s)]))),
    },
    security: open ? [] : [{ bearer: [] }],
  };
}

function problemResponse(status: number): ResponseObject {
  return {
    description: PROBLEM_DESCRIPTIONS[status] ?? 'Problem',
    content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } },
  };
}

function tagOf(path: string): string {
  return path.split('/')[1] || 'root';
}
