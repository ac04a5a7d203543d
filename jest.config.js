// Three tiers, one runner. Unit specs sit beside the code and need nothing running;
// integration and e2e tests start their own nats-server (see libs/testing) and, for e2e,
// the built apps as separate processes (run `npm run build` first; `npm test` does).
const imports = {
  '^@taskmesh/client/nest$': '<rootDir>/libs/client/src/nest/index.ts',
  '^@taskmesh/(protocol|client|cli|nats|runtime|testing|worker-core|worker)$': '<rootDir>/libs/$1/src/index.ts',
  '^(\\.{1,2}/.*)\\.js$': '$1',
};
const base = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: imports,
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
};
export default {
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts'] },
    { ...base, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.int.ts'], slowTestThreshold: 30 },
    { ...base, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.e2e.ts'], slowTestThreshold: 60 },
  ],
};
