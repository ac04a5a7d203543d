// The workspace packages (libs/*) declare the same third-party versions as the root package.json, which is what the
// lockfile and the apps use: an installed package must get what the tests ran against.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { TASKMESH_VERSION } from '@taskmesh/protocol';
import { repoRoot } from '@taskmesh/testing';

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  exports?: Record<string, Record<string, string>>;
}

const root = repoRoot();
const read = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
const rootManifest = read(root) as Manifest & { devDependencies: Record<string, string> };
const pinned = { ...rootManifest.devDependencies, ...rootManifest.dependencies };
const packages = readdirSync(join(root, 'libs'))
  .filter((lib) => existsSync(join(root, 'libs', lib, 'package.json')))
  .map((lib) => ({ lib, manifest: read(join(root, 'libs', lib)) }));

describe('workspace package manifests', () => {
  it('the release the apps announce (NATS micro discovery) is the packages\' version', () => {
    expect(TASKMESH_VERSION).toBe(rootManifest.version);
  });

  it('finds the packages', () => {
    expect(packages.map((p) => p.manifest.name)).toEqual(expect.arrayContaining(['@taskmesh/protocol', '@taskmesh/worker']));
  });

  it.each(packages.map((p) => [p.manifest.name, p] as const))('%s is versioned with the root and depends on pinned versions', (_name, { lib, manifest }) => {
    expect(manifest.name).toBe(`@taskmesh/${lib}`);
    expect(manifest.version).toBe(rootManifest.version);
    expect(manifest.engines).toEqual(rootManifest.engines);
    for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) {
      if (dep.startsWith('@taskmesh/')) expect([dep, range]).toEqual([dep, rootManifest.version]);
      else expect([dep, range]).toEqual([dep, pinned[dep]]);
    }
    for (const [dep, range] of Object.entries(manifest.peerDependencies ?? {})) expect([dep, range]).toEqual([dep, `^${pinned[dep]}`]);
    expect(manifest.exports?.['.']).toStrictEqual({ source: './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' });
    // Order matters: TypeScript takes the first condition that applies, so `source` (set only in this repository's
    // tsconfig.json) must come before `types`.
    expect(Object.keys(manifest.exports?.['.'] ?? {})).toEqual(['source', 'types', 'default']);
  });

  it('every published package is a dependency of the root, so the apps use it as a user would', () => {
    for (const { manifest } of packages) {
      if (manifest.private) continue;
      expect([manifest.name, pinned[manifest.name]]).toEqual([manifest.name, rootManifest.version]);
    }
  });

  it('the image installs every workspace: the Dockerfile copies each package manifest before npm ci', () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const beforeInstall = dockerfile.slice(0, dockerfile.indexOf('RUN npm ci'));
    for (const { lib } of packages) expect([lib, beforeInstall.includes(`COPY libs/${lib}/package.json libs/${lib}/`)]).toEqual([lib, true]);
  });
});
