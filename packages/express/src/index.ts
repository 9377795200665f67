// @api-tokens/express: an Express guard that checks each request's bearer token with an api-tokens service.
export type { ApiToken, RequiredCapabilities } from '@api-tokens/client';
export { type Requirement, type RequireTokenOptions, requireToken, type TokenGuard } from './requireToken.js';
