import type { Command } from 'commander';
import { ROLES } from '@taskmesh/protocol';
import { generateMeshAuth, writeMeshAuth } from '../auth-files.js';
import type { CliContext } from '../cli-context.js';

/** `taskmesh auth init`: the per-role NATS users of a mesh, written as a nats-server include and env files. */
export function registerAuth(program: Command, ctx: CliContext): void {
  const auth = program.command('auth').description('per-role NATS users for a mesh (least-privilege permissions)').addHelpText('after', `
Examples:
  $ taskmesh auth init --dir deploy/secrets`);
  auth
    .command('init')
    .description(`write a nats-server include with one user per role (${ROLES.join(', ')}; passwords bcrypt-hashed) and each role's NATS_USER/NATS_PASSWORD env file`)
    .requiredOption('--dir <dir>', 'where to write auth.conf and <role>.env (created, owner-only)')
    .addHelpText('after', `
Examples:
  $ taskmesh auth init --dir deploy/secrets
    then add  include "secrets/auth.conf"  to the nats-server config, give each app its <role>.env
    (compose: env_file), and callers the caller's:  export $(cat deploy/secrets/caller.env)`)
    .action((opts: { dir: string }, command: Command) => {
      const out = ctx.output(command);
      const files = writeMeshAuth(opts.dir, generateMeshAuth(ctx.globals(command).prefix));
      out.result(files, () => [`wrote ${files.configFile} (include it from the nats-server config)`, ...Object.entries(files.envFiles).map(([role, f]) => `wrote ${f} (${role})`)].join('\n'));
    });
}
