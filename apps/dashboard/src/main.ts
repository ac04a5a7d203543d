import { fileURLToPath } from 'node:url';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { MeshConnectError } from '@taskmesh/client';
import { runApp } from '@taskmesh/runtime';
import { DashboardConfig } from './dashboard.config.js';
import { DashboardModule } from './dashboard.module.js';

/** The bundled page (scripts/build.mjs puts it beside the compiled app: dist/apps/dashboard/public). */
const PUBLIC_DIR = fileURLToPath(new URL('../public', import.meta.url));

await runApp({
  name: 'dashboard',
  config: DashboardConfig,
  module: (config) => DashboardModule.forRoot(config),
  http: (config) => ({
    host: config.MESH_DASHBOARD_HOST,
    port: config.MESH_DASHBOARD_PORT,
    setup: (app) => (app as NestExpressApplication).useStaticAssets(PUBLIC_DIR, { index: 'index.html', maxAge: 0 }),
  }),
  isUnavailable: (err) => err instanceof MeshConnectError,
});
