import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The source files `index.ts` reaches through relative imports. */
function reachable(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) visit(join(dirname(file), `${spec}.ts`));
  };
  visit(entry);
  return [...seen];
}

describe('@taskmesh/client package surface', () => {
  it('a plain Node program importing the main entry never loads @nestjs (an optional peer, for the /nest subpath only)', () => {
    const files = reachable(join(here, 'index.ts'));
    expect(files.map((f) => relative(here, f))).toEqual(expect.arrayContaining(['index.ts', 'mesh-client.ts']));
    const withNest = files.filter((f) => /from '@nestjs\//.test(readFileSync(f, 'utf8')));
    expect(withNest).toEqual([]);
    expect(files.some((f) => f.includes(`${join(here, 'nest')}/`))).toBe(false);
  });

  it('the Nest module lives under nest/', () => {
    expect(readdirSync(join(here, 'nest')).sort()).toEqual(['index.ts', 'mesh-client.module.ts']);
  });
});
