import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import bcrypt from 'bcryptjs';
import { rolePermissions, ROLES } from '@taskmesh/protocol';
import { generateMeshAuth, writeMeshAuth } from './auth-files.js';

describe('taskmesh auth init files', () => {
  const auth = generateMeshAuth('mesh', { cost: 4 });
  const users = (JSON.parse(auth.config.slice('authorization '.length)) as { users: Array<{ user: string; password: string; permissions: unknown }> }).users;

  it('has one user per role, with a random password stored only as its bcrypt hash and the role\'s permissions', () => {
    expect(auth.credentials.map((c) => c.role)).toEqual([...ROLES]);
    expect(new Set(auth.credentials.map((c) => c.password)).size).toBe(ROLES.length);
    for (const c of auth.credentials) {
      expect(c.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
      const u = users.find((x) => x.user === c.user)!;
      expect(u.password).toMatch(/^\$2[aby]\$04\$/);
      expect(auth.config).not.toContain(c.password);
      expect(bcrypt.compareSync(c.password, u.password)).toBe(true);
      expect(u.permissions).toEqual(rolePermissions(c.role, 'mesh'));
    }
  });

  it('writes the include and one env file per role, readable by the owner only', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'taskmesh-auth-')), 'secrets');
    try {
      const files = writeMeshAuth(dir, auth);
      expect(readFileSync(files.configFile, 'utf8')).toContain(auth.config);
      for (const c of auth.credentials) {
        expect(readFileSync(files.envFiles[c.role], 'utf8')).toBe(`NATS_USER=${c.user}\nNATS_PASSWORD=${c.password}\n`);
        expect(statSync(files.envFiles[c.role]).mode & 0o777).toBe(0o600);
      }
      expect(statSync(files.configFile).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dirname(dir), { recursive: true, force: true });
    }
  });
});

