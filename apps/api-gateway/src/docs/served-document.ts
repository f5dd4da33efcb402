import { RateLimit } from '../config';
import { V1_ROUTES, DEFAULT_LIMITS } from '../v1/routes';
import { ADMIN_ROUTES } from '../admin/admin.routes';
import { buildOpenApiDocument } from './openapi';

/**
 * The document GET /docs/openapi.json serves. The SDK's generator (tools/sdk-codegen) reads it from
 * here too, so a route added to the tables reaches both — and the SDK's agreement test notices.
 */
export const servedOpenApiDocument = (limits: ReadonlyMap<string, RateLimit> = DEFAULT_LIMITS) =>
  buildOpenApiDocument(V1_ROUTES, ADMIN_ROUTES, limits);
