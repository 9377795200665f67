// The spec's component schemas as self-contained JSON Schema 2020-12 documents: compile any one with Ajv2020.
export * from './generated/schemas.bundled.gen.js';
