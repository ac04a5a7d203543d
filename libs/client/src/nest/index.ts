// @taskmesh/client/nest: MeshClientModule for Nest apps (@nestjs/common is an optional peer dependency of
// @taskmesh/client, loaded only through this subpath).

export { MeshClientModule, MESH_CLIENT_OPTIONS, type MeshClientModuleAsyncOptions } from './mesh-client.module.js';
export { MeshClient } from '../mesh-client.js';
