import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { TASK_METADATA, type TaskOptions } from './task.decorator.js';
import type { TaskHandler } from './task-context.js';
import { TaskRegistry } from './task-registry.js';

/** Finds every `@Task` method on the app's providers and registers it, bound to its instance, at module init. */
@Injectable()
export class TaskDiscovery implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly registry: TaskRegistry,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance: unknown = wrapper.instance;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const fn = (instance as Record<string, unknown>)[method];
        if (typeof fn !== 'function') continue;
        const options = this.reflector.get<TaskOptions | undefined>(TASK_METADATA, fn as TaskHandler);
        if (options) this.registry.add(options, (fn as TaskHandler).bind(instance));
      }
    }
  }
}
