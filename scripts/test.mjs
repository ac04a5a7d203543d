// `npm test`: build (e2e tests run the built apps as processes), then every jest tier,
// then one plain totals line that CI reads: "N passed, M failed".
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

const build = spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
if (build.status !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const results = '.jest-results.json';
rmSync(results, { force: true });
const jest = spawnSync(
  process.execPath,
  ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning', 'node_modules/jest/bin/jest.js', '--json', `--outputFile=${results}`, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
let passed = 0;
let failed = 0;
try {
  const r = JSON.parse(readFileSync(results, 'utf8'));
  passed = r.numPassedTests;
  failed = r.numFailedTests + r.numRuntimeErrorTestSuites;
  const byTier = {};
  for (const suite of r.testResults) {
    const tier = suite.name.includes('/test/e2e/') ? 'e2e' : suite.name.includes('/test/integration/') ? 'integration' : 'unit';
    byTier[tier] = (byTier[tier] ?? 0) + suite.assertionResults.filter((a) => a.status === 'passed').length;
  }
  console.log(`tiers: ${Object.entries(byTier).map(([t, n]) => `${t} ${n} passed`).join(', ')}`);
} catch {
  failed = Math.max(failed, 1);
}
if (jest.status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(jest.status === 0 && failed === 0 ? 0 : 1);
