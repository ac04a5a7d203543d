// @taskmesh/cli: the `taskmesh` command (bin: bin/taskmesh.js, which runs dist/main.js). The program is exported for tests and embedding: build
// it around any `connect(options) => Promise<MeshClientApi>`.
export { runCli, createProgram } from './program.js';
export type { CliDeps, CliStream } from './cli-deps.js';
export {
  EXIT_OK,
  EXIT_ERROR,
  EXIT_USAGE,
  EXIT_UNAVAILABLE,
  EXIT_STILL_RUNNING,
  EXIT_NOPERM,
  EXIT_CONFIG,
  EXIT_INTERRUPTED,
  FAILURE_EXIT_CODES,
  exitCodeOf,
} from './exit-codes.js';
export { generateMeshAuth, writeMeshAuth, BCRYPT_COST, type MeshAuth, type MeshAuthFiles, type MeshCredential } from './auth-files.js';
