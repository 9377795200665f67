// The spec's component schemas as runtime JSON Schema objects, for code and tests that read rules from the contract.
export * from './generated/schemas.gen.js';
