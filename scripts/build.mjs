// Build every app and lib with tsc, then give each app the entry point the contract names:
// dist/apps/<app>/main.js (tsc keeps the source tree, so the real module is dist/apps/<app>/src/main.js).
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
for (const app of readdirSync('apps')) {
  if (!existsSync(join('dist/apps', app, 'src/main.js'))) throw new Error(`build: dist/apps/${app}/src/main.js is missing`);
  writeFileSync(join('dist/apps', app, 'main.js'), "import './src/main.js';\n");
}
console.log(`build: ${readdirSync('apps').map((a) => `dist/apps/${a}/main.js`).join(', ')}`);
