import {
  Global, Inject, Injectable, Module, type DynamicModule, type InjectionToken, type ModuleMetadata, type OnApplicationShutdown, type OptionalFactoryDependency,
  type Provider,
} from '@nestjs/common';
import { MeshClient, type MeshConnectOptions } from '../mesh-client.js';

/** The connect options MeshClientModule was given (provided for the client's factory). */
export const MESH_CLIENT_OPTIONS: InjectionToken = Symbol('MESH_CLIENT_OPTIONS');

/** `forRootAsync`: the options come from a factory (e.g. reading ConfigService), with its injections and imports. */
export interface MeshClientModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...deps: never[]) => MeshConnectOptions | Promise<MeshConnectOptions>;
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
}

/** Closes the client (drains its connection) when the application shuts down. */
@Injectable()
class MeshClientCloser implements OnApplicationShutdown {
  constructor(@Inject(MeshClient) private readonly client: MeshClient) {}

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }
}

/**
 * Provides one MeshClient, injectable by its class (`constructor(private readonly mesh: MeshClient)`), connected
 * while the application boots (a mesh that cannot be reached fails the boot with MeshConnectError) and closed on
 * shutdown (`app.close()`, or a signal with `enableShutdownHooks()`). Global: import it once, in the root module.
 */
@Global()
@Module({})
export class MeshClientModule {
  /** The client for these options. */
  static forRoot(options: MeshConnectOptions = {}): DynamicModule {
    return MeshClientModule.build([{ provide: MESH_CLIENT_OPTIONS, useValue: options }]);
  }

  /** The client for options a factory makes (its `inject`ed providers come from `imports`). */
  static forRootAsync(options: MeshClientModuleAsyncOptions): DynamicModule {
    return MeshClientModule.build(
      [{ provide: MESH_CLIENT_OPTIONS, useFactory: options.useFactory as (...deps: unknown[]) => MeshConnectOptions, inject: options.inject ?? [] }],
      options.imports ?? [],
    );
  }

  private static build(optionsProvider: Provider[], imports: ModuleMetadata['imports'] = []): DynamicModule {
    return {
      module: MeshClientModule,
      global: true,
      imports,
      providers: [
        ...optionsProvider,
        { provide: MeshClient, useFactory: (options: MeshConnectOptions) => MeshClient.connect(options), inject: [MESH_CLIENT_OPTIONS] },
        MeshClientCloser,
      ],
      exports: [MeshClient],
    };
  }
}
