// Build the packages (libs/*, each into its own dist/, in dependency order: tsc --build with project references),
// then the apps against the packages' built types, as a user of the packages would. Each app gets the entry point
// the contract names: dist/apps/<app>/main.js (tsc keeps the source tree, so the real module is
// dist/apps/<app>/src/main.js). Last, esbuild bundles the dashboard's page (apps/dashboard/web: preact, uPlot, CSS)
// into dist/apps/dashboard/public, which the dashboard serves: nothing is fetched from a CDN at run time.
import { execFileSync } from 'node:child_process';
import { copyFileSync, rmSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });
for (const lib of readdirSync('libs')) rmSync(join('libs', lib, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '--build', 'tsconfig.build.json'], { stdio: 'inherit' });
for (const app of readdirSync('apps')) {
  if (!existsSync(join('dist/apps', app, 'src/main.js'))) throw new Error(`build: dist/apps/${app}/src/main.js is missing`);
  writeFileSync(join('dist/apps', app, 'main.js'), "import './src/main.js';\n");
}
const web = 'apps/dashboard/web';
const publicDir = 'dist/apps/dashboard/public';
await build({
  entryPoints: [join(web, 'main.tsx')], outdir: publicDir, bundle: true, format: 'esm', target: 'es2022', minify: true, sourcemap: true,
  jsx: 'automatic', jsxImportSource: 'preact', tsconfig: join(web, 'tsconfig.json'), logLevel: 'warning',
});
copyFileSync(join(web, 'index.html'), join(publicDir, 'index.html'));
console.log(`build: libs/*/dist, ${publicDir}, ${readdirSync('apps').map((a) => `dist/apps/${a}/main.js`).join(', ')}`);
