// The `prepack`/`postpack` of every published package (libs/*/package.json), run by npm in the package's folder.
// In the repository each package's `exports` carries a `source` condition (its src/index.ts) so type-checking, eslint
// and Jest read the sources; the tarball holds dist/ only, and a consumer whose tools set a `source` condition (a
// monorepo doing the same for its own packages, some bundlers) would resolve that missing file and fail. npm has no
// publishConfig override for `exports`, so prepack writes the manifest without it and without these scripts (which
// name a file of the repository; npm has read them already, so postpack still runs), after checking dist/ is built;
// postpack puts the repository's manifest back. A failed pack leaves the backup: the next prepack restores it first.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const MANIFEST = 'package.json';
const BACKUP = '.package.json.repo';
const step = process.argv[2];

if (step === 'prepack') {
  if (existsSync(BACKUP)) renameSync(BACKUP, MANIFEST);
  const text = readFileSync(MANIFEST, 'utf8');
  const manifest = JSON.parse(text);
  const entries = Object.values(manifest.exports ?? {});
  for (const conditions of entries) {
    for (const target of [conditions.types, conditions.default]) {
      if (target && !existsSync(target)) throw new Error(`${manifest.name}: ${target} is missing: run \`npm run build\` before packing`);
    }
  }
  writeFileSync(BACKUP, text);
  for (const conditions of entries) delete conditions.source;
  delete manifest.scripts;
  writeFileSync(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
} else if (step === 'postpack') {
  if (existsSync(BACKUP)) renameSync(BACKUP, MANIFEST);
} else {
  throw new Error(`usage: node scripts/pack-manifest.mjs prepack|postpack (got ${step})`);
}
