import type { Delivery, TaskConcurrency, TaskOffer } from '@taskmesh/protocol';

/** What a task's offer declared (the tasks bucket, docs/ARCHITECTURE.md "JetStream topology"). */
export interface TaskTraits {
  concurrency?: TaskConcurrency;
  /** It may run again after its worker was lost mid-run (a direct call is then placed again). */
  idempotent: boolean;
  /** Its delivery when a call names none. */
  delivery?: Delivery;
}

/** The traits an offer declares. */
export function offerTraits(offer: TaskOffer): TaskTraits {
  return { concurrency: offer.concurrency, idempotent: offer.idempotent ?? false, delivery: offer.delivery };
}
