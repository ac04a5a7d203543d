import { IsOptional, Matches } from 'class-validator';
import { SharedConfig } from '@taskmesh/runtime';

/** The router's environment (docs/PROTOCOL.md section 9). */
export class RouterConfig extends SharedConfig {
  /** Identity of this replica (reply subjects, logs); generated when unset. */
  @IsOptional() @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'must be 1-64 letters, digits, _ or -' })
  MESH_ROUTER_ID?: string;
}
