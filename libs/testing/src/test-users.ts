import { randomBytes } from 'node:crypto';
import { ROLES, rolePermissions, type Role, type RolePermissions } from '@taskmesh/protocol';

/** A user/password login in nats.js's own option names: spread it into `connect({ servers, ...login })`. */
export interface NatsLogin {
  user: string;
  pass: string;
}

/** What a spawned app (or the CLI) reads to connect as one role (the apps' config, docs/PROTOCOL.md section 10). */
export interface NatsAppEnv {
  NATS_URL: string;
  NATS_USER: string;
  NATS_PASSWORD: string;
  /** Index signature so the env spreads into `spawnApp`'s `Record<string, string>`. */
  [name: string]: string;
}

/** The mesh prefix every app uses unless told otherwise (`MESH_PREFIX`). */
export const DEFAULT_TEST_PREFIX = 'mesh';

/**
 * One NATS user per role (router, orchestrator, scheduler, worker, caller, admin) with the permissions
 * `rolePermissions` in @taskmesh/protocol gives it, for a test server. Passwords are random and stored in plain
 * text in the server config (a test server lives in a temp dir for one suite; bcrypt would only slow each connect).
 * With several prefixes, a role may do on each what it may do on the mesh of that prefix.
 */
export class TestUsers {
  private constructor(
    readonly prefixes: readonly string[],
    private readonly passwords: ReadonlyMap<Role, string>,
  ) {}

  /** Fresh users for the meshes of `prefixes` (default `mesh` alone). */
  static generate(prefixes: readonly string[] = [DEFAULT_TEST_PREFIX]): TestUsers {
    if (prefixes.length === 0) throw new Error('TestUsers needs at least one mesh prefix');
    return new TestUsers([...new Set(prefixes)], new Map(ROLES.map((role) => [role, randomBytes(18).toString('base64url')])));
  }

  /** The nats-server `authorization` block (JSON, which the nats-server config format accepts). */
  get config(): string {
    const users = ROLES.map((role) => ({ user: role, password: this.password(role), permissions: this.permissions(role) }));
    return `authorization ${JSON.stringify({ users }, null, 2)}\n`;
  }

  /** `role`'s login for nats.js (`user`/`pass`). */
  login(role: Role): NatsLogin {
    return { user: role, pass: this.password(role) };
  }

  /** The env a process connecting as `role` to `url` needs. */
  appEnv(role: Role, url: string): NatsAppEnv {
    return { NATS_URL: url, NATS_USER: role, NATS_PASSWORD: this.password(role) };
  }

  private password(role: Role): string {
    const password = this.passwords.get(role);
    if (password === undefined) throw new Error(`no test user for role ${String(role)}`);
    return password;
  }

  /** The union of the role's permissions over every prefix. */
  private permissions(role: Role): RolePermissions {
    const each = this.prefixes.map((prefix) => rolePermissions(role, prefix));
    const union = (pick: (p: RolePermissions) => string[]): string[] => [...new Set(each.flatMap(pick))];
    const deny = union((p) => p.publish.deny ?? []);
    const merged: RolePermissions = {
      publish: { allow: union((p) => p.publish.allow), ...(deny.length > 0 ? { deny } : {}) },
      subscribe: { allow: union((p) => p.subscribe.allow) },
    };
    return merged;
  }
}
