// Build the packages (libs/*, each into its own dist/, in dependency order: tsc --build with project references),
// then the apps against the packages' built types, as a user of the packages would. Each app gets the entry point
// the contract names: dist/apps/<app>/main.js (tsc keeps the source tree, so the real module is
// dist/apps/<app>/src/main.js).
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

rmSync('dist', { recursive: true, force: true });
for (const lib of readdirSync('libs')) rmSync(join('libs', lib, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '--build', 'tsconfig.build.json'], { stdio: 'inherit' });
for (const app of readdirSync('apps')) {
  if (!existsSync(join('dist/apps', app, 'src/main.js'))) throw new Error(`build: dist/apps/${app}/src/main.js is missing`);
  writeFileSync(join('dist/apps', app, 'main.js'), "import './src/main.js';\n");
}
console.log(`build: libs/*/dist, ${readdirSync('apps').map((a) => `dist/apps/${a}/main.js`).join(', ')}`);
